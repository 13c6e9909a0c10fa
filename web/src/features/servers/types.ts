/** The hub's user and server models (server/openapi.yaml: `RequestIdentity`, `Server`, `Limits`, `ProgressEvent`). */

export interface Limits {
  cpu: number;
  memory_bytes: number;
  memory: string;
  storage_bytes: number;
  storage: string;
  idle_timeout_seconds: number | null;
  idle_timeout: string;
  max_lifetime_seconds: number | null;
  max_lifetime: string;
  lifetime_extension_seconds: number;
  /** Users and groups the server may be shared with; 0: sharing is off. */
  shares: number;
}

export interface QuotaAmount {
  used: number;
  limit: number | null;
}

export type ServerStatus = "stopped" | "pending" | "running" | "stopping";

export interface Server {
  name: string;
  full_name: string;
  ready: boolean;
  stopped: boolean;
  pending: "spawn" | "stop" | null;
  url: string;
  progress_url: string;
  started: string | null;
  last_activity: string | null;
  status: ServerStatus;
  last_error: string | null;
  /** While a stop waits for one of the hub's stop slots: its place in line (1 = next). */
  stop_queue_position?: number | null;
  limits: Limits;
  storage_used_bytes: number | null;
  /** When the hub stops this running server for its maximum lifetime; null without one. */
  deadline: string | null;
  /** The latest its owner may move `deadline` to (PUT …/deadline). */
  deadline_latest: string | null;
  /** How long before an automatic stop (lifetime or idle) to warn. */
  stop_warning_seconds: number | null;
  stopped_at: string | null;
  /** Why it last stopped ("stopped by alice", "idle for 2h…", "reached a maximum lifetime of 12h …"). */
  stop_reason: string | null;
  /** Includes `binder` ({ spec, repoUrl, commit, image }) for a server launched from a repository. */
  user_options: { binder?: { spec: string; repoUrl: string; commit: string; image: string } } & Record<string, unknown>;
}

export interface User {
  name: string;
  admin: boolean;
  groups: string[];
  /** Ganymede addition: how many named servers the user's policy allows. */
  named_server_limit: number;
  /** Ganymede addition: what the user's servers hold against their quotas across servers (limit null: unlimited). */
  quotas: Record<"running_servers" | "cpu" | "memory_bytes" | "storage_bytes", QuotaAmount>;
  servers: Record<string, Server>;
}

export interface ProgressEvent {
  progress: number;
  message: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}
