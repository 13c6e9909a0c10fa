/** Types shared by the servers module and its callers. */
import type { Enforcement, ServerLimits } from "../spawners/types.js";

/** What the servers module needs from the policy engine. */
export interface ServerPolicy {
  /** Decides whether `user` may create a named server called `serverName`, given the names they already have. */
  mayCreate(user: PolicyUser, serverName: string, existingNames: string[]): { allow: boolean; reasons: import("../errors.js").PolicyReason[] };
  /** The effective limits for `user`'s servers. */
  limitsFor(user: PolicyUser): EffectiveLimits;
}

export interface PolicyUser {
  name: string;
  groups: string[];
}

export interface EffectiveLimits extends ServerLimits {
  /** Idle time after which the culler stops the server; null for never. */
  idleTimeoutMs: number | null;
  namedServers: number;
}

export type ServerStatus = "stopped" | "pending" | "running" | "stopping";

/** A server as the API and the dashboard see it (JupyterHub's server model plus Ganymede's additions). */
export interface ServerView {
  name: string;
  status: ServerStatus;
  pending: "spawn" | "stop" | null;
  ready: boolean;
  stopped: boolean;
  url: string;
  progressUrl: string;
  started: Date | null;
  lastActivity: Date | null;
  userOptions: Record<string, unknown>;
  lastError: string | null;
  limits: EffectiveLimits;
  enforcement: Enforcement | null;
  /** Backend state (admins only). */
  state: Record<string, unknown> | null;
}
