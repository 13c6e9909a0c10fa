/**
 * JSON models of the REST API, shaped like JupyterHub 5's (`rest-api.yml`) so existing clients work, with
 * Ganymede's additions (status, limits, enforcement, last_error) as extra fields that those clients ignore.
 */
import { formatBytes, formatDuration } from "../lib/units.js";
import type { QuotaUse, ServerView } from "../servers/types.js";

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

export function serverModel(
  userName: string,
  view: ServerView,
  extra: { storageUsedBytes?: number; publicUrl?: string; stopWarningMs?: number } = {},
) {
  const full = (p: string) => (extra.publicUrl ? new URL(p, extra.publicUrl).toString() : null);
  const model: Record<string, unknown> = {
    name: view.name,
    full_name: `${userName}/${view.name}`,
    ready: view.ready,
    stopped: view.stopped,
    pending: view.pending,
    url: view.url,
    progress_url: view.progressUrl,
    full_url: full(view.url),
    full_progress_url: full(view.progressUrl),
    started: iso(view.started),
    last_activity: iso(view.lastActivity),
    user_options: view.userOptions,
    // Ganymede additions
    status: view.status,
    last_error: view.lastError,
    limits: {
      cpu: view.limits.cpu,
      memory_bytes: view.limits.memoryBytes,
      memory: formatBytes(view.limits.memoryBytes),
      storage_bytes: view.limits.storageBytes,
      storage: formatBytes(view.limits.storageBytes),
      idle_timeout_seconds: seconds(view.limits.idleTimeoutMs),
      idle_timeout: view.limits.idleTimeoutMs === null ? "never" : formatDuration(view.limits.idleTimeoutMs),
      max_lifetime_seconds: seconds(view.limits.maxLifetimeMs),
      max_lifetime: view.limits.maxLifetimeMs === null ? "never" : formatDuration(view.limits.maxLifetimeMs),
      lifetime_extension_seconds: view.limits.lifetimeExtensionMs / 1000,
      shares: view.limits.shares,
    },
    // When the hub stops this running server for its lifetime, and the latest its owner may move that to
    // (PUT …/deadline); null when its policy sets no maximum lifetime.
    deadline: iso(view.lifetime?.deadline),
    deadline_latest: iso(view.lifetime?.latest),
    // How long before an automatic stop (lifetime or idle) the dashboard warns.
    stop_warning_seconds: seconds(extra.stopWarningMs ?? null),
    stopped_at: iso(view.stoppedAt),
    stop_reason: view.stopReason,
    enforcement: view.enforcement,
    stop_queue_position: view.stopQueuePosition,
    storage_used_bytes: extra.storageUsedBytes ?? null,
  };
  if (view.state) model.state = view.state;
  return model;
}

export interface UserRecord {
  name: string;
  admin: boolean;
  createdAt: Date;
  lastActivity: Date | null;
  groups: string[];
  /** How many named servers the user's policy allows. */
  namedServerLimit: number;
  /** What their servers hold against their quotas across servers. */
  quotas: QuotaUse;
}

/** `servers`: the server models to include (JupyterHub includes active ones unless include_stopped_servers). */
export function userModel(user: UserRecord, servers: Record<string, unknown>[] | null, defaultServer?: Record<string, unknown>) {
  const model: Record<string, unknown> = {
    kind: "user",
    name: user.name,
    admin: user.admin,
    roles: user.admin ? ["admin", "user"] : ["user"],
    groups: user.groups,
    server: defaultServer && defaultServer.ready ? defaultServer.url : null,
    pending: defaultServer?.pending ?? null,
    created: iso(user.createdAt),
    last_activity: iso(user.lastActivity),
    // Ganymede addition (JupyterHub has one hub-wide named_server_limit_per_user; here the policy sets it per user).
    named_server_limit: user.namedServerLimit,
    // Ganymede addition: quotas across the user's servers (limit null: unlimited).
    quotas: {
      running_servers: user.quotas.runningServers,
      cpu: user.quotas.cpu,
      memory_bytes: user.quotas.memoryBytes,
      storage_bytes: user.quotas.storageBytes,
    },
  };
  if (servers) model.servers = Object.fromEntries(servers.map((s) => [s.name as string, s]));
  return model;
}

export function tokenModel(
  token: { id: number; note: string; scopes: string; createdAt: Date; expiresAt: Date | null; lastActivity: Date | null; prefix: string },
  owner: { name: string; admin: boolean },
) {
  let scopes: string[] = [];
  try {
    scopes = JSON.parse(token.scopes) as string[];
  } catch {
    scopes = [];
  }
  return {
    id: `a${token.id}`,
    kind: "api_token",
    user: owner.name,
    service: null,
    roles: [],
    scopes,
    note: token.note,
    prefix: token.prefix,
    created: iso(token.createdAt),
    expires_at: iso(token.expiresAt),
    last_activity: iso(token.lastActivity),
    session_id: null,
    oauth_client: "Ganymede",
  };
}
