/** The policy models of the admin API (server/openapi.yaml: `PolicyExplanation`, `PolicyStatus`). */

export interface PolicySource {
  policy: string;
  file: string;
  priority: number | null;
}

export interface ExplainedLimit {
  limit:
    | "namedServers"
    | "serverNameMaxLength"
    | "idleTimeout"
    | "storage"
    | "cpu"
    | "memory"
    | "concurrentBuilds"
    | "buildTimeout"
    | "maxLifetime"
    | "lifetimeExtension";
  value: string;
  raw: number | null;
  source: PolicySource;
  outranked: (PolicySource & { value: string })[];
}

export interface PolicyExplanation {
  name: string;
  groups: string[];
  policies: { name: string; file: string; priority: number | null }[];
  limits: ExplainedLimit[];
}

export interface PolicyFileReport {
  file: string;
  name?: string;
  valid: boolean;
  problems: string[];
}

export interface PolicyStatus {
  dir: string;
  loadedAt: string | null;
  active: string[];
  checkedAt: string | null;
  files: PolicyFileReport[];
  lastError?: { at: string; message: string; problems: string[] };
}

/** `GET /hub/api/info` (server/openapi.yaml: `HubInfo`), the parts the admin page shows. */
export interface HubInfo {
  version: string;
  ganymede: string;
  spawner: {
    class: string;
    isolation: { separated: boolean; summary: string; warnings: string[] };
  };
}

/** One entry of the audit trail (GET /hub/api/audit). */
export interface AuditEvent {
  id: number;
  at: string;
  actor: string;
  actorKind: "user" | "admin" | "anonymous" | "hub" | "operator";
  action: string;
  user: string | null;
  server: string | null;
  outcome: "ok" | "refused" | "failed";
  status: number | null;
  detail: Record<string, unknown> | null;
  address: string | null;
}

export interface AuditPage {
  events: AuditEvent[];
  next?: number;
}

/** What the audit section filters on (empty: any). */
export interface AuditFilters {
  user: string;
  action: string;
  outcome: "" | AuditEvent["outcome"];
}
