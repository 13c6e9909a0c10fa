/**
 * The servers module: owner of every server's lifecycle. It decides nothing about policy (it asks), knows nothing
 * about processes (the spawner backend does that) and never exposes HTTP; it keeps the database rows, the pending
 * state, the start timeout, cleanup on failure, progress events, routes and activity consistent.
 *
 * States (Server.status): stopped → pending → running → stopping → stopped. A spawn that fails rolls back to
 * stopped — and a named server created by that very request is removed again, storage included — so a failure
 * leaves no half-created row, directory, process or route.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../lib/logger.js";
import type { SecretBox } from "../lib/secrets.js";
import { ConflictError, InputError, NotFoundError, PolicyDenied, SpawnError } from "../errors.js";
import type { Db } from "../store/database.js";
import { isUniqueViolation } from "../store/database.js";
import type { Endpoint, Spawner, SpawnerFactory } from "../spawners/types.js";
import { ProgressLog, type ProgressEvent } from "./progress.js";
import { fetchStatus, sleep } from "./readiness.js";
import type { EffectiveLimits, PolicyUser, ServerPolicy, ServerStatus, ServerView } from "./types.js";

export interface RouteSink {
  add(route: { user: string; serverName: string; target: string; token: string }): void;
  remove(user: string, serverName: string): void;
}

export interface ServerMetrics {
  spawnDuration: { observe(seconds: number): void };
  spawnFailures: { inc(labels: { reason: string }): void };
}

export interface ServersOptions {
  db: Db;
  spawners: SpawnerFactory;
  policy: ServerPolicy;
  routes: RouteSink;
  secrets: SecretBox;
  logger: Logger;
  metrics: ServerMetrics;
  startTimeoutMs: number;
  /** How long start()/stop() wait before answering "pending" (JupyterHub's slow_spawn_timeout). */
  slowSpawnTimeoutMs: number;
}

/** What is persisted in Server.backendState: the backend's own state plus the sealed server token. */
interface PersistedState {
  backend: Record<string, unknown>;
  token: string;
}

interface Runtime {
  spawner: Spawner;
  pending: "spawn" | "stop" | null;
  progress: ProgressLog;
  abort?: AbortController;
  task?: Promise<void>;
  limits?: EffectiveLimits;
}

type UserRow = { id: number; name: string; groups?: { group: { name: string } }[] };

export const serverKey = (user: string, serverName: string) => `${user}/${serverName}`;

export function serverBaseUrl(user: string, serverName: string): string {
  return `/user/${encodeURIComponent(user)}/${serverName ? `${encodeURIComponent(serverName)}/` : ""}`;
}

export function progressUrl(user: string, serverName: string): string {
  const u = encodeURIComponent(user);
  return serverName
    ? `/hub/api/users/${u}/servers/${encodeURIComponent(serverName)}/progress`
    : `/hub/api/users/${u}/server/progress`;
}

export class Servers {
  private readonly runtimes = new Map<string, Runtime>();
  /** Proxy traffic timestamps not yet written to the database (flushed periodically). */
  private readonly activity = new Map<string, number>();
  private flushTimer?: NodeJS.Timeout;

  constructor(private readonly o: ServersOptions) {}

  // ---------------------------------------------------------------- start

