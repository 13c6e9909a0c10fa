/**
 * Starts a real hub for tests: in-process (fast, inspectable) or as a child process (for kill -9). Each hub gets its
 * own data directory, database, policies directory and port; Jupyter comes from the project's .venv.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import YAML from "yaml";
import { configSchema, type HubConfig, type HubConfigInput } from "../../src/config/schema.js";
import { startHub, type RunningHub } from "../../src/hub/start.js";
import { defaultRunRoot } from "../../src/spawners/local/index.js";
import { createLogger } from "../../src/lib/logger.js";
import { issueToken } from "../../src/auth/tokens.js";
import { openDatabase } from "../../src/store/database.js";
import type { SpawnerFactory } from "../../src/spawners/types.js";
import { jupyterCommand, repoRoot } from "./paths.js";

export interface TestHubOptions {
  /** Extra config merged over the test defaults. */
  config?: HubConfigInput;
  /** Policy files to write instead of the shipped policies/ (file name → YAML text). */
  policies?: Record<string, string>;
  /** Reuse a data directory (restart scenarios). */
  dataDir?: string;
  /** Collects the hub's log lines here (at the configured level) instead of printing them. */
  logLines?: string[];
  /** A spawner backend made by the test (support/fake-spawner.ts) instead of the configured one. */
  spawners?: SpawnerFactory;
}

export function makeDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), "ganymede-test-"));
}

/** The test defaults: random port, the real Jupyter server, storage as plain directories unless asked. */
export function testConfig(dataDir: string, options: TestHubOptions = {}): HubConfig {
  const policiesDir = path.join(dataDir, "policies");
  if (options.policies) {
    rmSync(policiesDir, { recursive: true, force: true });
    cpSync(path.join(repoRoot, "policies"), policiesDir, { recursive: true, filter: (src) => !src.includes("examples") });
    for (const [name, text] of Object.entries(options.policies)) writeFileSync(path.join(policiesDir, name), text);
  }
  const input: HubConfigInput = {
    ...options.config,
    hub: { bind: "http://127.0.0.1:0", dataDir, ...options.config?.hub },
    policies: { dir: options.policies ? policiesDir : path.join(repoRoot, "policies"), ...options.config?.policies },
    logging: { level: (process.env.GANYMEDE_TEST_LOG ?? "silent") as "silent", ...options.config?.logging },
    spawner: {
      startTimeout: "30s",
      ...options.config?.spawner,
      local: {
        command: jupyterCommand,
        storage: "directory",
        // Each test hub gets its own cgroup parent so no two hubs ever manage each other's servers.
        cgroupParent: path.basename(dataDir),
        ...options.config?.spawner?.local,
      },
    },
    culler: { enabled: false, ...options.config?.culler },
  };
  const config = configSchema.parse(input);
  return { ...config, database: { url: config.database.url ?? `file:${path.join(dataDir, "ganymede.sqlite")}` } };
}

