/** Everything a route needs, assembled once by hub/start.ts. */
import type { AuditTrail } from "../audit/trail.js";
import type { PasswordAuthenticator } from "../auth/authenticator.js";
import type { HubConfig } from "../config/schema.js";
import type { Identifier } from "../auth/identify.js";
import type { OidcClient } from "../auth/oidc.js";
import type { Logger } from "../lib/logger.js";
import type { SecretBox } from "../lib/secrets.js";
import type { HubMetrics } from "../metrics/metrics.js";
import type { PolicyEngine } from "../policy/index.js";
import type { BinderLauncher } from "../binder/launcher.js";
import type { Servers } from "../servers/service.js";
import type { Sharing } from "../sharing/service.js";
import type { Db } from "../store/database.js";
import type { Users } from "../users/service.js";

export interface HubContext {
  config: HubConfig;
  db: Db;
  logger: Logger;
  secrets: SecretBox;
  identifier: Identifier;
  /** Checks usernames and passwords at /hub/login (local accounts, or the organisation's directory). */
  authenticator: PasswordAuthenticator;
  /** The OpenID Connect providers offered on the sign-in page, by name (auth.oidc). */
  oidc: Map<string, OidcClient>;
  servers: Servers;
  /** Servers shared with other users and groups (sharing/). */
  sharing: Sharing;
  users: Users;
  policy: PolicyEngine;
  metrics: HubMetrics;
  /** The audit trail: who did what, refused or not (audit/). */
  audit: AuditTrail;
  /** Binder launches; undefined unless builder.enabled. */
  binder?: BinderLauncher;
  /** Origins this hub answers as (for Origin checks). */
  isAllowedOrigin(origin: string, req: import("node:http").IncomingMessage): boolean;
  startedAt: Date;
  /** This hub replica: its id, and whether it is shutting down (health answers 503 so load balancers move on). */
  cluster: { replica: string; draining: boolean };
}