  /**
   * Starts (creating if needed) `serverName` for `user`. Resolves "started" when the server became ready within the
   * slow-spawn window, "pending" when it is still starting (follow the progress stream).
   */
  async start(user: UserRow, serverName: string, userOptions: Record<string, unknown> = {}): Promise<"started" | "pending"> {
    const key = serverKey(user.name, serverName);
    const existing = this.runtimes.get(key);
    if (existing?.pending === "spawn") return "pending";
    if (existing?.pending === "stop") {
      throw new ConflictError(`${describe(user.name, serverName)} is stopping; try again when it has stopped`);
    }
    const policyUser = await this.policyUser(user);
    let row = await this.o.db.server.findUnique({ where: { userId_name: { userId: user.id, name: serverName } } });
    if (row?.status === "running") {
      if (await this.isAlive(key)) throw new ConflictError(`${describe(user.name, serverName)} is already running`);
      await this.markStopped(row.id, "the server had exited");
      row = { ...row, status: "stopped" };
    }
    let created = false;
    if (!row) {
      if (serverName) {
        const names = (
          await this.o.db.server.findMany({ where: { userId: user.id, NOT: { name: "" } }, select: { name: true } })
        ).map((s) => s.name);
        const decision = this.o.policy.mayCreate(policyUser, serverName, names);
        if (!decision.allow) throw new PolicyDenied(decision.reasons);
      }
      try {
        row = await this.o.db.server.create({
          data: { userId: user.id, name: serverName, status: "pending", userOptions: JSON.stringify(userOptions) },
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`${describe(user.name, serverName)} is being created by another request`);
        throw err;
      }
      created = true;
    } else {
      // Claim the row atomically: only one request may move it from stopped to pending.
      const claimed = await this.o.db.server.updateMany({
        where: { id: row.id, status: "stopped" },
        data: { status: "pending", lastError: null, userOptions: JSON.stringify(userOptions) },
      });
      if (claimed.count === 0) throw new ConflictError(`${describe(user.name, serverName)} is busy (${row.status})`);
    }

    const limits = this.o.policy.limitsFor(policyUser);
    const runtime: Runtime = {
      spawner: this.o.spawners.create({ user: user.name, serverName }),
      pending: "spawn",
      progress: new ProgressLog(),
      abort: new AbortController(),
      limits,
    };
    if (row.backendState) this.restoreInto(runtime.spawner, row.backendState);
    this.runtimes.set(key, runtime);
    runtime.task = this.spawn(user.name, serverName, row.id, created, runtime, limits);

    const outcome = await Promise.race([
      runtime.task.then(() => "started" as const),
      sleep(this.o.slowSpawnTimeoutMs).then(() => "pending" as const),
    ]);
    return outcome;
  }

  private async spawn(
    userName: string,
    serverName: string,
    rowId: number,
    created: boolean,
    runtime: Runtime,
    limits: EffectiveLimits,
  ): Promise<void> {
    const started = performance.now();
    const { progress, spawner } = runtime;
    const signal = runtime.abort!.signal;
    const baseUrl = serverBaseUrl(userName, serverName);
    const token = randomBytes(32).toString("base64url");
    const timeout = AbortSignal.timeout(this.o.startTimeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    const abortError = () =>
      timeout.aborted
        ? new SpawnError("timeout", `${describe(userName, serverName)} did not become ready within ${Math.round(this.o.startTimeoutMs / 1000)} s`)
        : new SpawnError("unexpected", "the start was cancelled");
    progress.push({ progress: 0, message: `Server requested for ${describe(userName, serverName)}` });
    try {
      const endpoint: Endpoint = await spawner.start(
        { user: userName, serverName, baseUrl, token, limits, env: {} },
        both,
        (p) => progress.push({ progress: 10 + p.progress * 0.5, message: p.message }),
      );
      // Persist at once so a hub that dies mid-spawn can still find (and clean up) the process.
      await this.o.db.server.update({
        where: { id: rowId },
        data: { backendState: this.persist(spawner, token), endpoint: endpoint.url },
      });
      progress.push({ progress: 60, message: "Waiting for the Jupyter server to answer" });
      await this.waitReady(spawner, endpoint, baseUrl, token, both, () => abortError());
      const now = new Date();
      await this.o.db.server.update({
        where: { id: rowId },
        data: { status: "running", startedAt: now, lastActivity: now, lastError: null },
      });
      this.o.routes.add({ user: userName, serverName, target: endpoint.url, token });
      runtime.pending = null;
      this.o.metrics.spawnDuration.observe((performance.now() - started) / 1000);
      progress.push({
        progress: 100,
        ready: true,
        message: `Server ready at ${baseUrl}`,
        html_message: `Server ready at <a href="${baseUrl}">${baseUrl}</a>`,
        url: baseUrl,
      });
      this.o.logger.info({ user: userName, server: serverName, ms: Math.round(performance.now() - started) }, "server ready");
    } catch (err) {
      const failure =
        both.aborted
          ? abortError()
          : err instanceof SpawnError
            ? err
          : new SpawnError("backend", `the server could not be started: ${(err as Error).message}`, String((err as Error).stack));
      this.o.metrics.spawnFailures.inc({ reason: failure.reason });
      this.o.logger.warn({ user: userName, server: serverName, reason: failure.reason, err: failure.logMessage }, "spawn failed");
      await spawner.stop({ now: true }).catch((e: unknown) => this.o.logger.error({ err: e }, "cleanup after failed spawn"));
      if (created) {
        // A server created by this very request did not come to life: undo the creation completely.
        await spawner.removeStorage().catch((e: unknown) => this.o.logger.error({ err: e }, "removing storage after failed spawn"));
        await this.o.db.server.delete({ where: { id: rowId } }).catch(() => undefined);
      } else {
        await this.o.db.server.update({
          where: { id: rowId },
          data: { status: "stopped", endpoint: null, lastError: failure.userMessage, backendState: this.persist(spawner) },
        });
      }
      runtime.pending = null;
      progress.push({ progress: 100, failed: true, message: `Spawn failed: ${failure.userMessage}` });
      throw failure;
    }
  }

  private async waitReady(
    spawner: Spawner,
    endpoint: Endpoint,
    baseUrl: string,
    token: string,
    signal: AbortSignal,
    abortError: () => SpawnError,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw abortError();
      if (await fetchStatus(endpoint.url, baseUrl, token, 1000)) return;
      const poll = await spawner.poll();
      if (!poll.running) {
        throw new SpawnError("exited", `the Jupyter server exited during start (exit code ${poll.exitCode ?? "unknown"}); see the server log`);
      }
      await sleep(Math.min(50 * 2 ** attempt, 500), signal);
    }
  }

  // ---------------------------------------------------------------- stop and delete

  /**
   * Stops a server (storage kept); with `remove`, deletes a named server and its storage. Resolves "stopped" or
   * "pending" (stopping continues in the background) after the slow-spawn window.
   */
  async stop(user: UserRow, serverName: string, options: { remove?: boolean; reason?: string } = {}): Promise<"stopped" | "pending"> {
    const key = serverKey(user.name, serverName);
    if (options.remove && !serverName) throw new InputError("the default server cannot be deleted, only stopped");
    const row = await this.o.db.server.findUnique({ where: { userId_name: { userId: user.id, name: serverName } } });
    // Stopping a default server that was never started is a no-op, as in JupyterHub.
    if (!row && !serverName) return "stopped";
    if (!row) throw new NotFoundError(`${user.name} has no server named '${serverName}'`);
    const runtime = this.runtimes.get(key);
    if (runtime?.pending === "spawn") {
      if (options.remove) {
        throw new ConflictError(`${describe(user.name, serverName)} is starting; stop it (or wait) before deleting it`);
      }
      runtime.abort?.abort();
      await runtime.task?.catch(() => undefined);
      return "stopped";
    }
    if (runtime?.pending === "stop") {
      await runtime.task?.catch(() => undefined);
    } else if (row.status === "running" || row.status === "pending" || row.status === "stopping") {
      const spawner = runtime?.spawner ?? this.spawnerFor(user.name, serverName, row.backendState);
      const stopping: Runtime = { spawner, pending: "stop", progress: runtime?.progress ?? new ProgressLog() };
      this.runtimes.set(key, stopping);
      this.o.routes.remove(user.name, serverName);
      await this.o.db.server.update({ where: { id: row.id }, data: { status: "stopping" } });
      this.o.logger.info({ user: user.name, server: serverName, reason: options.reason ?? "requested" }, "stopping server");
      stopping.task = this.finishStop(key, row.id, stopping, options.remove === true);
      const outcome = await Promise.race([
        stopping.task.then(() => "stopped" as const),
        sleep(this.o.slowSpawnTimeoutMs).then(() => "pending" as const),
      ]);
      return outcome;
    }
    if (options.remove) await this.remove(user.name, serverName, row.id, row.backendState);
    return "stopped";
  }

  /** Stops and deletes every server of `user`, default included, waiting for each to finish (user deletion). */
  async destroyAll(user: UserRow): Promise<void> {
    const rows = await this.o.db.server.findMany({ where: { userId: user.id } });
    for (const row of rows) {
      const key = serverKey(user.name, row.name);
      const runtime = this.runtimes.get(key);
      if (runtime?.pending === "spawn") runtime.abort?.abort();
      await runtime?.task?.catch(() => undefined);
      const fresh = await this.o.db.server.findUnique({ where: { id: row.id } });
      if (!fresh) continue;
      const spawner = this.runtimes.get(key)?.spawner ?? this.spawnerFor(user.name, row.name, fresh.backendState);
      this.o.routes.remove(user.name, row.name);
      await spawner.stop();
      await this.remove(user.name, row.name, row.id, fresh.backendState, spawner);
    }
  }

  private async finishStop(key: string, rowId: number, runtime: Runtime, remove: boolean): Promise<void> {
    try {
      await runtime.spawner.stop();
      this.activity.delete(key);
      await this.o.db.server.update({
        where: { id: rowId },
        data: { status: "stopped", endpoint: null, backendState: this.persist(runtime.spawner) },
      });
      if (remove) {
        const [user, serverName] = splitKey(key);
        await this.remove(user, serverName, rowId, null, runtime.spawner);
      }
    } finally {
      if (this.runtimes.get(key) === runtime) this.runtimes.delete(key);
    }
  }

  private async remove(user: string, serverName: string, rowId: number, state: string | null, spawner?: Spawner): Promise<void> {
    const s = spawner ?? this.spawnerFor(user, serverName, state);
    await s.removeStorage();
    await this.o.db.server.delete({ where: { id: rowId } });
    this.runtimes.delete(serverKey(user, serverName));
    this.o.logger.info({ user, server: serverName }, "server deleted with its storage");
  }

  private async markStopped(rowId: number, why: string): Promise<void> {
    this.o.logger.info({ rowId, why }, "marking server stopped");
    await this.o.db.server.update({ where: { id: rowId }, data: { status: "stopped", endpoint: null } });
  }

  // ---------------------------------------------------------------- progress, activity, views

  /** The progress log of the server's current (or last) spawn, or a one-event log for a running server. */
  async progress(user: UserRow, serverName: string): Promise<ProgressLog> {
    const key = serverKey(user.name, serverName);
    const runtime = this.runtimes.get(key);
    const row = await this.o.db.server.findUnique({ where: { userId_name: { userId: user.id, name: serverName } } });
    if (row?.status === "running" && runtime?.pending !== "stop") {
      const log = new ProgressLog();
      const url = serverBaseUrl(user.name, serverName);
      log.push({ progress: 100, ready: true, message: `Server ready at ${url}`, html_message: `Server ready at <a href="${url}">${url}</a>`, url });
      return log;
    }
    if (runtime && (runtime.pending === "spawn" || runtime.progress.last?.failed)) return runtime.progress;
    if (!row) throw new NotFoundError(`${user.name} has no server named '${serverName}'`);
    throw new InputError(`${describe(user.name, serverName)} is not starting`);
  }

  /** Records proxied traffic; cheap, called for every request and WebSocket message. */
  touch(user: string, serverName: string): void {
    this.activity.set(serverKey(user, serverName), Date.now());
  }

  /** Last known activity (proxy traffic not yet flushed included), epoch ms. */
  lastActivity(user: string, serverName: string, stored: Date | null): number | undefined {
    const fresh = this.activity.get(serverKey(user, serverName));
    const db = stored?.getTime();
    return fresh === undefined ? db : db === undefined ? fresh : Math.max(fresh, db);
  }

  /** Writes buffered activity to the database (servers and their users). */
  async flushActivity(): Promise<void> {
    const entries = [...this.activity.entries()];
    for (const [key, at] of entries) {
      const [user, serverName] = splitKey(key);
      const when = new Date(at);
      await this.recordActivity(user, serverName, when).catch(() => undefined);
      if (this.activity.get(key) === at) this.activity.delete(key);
    }
  }

  /** Moves a server's (and its user's) last activity forward, never back. */
  async recordActivity(userName: string, serverName: string | null, when: Date): Promise<void> {
    const user = await this.o.db.user.findUnique({ where: { name: userName }, select: { id: true } });
    if (!user) return;
    if (serverName !== null) {
      await this.o.db.server.updateMany({
        where: { userId: user.id, name: serverName, OR: [{ lastActivity: null }, { lastActivity: { lt: when } }] },
        data: { lastActivity: when },
      });
    }
    await this.o.db.user.updateMany({
      where: { id: user.id, OR: [{ lastActivity: null }, { lastActivity: { lt: when } }] },
      data: { lastActivity: when },
    });
  }

  startActivityFlush(intervalMs = 10_000): void {
    this.flushTimer = setInterval(() => void this.flushActivity(), intervalMs);
    this.flushTimer.unref();
  }

  pendingOf(user: string, serverName: string): "spawn" | "stop" | null {
    return this.runtimes.get(serverKey(user, serverName))?.pending ?? null;
  }

  /** The API/dashboard view of a server row. */
  view(
    user: PolicyUser,
    row: { name: string; status: string; startedAt: Date | null; lastActivity: Date | null; userOptions: string; lastError: string | null; backendState: string | null },
    options: { includeState?: boolean } = {},
  ): ServerView {
    const pending = this.pendingOf(user.name, row.name);
    const status = row.status as ServerStatus;
    const last = this.lastActivity(user.name, row.name, row.lastActivity);
    const runtime = this.runtimes.get(serverKey(user.name, row.name));
    return {
      name: row.name,
      status,
      pending: pending ?? (status === "pending" ? "spawn" : status === "stopping" ? "stop" : null),
      ready: status === "running" && pending === null,
      stopped: status === "stopped",
      url: serverBaseUrl(user.name, row.name),
      progressUrl: progressUrl(user.name, row.name),
      started: row.startedAt,
      lastActivity: last === undefined ? null : new Date(last),
      userOptions: safeJson(row.userOptions),
      lastError: row.lastError,
      limits: runtime?.limits ?? this.o.policy.limitsFor(user),
      enforcement: runtime?.spawner.enforcement() ?? null,
      state: options.includeState && row.backendState ? (safeJson(row.backendState).backend as Record<string, unknown>) ?? null : null,
    };
  }

  /**
   * The activity the Jupyter server itself reports (kernels executing, API use), epoch ms; undefined when it does
   * not answer. The culler combines it with proxy traffic.
   */
  async reportedActivity(user: string, serverName: string, endpoint: string | null, backendState: string | null): Promise<number | undefined> {
    if (!endpoint || !backendState) return undefined;
    const persisted = safeJson(backendState) as Partial<PersistedState>;
    if (!persisted.token) return undefined;
    const status = await fetchStatus(endpoint, serverBaseUrl(user, serverName), this.o.secrets.unseal(persisted.token));
    const at = status?.last_activity ? Date.parse(status.last_activity) : NaN;
    return Number.isFinite(at) ? at : undefined;
  }

  /** Bytes used by a server's storage, when the backend can tell. */
  async storageUsed(user: string, serverName: string, backendState: string | null): Promise<number | undefined> {
    const runtime = this.runtimes.get(serverKey(user, serverName));
    const spawner = runtime?.spawner ?? this.spawnerFor(user, serverName, backendState);
    return spawner.storageUsed().catch(() => undefined);
  }

  // ---------------------------------------------------------------- restore and shutdown

  /**
   * After a hub (re)start: reattach to every server the database believes is live. Those still answering keep their
   * routes; the others are cleaned up and marked stopped. No running server is lost to a hub restart.
   */
  async restoreAll(): Promise<{ restored: number; stopped: number }> {
    const rows = await this.o.db.server.findMany({
      where: { status: { in: ["running", "pending", "stopping"] } },
      include: { user: true },
    });
    let restored = 0;
    let stopped = 0;
    for (const row of rows) {
      const key = serverKey(row.user.name, row.name);
      const spawner = this.spawnerFor(row.user.name, row.name, row.backendState);
      const persisted = row.backendState ? (safeJson(row.backendState) as Partial<PersistedState>) : {};
      const token = persisted.token ? this.o.secrets.unseal(persisted.token) : undefined;
      const alive = row.endpoint && token && (await spawner.poll()).running
        ? await fetchStatus(row.endpoint, serverBaseUrl(row.user.name, row.name), token, 3000)
        : undefined;
      if (alive && row.endpoint && token && row.status !== "stopping") {
        await this.o.db.server.update({ where: { id: row.id }, data: { status: "running" } });
        this.o.routes.add({ user: row.user.name, serverName: row.name, target: row.endpoint, token });
        this.runtimes.set(key, {
          spawner,
          pending: null,
          progress: new ProgressLog(),
          limits: this.o.policy.limitsFor(await this.policyUser(row.user)),
        });
        restored++;
      } else {
        await spawner.stop({ now: true }).catch((err: unknown) => this.o.logger.warn({ err, key }, "cleanup of a dead server"));
        await this.o.db.server.update({
          where: { id: row.id },
          data: { status: "stopped", endpoint: null, backendState: this.persist(spawner) },
        });
        stopped++;
      }
    }
    if (rows.length) this.o.logger.info({ restored, stopped }, "servers restored after hub start");
    return { restored, stopped };
  }

  /** Stops the hub's own work (timers, pending spawns); running servers keep running for the next hub. */
  async shutdown(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushActivity();
    for (const runtime of this.runtimes.values()) if (runtime.pending === "spawn") runtime.abort?.abort();
    await Promise.all([...this.runtimes.values()].map((r) => r.task?.catch(() => undefined)));
  }

  /** Keys of servers with a spawn or stop in flight (metrics). */
  countPending(): number {
    let n = 0;
    for (const r of this.runtimes.values()) if (r.pending) n++;
    return n;
  }

  // ---------------------------------------------------------------- helpers

  private async isAlive(key: string): Promise<boolean> {
    const runtime = this.runtimes.get(key);
    if (!runtime) return false;
    return (await runtime.spawner.poll()).running;
  }

  private async policyUser(user: UserRow): Promise<PolicyUser> {
    if (user.groups) return { name: user.name, groups: user.groups.map((g) => g.group.name) };
    const groups = await this.o.db.userGroup.findMany({ where: { userId: user.id }, include: { group: true } });
    return { name: user.name, groups: groups.map((g) => g.group.name) };
  }

  private spawnerFor(user: string, serverName: string, backendState: string | null): Spawner {
    const spawner = this.o.spawners.create({ user, serverName });
    if (backendState) this.restoreInto(spawner, backendState);
    return spawner;
  }

  private restoreInto(spawner: Spawner, backendState: string): void {
    const persisted = safeJson(backendState) as Partial<PersistedState>;
    if (persisted.backend) spawner.restore(persisted.backend);
  }

  private persist(spawner: Spawner, token?: string): string {
    const state: Partial<PersistedState> = { backend: spawner.state() };
    if (token) state.token = this.o.secrets.seal(token);
    return JSON.stringify(state);
  }
}

function describe(user: string, serverName: string): string {
  return serverName ? `${user}'s server '${serverName}'` : `${user}'s default server`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