export interface TestHub {
  hub: RunningHub;
  url: string;
  dataDir: string;
  /** An API token of the bootstrap administrator. */
  adminToken: string;
  /** Creates a local user (with password "password-<name>") and returns an API token for them. */
  addUser(name: string, options?: { admin?: boolean; groups?: string[] }): Promise<string>;
  api(method: string, apiPath: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = options.dataDir ?? makeDataDir();
  const config = testConfig(dataDir, options);
  const lines = options.logLines;
  const destination = lines ? { write: (line: string) => void lines.push(line) } : undefined;
  const hub = await startHub(config, { logger: createLogger(config.logging.level, destination), spawners: options.spawners });
  const db = hub.ctx.db;
  const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
  const adminToken = (await issueToken(db, admin.id, { note: "test" })).token;
  const api = (method: string, apiPath: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    request(hub.url, method, apiPath, { token: opts.token ?? adminToken, body: opts.body, headers: opts.headers });
  return {
    hub,
    url: hub.url,
    dataDir,
    adminToken,
    api,
    async addUser(name, o = {}) {
      await hub.ctx.users.create(name, { admin: o.admin, groups: o.groups, password: `password-${name}` });
      const user = await db.user.findUniqueOrThrow({ where: { name } });
      return (await issueToken(db, user.id, { note: "test" })).token;
    },
    async close() {
      await stopAllServers(hub);
      await hub.close();
      removeCgroupParents(config.spawner.local.cgroupParent);
      rmSync(defaultRunRoot(path.join(dataDir, "servers")), { recursive: true, force: true });
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes a test hub's (by then empty) cgroup parents from every hierarchy, so test runs leave none behind. */
function removeCgroupParents(parent: string): void {
  for (const root of ["/sys/fs/cgroup", ...safeList("/sys/fs/cgroup").map((d) => path.join("/sys/fs/cgroup", d))]) {
    try {
      rmdirSync(path.join(root, parent));
    } catch {
      /* not there, or not a cgroup hierarchy */
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Stops every server so no Jupyter process outlives a test file. */
export async function stopAllServers(hub: RunningHub): Promise<void> {
  const rows = await hub.ctx.db.server.findMany({ where: { NOT: { status: "stopped" } }, include: { user: true } });
  for (const row of rows) {
    const stopped = await hub.ctx.servers.stop(row.user, row.name).catch(() => "failed");
    if (stopped === "pending") await waitFor(async () => (await hub.ctx.db.server.findUnique({ where: { id: row.id } }))?.status === "stopped", 20_000);
  }
}

export async function request(
  base: string,
  method: string,
  apiPath: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token && !headers.authorization) headers.authorization = `token ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(apiPath.startsWith("/") ? apiPath : `/hub/api/${apiPath}`, base), {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    redirect: "manual",
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body };
}

/** Posts the hub's real sign-in form (XSRF cookie and field, same origin), as a browser would. */
export async function signInThroughForm(
  baseUrl: string,
  username: string,
  password: string,
  options: { next?: string; origin?: string } = {},
): Promise<Response> {
  const form = await fetch(`${baseUrl}/hub/login`);
  await form.arrayBuffer();
  // The sign-in page's double-submit token: the cookie's value goes back as the form's `_xsrf` field.
  const cookie = form.headers.getSetCookie().find((c) => c.startsWith("ganymede-login-xsrf="))!.split(";")[0]!;
  const xsrf = cookie.slice(cookie.indexOf("=") + 1);
  const fields: Record<string, string> = { username, password, _xsrf: xsrf };
  if (options.next) fields.next = options.next;
  return fetch(`${baseUrl}/hub/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie, origin: options.origin ?? baseUrl },
    body: new URLSearchParams(fields),
  });
}

/** The hub's sentence for a refused form sign-in (the sign-in page shows it from this cookie), or undefined. */
export function loginError(res: Response): string | undefined {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("ganymede-login-error="));
  return cookie ? decodeURIComponent(cookie.split(";")[0]!.slice("ganymede-login-error=".length)) : undefined;
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Reads a server-sent event stream to its end and returns the parsed events. */
export async function readEvents(base: string, apiPath: string, token: string, timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
  const res = await fetch(new URL(apiPath, base), { headers: { authorization: `token ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`progress stream answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return text
    .split("\n\n")
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.startsWith("data: "))
    .map((chunk) => JSON.parse(chunk.slice(6)) as Record<string, unknown>);
}

/**
 * Writes `<dataDir>/ganymede.yaml` for a hub run as a child process: the test defaults (the real Jupyter server,
 * plain directories, no culler) on `baseUrl`, plus `local` under spawner.local. Returns the file's path.
 */
export function writeHubConfigFile(dataDir: string, baseUrl: string, local: Record<string, unknown> = {}): string {
  const file = path.join(dataDir, "ganymede.yaml");
  writeFileSync(
    file,
    YAML.stringify({
      hub: { bind: baseUrl, dataDir },
      policies: { dir: path.join(repoRoot, "policies") },
      spawner: { local: { command: jupyterCommand, storage: "directory", ...local } },
      culler: { enabled: false },
    }),
  );
  return file;
}

/** An API token of the bootstrap administrator of a hub process running on `dataDir` (its SQLite database). */
export async function adminTokenOf(dataDir: string): Promise<string> {
  const db = await openDatabase(`file:${path.join(dataDir, "ganymede.sqlite")}`);
  try {
    const admin = await db.prisma.user.findUniqueOrThrow({ where: { name: "admin" } });
    return (await issueToken(db.prisma, admin.id)).token;
  } finally {
    await db.close();
  }
}

/** Waits until the hub at `baseUrl` answers /hub/health. */
export async function waitForHealth(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => {
    try {
      return (await fetch(`${baseUrl}/hub/health`, { signal: AbortSignal.timeout(1000) })).status === 200;
    } catch {
      return false;
    }
  }, timeoutMs, 200);
}

/**
 * Runs the hub CLI as a child process (for crash/restart scenarios), as root or as `runAs` (a hub that is not root),
 * with `env` added to its environment; its stderr (the start banner and warnings) is collected in `stderr` when given.
 */
export function spawnHubProcess(
  configFile: string,
  options: { runAs?: { uid: number; gid: number }; stderr?: string[]; env?: Record<string, string> } = {},
): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "server/src/cli.ts"), "--config", configFile, "start"], {
    cwd: path.join(repoRoot, "server"),
    env: {
      ...process.env,
      GANYMEDE_LOGGING__LEVEL: process.env.GANYMEDE_TEST_LOG ?? "warn",
      ...(options.runAs ? { HOME: path.dirname(configFile) } : {}),
      ...options.env,
    },
    stdio: ["ignore", "inherit", options.stderr ? "pipe" : "inherit"],
    ...options.runAs,
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    options.stderr?.push(chunk.toString());
    process.stderr.write(chunk);
  });
  return child;
}
