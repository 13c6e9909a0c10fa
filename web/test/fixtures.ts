import type { Server, User } from "../src/features/servers";

export function server(overrides: Partial<Server> = {}): Server {
  const name = overrides.name ?? "work";
  const path = name ? `/hub/api/users/alice/servers/${name}` : "/hub/api/users/alice/server";
  return {
    name,
    full_name: `alice/${name}`,
    ready: false,
    stopped: true,
    pending: null,
    url: `/user/alice/${name ? `${name}/` : ""}`,
    progress_url: `${path}/progress`,
    started: null,
    last_activity: null,
    status: "stopped",
    last_error: null,
    limits: {
      cpu: 1,
      memory_bytes: 2e9,
      memory: "1.9 GiB",
      storage_bytes: 2 * 1024 ** 3,
      storage: "2 GiB",
      idle_timeout_seconds: 7200,
      idle_timeout: "2h",
      max_lifetime_seconds: null,
      max_lifetime: "never",
      lifetime_extension_seconds: 0,
      shares: 0,
    },
    storage_used_bytes: 512 * 1024 ** 2,
    deadline: null,
    deadline_latest: null,
    stop_warning_seconds: 600,
    stopped_at: null,
    stop_reason: null,
    user_options: {},
    ...overrides,
  };
}

export function user(servers: Server[], overrides: Partial<User> = {}): User {
  return {
    name: "alice",
    admin: false,
    groups: [],
    named_server_limit: 5,
    quotas: {
      running_servers: { used: 0, limit: null },
      cpu: { used: 0, limit: null },
      memory_bytes: { used: 0, limit: null },
      storage_bytes: { used: 0, limit: null },
    },
    servers: Object.fromEntries(servers.map((s) => [s.name, s])),
    ...overrides,
  };
}
