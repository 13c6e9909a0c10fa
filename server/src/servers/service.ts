/**
 * The servers module: owner of every server's lifecycle. It decides nothing about policy (it asks), knows nothing
 * about processes (the spawner backend does that) and never exposes HTTP; it keeps the database rows, the pending
 * state, the start timeout, cleanup on failure, progress events, routes and activity consistent.
 *
 * States (Server.status): stopped → pending → running → stopping → stopped. A spawn that fails rolls back to
 * stopped — and a named server created by that very request is removed again, storage included — so a failure
 * leaves no half-created row, directory, process or route.
 */
import { byHub } from "../audit/events.js";
import type { AuditTrail } from "../audit/trail.js";
import { FifoSlots, type SlotTicket } from "../lib/fifo-slots.js";
import type { Logger } from "../lib/logger.js";
import type { SecretBox } from "../lib/secrets.js";
import { ConflictError, ForeignServerError, InputError, NotFoundError, PolicyDenied, SpawnError, type PolicyReason } from "../errors.js";
import { lifetimeDeadlines, type Decision, type RunningServer, type ServerUsage } from "../policy/index.js";
import type { ClusterBus, ClusterMessage } from "../cluster/bus.js";
import { mapLimit } from "../lib/map-limit.js";
import type { Db } from "../store/database.js";
import { isUniqueViolation } from "../store/database.js";
import type { IsolationReport, Spawner, SpawnerFactory } from "../spawners/types.js";
import { ActivityLog } from "./activity.js";
import { describeServer, progressUrl, serverBaseUrl, serverKey, splitKey } from "./naming.js";
import { launchSpecSchema, resolveLaunch, type LaunchSpec } from "./launch.js";
import { CapacityQueue, QueueRefusal } from "./capacity-queue.js";
import { backendStateOf, binderOriginOf, parseJsonObject, persistState, restoreSpawner, tokenOf, type PersistedServer } from "./persisted-state.js";
import { ProgressLog, type ProgressEvent } from "./progress.js";
import { fetchStatus, sleep } from "./readiness.js";
import { runSpawn, type RouteSink, type SpawnJob, type SpawnMetrics } from "./spawn.js";
import { runStop, type StopMetrics } from "./stop.js";
import {
  BINDER_OPTION,
  type BinderOrigin,
  type EffectiveLimits,
  type PolicyUser,
  type QuotaUse,
  type ServerPolicy,
  type ServerStatus,
  type ServerView,
} from "./types.js";

export interface ServersOptions {
  db: Db;
  spawners: SpawnerFactory;
  policy: ServerPolicy;
  /** This replica's routing table (the proxy's); changes are told to the other replicas through `bus`. */
  routes: RouteSink & { all(): readonly { user: string; serverName: string }[] };
  /** The other hub replicas (route changes, spawn progress, cancelled starts); SoloBus with one hub. */
  bus: ClusterBus;
  /** This replica's id (Server.replica of the starts and stops it runs) and who else is alive. */
  replica: { id: string; alive(): Promise<Set<string>> };
  /**
   * With several replicas: one quota decision and claim at a time across all of them (cluster/lease.ts), each on
   * what the database says runs. Absent with one hub, whose own ledger is exact.
   */
  clusterAdmission?: { run<T>(task: () => Promise<T>): Promise<T> };
  secrets: SecretBox;
  logger: Logger;
  metrics: SpawnMetrics & StopMetrics;
  startTimeoutMs: number;
  /** How many stops do their expensive part at once (spawner.concurrentStops). */
  concurrentStops: number;
  /** Pauses before a failed stop's retries (default 1 s, 5 s; tests shorten them). */
  stopRetryDelaysMs?: number[];
  /** How long start()/stop() wait before answering "pending" (JupyterHub's slow_spawn_timeout). */
  slowSpawnTimeoutMs: number;
  /** The hub's public URL with a trailing slash (BINDER_LAUNCH_HOST in servers' environment). */
  publicUrl: string;
  /** The audit trail, for what the hub does on its own (a start failing after its request was answered). */
  audit?: AuditTrail;
}

/** In-memory state of a server with work in flight on this replica: never persisted. */
interface Runtime {
  spawner: Spawner;
  pending: "spawn" | "stop" | null;
  progress: ProgressLog;
  abort?: AbortController;
  task?: Promise<void>;
  limits?: EffectiveLimits;
  /** A stop's place in the queue of stops (while it waits for a slot). */
  stopTicket?: SlotTicket;
}

const FAILED_SPAWN_MEMORY_MS = 10 * 60_000;
/** How many servers are checked at once when a replica verifies that every running server still answers. */
const VERIFY_CONCURRENCY = 32;
/** How often a request waiting for another replica's start or stop to end looks at the database. */
const SETTLE_POLL_MS = 200;
/** How often starts waiting for room are checked again besides when a server stops (a reload may raise a capacity). */
const CAPACITY_RECHECK_MS = 2_000;

type ServerRow = NonNullable<Awaited<ReturnType<Db["server"]["findUnique"]>>>;

/**
 * The environment and size a start asks for (KubeSpawner's user_options: `profile`, and a profile option, here
 * `size`); anything else in the options is left to the server. Not strings: a clear refusal, not a silent default.
 */
function environmentRequestOf(options: Record<string, unknown>): { profile?: string; size?: string } {
  for (const key of ["profile", "size"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "string") {
      throw new InputError(`user option \`${key}\` must be the name of ${key === "profile" ? "an environment" : "a size"} (a string)`);
    }
  }
  return {
    ...(typeof options.profile === "string" ? { profile: options.profile } : {}),
    ...(typeof options.size === "string" ? { size: options.size } : {}),
  };
}

/** Stored user options without the hub's own `binder` entry (which only the hub sets). */
function withoutBinder(options: Record<string, unknown>): Record<string, unknown> {
  const { [BINDER_OPTION]: _binder, ...rest } = options;
  return rest;
}

/** The resources a server started with (its launch), or `fallback` for a row from before launches were stored. */
function launchLimitsOf(launch: string | null, fallback: EffectiveLimits): { cpu: number; memoryBytes: number; storageBytes: number } {
  const parsed = launch ? launchSpecSchema.safeParse(parseJsonObject(launch)) : undefined;
  const limits = parsed?.success ? parsed.data.limits : fallback;
  return { cpu: limits.cpu, memoryBytes: limits.memoryBytes, storageBytes: limits.storageBytes };
}

type UserRow = { id: number; name: string; groups?: { group: { name: string } }[] };

/** A server row with its owner's groups: what this replica keeps of a server routed or counted. */
const WITH_GROUPS = { user: { include: { groups: { include: { group: true } } } } } as const;
type TrackedRow = ServerRow & { user: { name: string; groups: { group: { name: string } }[] } };

export class Servers {
  private readonly runtimes = new Map<string, Runtime>();
  private readonly stopSlots: FifoSlots;
  /** Starts under a quota across servers decide and claim one at a time (see claim()). */
  private readonly admissions = new FifoSlots(1);
  /** Starts waiting for room in a full capacity pool: claimed (pending) but not counted as running. */
  private readonly queued = new Set<string>();
  /**
   * What every server starting or running holds (its owner as started, CPU, memory), by key: the capacity pools are
   * counted from here, not from the database, which would cost a query of every running server per start (20 ms
   * with 2,000). Added when a start is admitted and at restore; removed when a start fails or a stop ends.
   */
  private readonly holding = new Map<string, RunningServer>();
  private readonly capacityQueue = new CapacityQueue(CAPACITY_RECHECK_MS, (task) => this.admit(task));
  /** Progress of starts running on other replicas, as they tell it (kept a while after the start ended). */
  private readonly remoteProgress = new Map<string, ProgressLog>();
  /** Route changes made here, told to the other replicas once the database says so. */
  private readonly sharedRoutes: RouteSink;
  /** Proxy traffic and reported activity (the proxy calls `activity.touch` on every request). */
  readonly activity: ActivityLog;

  constructor(private readonly o: ServersOptions) {
    this.activity = new ActivityLog(o.db);
    this.stopSlots = new FifoSlots(o.concurrentStops);
    this.sharedRoutes = {
      add: (route) => {
        o.routes.add(route);
        o.bus.publish({ kind: "route", user: route.user, server: route.serverName });
      },
      remove: (user, serverName) => {
        o.routes.remove(user, serverName);
        o.bus.publish({ kind: "route", user, server: serverName });
      },
    };
    o.bus.subscribe((message) => this.onClusterMessage(message));
    o.bus.onReconnect(() => void this.loadRoutes().catch((err: unknown) => o.logger.error({ err }, "reloading routes failed")));
  }

  /** How the backend keeps users' servers apart (for administrators). */
  isolation(): IsolationReport {
    return this.o.spawners.isolation();
  }

  // ---------------------------------------------------------------- start

  /**
   * Starts (creating if needed) `serverName` for `user`. Resolves "started" when the server became ready within the
   * slow-spawn window, "pending" when it is still starting (follow the progress stream). `binder` is set by Binder
   * launches; a later start without it runs the image the server was last launched with.
   */
  async start(
    user: UserRow,
    serverName: string,
    requested: Record<string, unknown> = {},
    binder?: BinderOrigin,
  ): Promise<"started" | "pending"> {
    const key = serverKey(user.name, serverName);
    const existing = this.runtimes.get(key);
    if (existing?.pending === "spawn") return "pending";
    if (existing?.pending === "stop") {
      throw new ConflictError(`${describeServer(user.name, serverName)} is stopping; try again when it has stopped`);
    }
    const policyUser = await this.policyUser(user);
    let row = await this.o.db.server.findUnique({ where: { userId_name: { userId: user.id, name: serverName } } });
    // Before anything changes: a server another backend made is refused as it is (ForeignServerError).
    const restored = row ? this.spawnerFor(user.name, serverName, row) : undefined;
    // Another replica's start or stop in flight is its own (a dead replica's is taken over within seconds).
    if (row?.status === "pending") return "pending";
    if (row?.status === "stopping") throw new ConflictError(`${describeServer(user.name, serverName)} is stopping; try again when it has stopped`);
    if (row?.status === "running") {
      if ((await (existing?.spawner ?? restored!).poll()).running) throw new ConflictError(`${describeServer(user.name, serverName)} is already running`);
      await this.markStopped(row.id, "the server had exited", { user: user.name, server: serverName });
      row = { ...row, status: "stopped" };
    }
    const origin = binder ?? (row ? binderOriginOf(row.userOptions) : undefined);
    // A start that asks for nothing starts the server as it was last started (its environment and size): a server
    // remembers its choice across stops.
    const remembered = row && Object.keys(requested).length === 0 ? withoutBinder(parseJsonObject(row.userOptions)) : requested;
    const userOptions = origin ? { ...remembered, [BINDER_OPTION]: origin } : remembered;
    // Quotas across servers are decided on what runs now, so their check and the claim of the row are one step:
    // no two starts can both take the last place.
    const claim = () => this.claim(user, policyUser, serverName, row, userOptions, origin);
    const { claimed, created, launch, limits, queued } = this.quotasApply(policyUser) ? await this.admit(claim) : await claim();
    row = claimed;

    const abort = new AbortController();
    const spawner = restored ?? this.spawnerFor(user.name, serverName, row);
    const progress = new ProgressLog((event) => this.o.bus.publish({ kind: "progress", user: user.name, server: serverName, event }));
    const runtime: Runtime = { spawner, pending: "spawn", progress, abort, limits };
    this.runtimes.set(key, runtime);
    const job: SpawnJob = {
      user: user.name,
      serverName,
      rowId: row.id,
      created,
      spawner: runtime.spawner,
      progress: runtime.progress,
      launch,
      signal: abort.signal,
      ...(queued ? { admit: (signal: AbortSignal) => this.waitForRoom(user, policyUser, serverName, userOptions, limits, queued, runtime.progress, signal) } : {}),
    };
    runtime.task = runSpawn({ ...this.o, routes: this.sharedRoutes }, job).finally(() => {
      runtime.pending = null;
      this.queued.delete(key);
    });
    // A failed start frees what it held: a queued start may fit now.
    runtime.task.catch(() => {
      this.holding.delete(key);
      this.capacityQueue.poke();
      this.o.bus.publish({ kind: "route", user: user.name, server: serverName });
    });
    // A failed spawn's log stays readable (progress stream, dashboard) for a while, then the entry goes.
    runtime.task.catch(() => {
      setTimeout(() => {
        if (this.runtimes.get(key) === runtime) this.runtimes.delete(key);
      }, FAILED_SPAWN_MEMORY_MS).unref();
    });

    // A start waiting in line is answered at once: its wait has no bound the slow-spawn window could cover.
    if (queued) return "pending";
    const outcome = await Promise.race([
      runtime.task.then(() => "started" as const),
      sleep(this.o.slowSpawnTimeoutMs).then(() => "pending" as const),
    ]);
    return outcome;
  }

  /**
   * Decides the start (with the quotas across servers, when any applies) and claims the row: creates it (pending),
   * or moves it from stopped to pending. A start refused for capacity alone, where the full pools queue, is claimed
   * too and returned with the reasons it waits for.
   */
  private async claim(
    user: UserRow,
    policyUser: PolicyUser,
    serverName: string,
    row: ServerRow | null,
    userOptions: Record<string, unknown>,
    origin: BinderOrigin | undefined,
  ): Promise<{ claimed: ServerRow; created: boolean; launch: LaunchSpec; limits: EffectiveLimits; queued?: PolicyReason[] }> {
    const usage = this.quotasApply(policyUser) ? await this.usageOf(user, policyUser, serverName, !row) : undefined;
    const decision = this.decideStart(policyUser, serverName, userOptions, usage);
    if (!decision.allow && !decision.queue) throw new PolicyDenied(decision.reasons);
    const limits = decision.limits;
    // The one launch specification of this start: stored on the row, handed unchanged to the backend.
    const launch = resolveLaunch({
      user: user.name,
      serverName,
      baseUrl: serverBaseUrl(user.name, serverName),
      userOptions,
      origin,
      limits,
      environment: decision.environment?.environment,
      publicUrl: this.o.publicUrl,
    });
    let claimed: ServerRow;
    if (!row) {
      if (serverName) {
        const names = (
          await this.o.db.server.findMany({ where: { userId: user.id, NOT: { name: "" } }, select: { name: true } })
        ).map((s) => s.name);
        const creation = this.o.policy.mayCreate(policyUser, serverName, names);
        if (!creation.allow) throw new PolicyDenied(creation.reasons);
      }
      try {
        claimed = await this.o.db.server.create({
          data: {
            userId: user.id,
            name: serverName,
            status: "pending",
            replica: this.o.replica.id,
            backend: this.o.spawners.backend,
            userOptions: JSON.stringify(userOptions),
            launch: JSON.stringify(launch),
          },
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`${describeServer(user.name, serverName)} is being created by another request`);
        throw err;
      }
    } else {
      // Claim the row atomically: only one request may move it from stopped to pending.
      const result = await this.o.db.server.updateMany({
        where: { id: row.id, status: "stopped" },
        data: {
          status: "pending",
          replica: this.o.replica.id,
          lastError: null,
          userOptions: JSON.stringify(userOptions),
          launch: JSON.stringify(launch),
          // A new run: the last stop's reason and a stop time chosen for the last run no longer apply.
          deadline: null,
          stoppedAt: null,
          stopReason: null,
        },
      });
      if (result.count === 0) throw new ConflictError(`${describeServer(user.name, serverName)} is busy (${row.status})`);
      claimed = row;
    }
    const created = !row;
    const key = serverKey(user.name, serverName);
    const holds: RunningServer = { user: policyUser, name: serverName, cpu: limits.cpu, memoryBytes: limits.memoryBytes };
    // The other replicas count it against the quotas too.
    this.o.bus.publish({ kind: "route", user: user.name, server: serverName });
    if (decision.allow) {
      this.holding.set(key, holds);
      return { claimed, created, launch, limits };
    }
    this.queued.add(serverKey(user.name, serverName));
    return { claimed, created, launch, limits, queued: decision.reasons };
  }

  /**
   * The policy's decision on a start: the environment and size its options ask for and, with `usage`, the quotas.
   * The same question when a start is claimed and each time one waiting in line is checked again.
   */
  private decideStart(policyUser: PolicyUser, serverName: string, userOptions: Record<string, unknown>, usage?: ServerUsage): Decision {
    return this.o.policy.decide({
      action: "server.start",
      user: policyUser,
      server: { name: serverName },
      options: environmentRequestOf(userOptions),
      ...(usage ? { usage } : {}),
    });
  }

  /**
   * Runs a quota decision and its claim alone: alone in this replica, and with several replicas alone among them,
   * on a ledger reloaded from the database (another replica's claim a moment ago may not have been heard of yet).
   */
  private admit<T>(task: () => Promise<T>): Promise<T> {
    const cluster = this.o.clusterAdmission;
    if (!cluster) return this.admissions.run(task);
    return this.admissions.run(() =>
      cluster.run(async () => {
        await this.reloadLedger();
        return task();
      }),
    );
  }

  /** What every server starting or running holds, from the database (whichever replica started it). */
  private async reloadLedger(): Promise<void> {
    const rows = await this.o.db.server.findMany({ where: { status: { in: ["pending", "running"] } }, include: WITH_GROUPS });
    const live = new Set<string>();
    for (const row of rows) {
      const key = serverKey(row.user.name, row.name);
      if (this.queued.has(key)) continue; // this replica's own start waiting in line holds nothing yet
      live.add(key);
      this.holding.set(key, this.holdingOf(row));
    }
    for (const key of this.holding.keys()) if (!live.has(key)) this.holding.delete(key);
  }

  /** Whether any quota across servers applies to `user` (else starts need not count what runs). */
  private quotasApply(user: PolicyUser): boolean {
    const limits = this.o.policy.limitsFor(user);
    const own = limits.runningServers !== null || limits.totalCpu !== null || limits.totalMemoryBytes !== null || limits.totalStorageBytes !== null;
    return own || this.o.policy.poolsFor(user).length > 0;
  }

  /**
   * What `user` and the capacity pools that apply to them hold now, for a start of `serverName`: servers starting,
   * running or stopping (not waiting in line) with their owner and resources as started, and every other server's
   * storage.
   */
  private async usageOf(user: UserRow, policyUser: PolicyUser, serverName: string, creates: boolean): Promise<ServerUsage> {
    const self = serverKey(user.name, serverName);
    const others = [...this.holding].filter(([key]) => key !== self).map(([, server]) => server);
    const running = others.filter((server) => server.user.name === user.name).map(({ name, cpu, memoryBytes }) => ({ name, cpu, memoryBytes }));
    const fallback = this.o.policy.limitsFor(policyUser);
    const mine = await this.o.db.server.findMany({ where: { userId: user.id, NOT: { name: serverName } }, select: { launch: true } });
    const storageBytes = mine.reduce((sum, row) => sum + launchLimitsOf(row.launch, fallback).storageBytes, 0);
    const pools = this.o.policy.poolsFor(policyUser).length ? Object.fromEntries(this.o.policy.poolUsage(others)) : {};
    return { running, storageBytes, creates, pools };
  }

  /**
   * A start refused for capacity alone waits here for room, its place in line shown as its progress; it fails with
   * the reasons when it is refused for good meanwhile (a policy reload), and ends when the start is cancelled.
   */
  private async waitForRoom(
    user: UserRow,
    policyUser: PolicyUser,
    serverName: string,
    userOptions: Record<string, unknown>,
    limits: EffectiveLimits,
    reasons: PolicyReason[],
    progress: ProgressLog,
    signal: AbortSignal,
  ): Promise<void> {
    const key = serverKey(user.name, serverName);
    const say = (position: number, why: PolicyReason[]) => {
      const because = why.length ? why.map((r) => r.message).join("; ") : "an earlier start waits for the same room";
      progress.push({ progress: 5, message: `Waiting for room, number ${position} in line: ${because}` });
    };
    // The line reports this start's place as soon as it has checked it (at once, unless others are being checked).
    this.o.logger.info({ user: user.name, server: serverName, reasons: reasons.map((r) => r.rule) }, "start waits for capacity");
    try {
      await this.capacityQueue.wait(
        {
          check: async () => {
            const usage = await this.usageOf(user, policyUser, serverName, false);
            const decision = this.decideStart(policyUser, serverName, userOptions, usage);
            const pools = this.o.policy.poolsFor(policyUser);
            if (decision.allow) return { outcome: "allowed", pools };
            return decision.queue ? { outcome: "wait", pools, reasons: decision.reasons } : { outcome: "refused", pools, reasons: decision.reasons };
          },
          onWaiting: say,
          onAdmitted: () => {
            this.queued.delete(key);
            this.holding.set(key, { user: policyUser, name: serverName, cpu: limits.cpu, memoryBytes: limits.memoryBytes });
          },
        },
        signal,
      );
    } catch (err) {
      if (err instanceof QueueRefusal) throw new SpawnError("policy", `the start was refused while it waited for room: ${err.message}`);
      throw new SpawnError("unexpected", "the start was cancelled while it waited for room");
    }
    progress.push({ progress: 8, message: "Room found: starting" });
  }

  // ---------------------------------------------------------------- stop and delete

  /**
   * Stops a server (storage kept); with `remove`, deletes a named server and its storage. Resolves "stopped" or
   * "pending" (stopping continues in the background) after the slow-spawn window; with `wait`, only once stopped.
   * `reason` ("stopped by alice", "idle for 2h3m…") is kept on the server until its next start.
   */
  async stop(
    user: UserRow,
    serverName: string,
    options: { remove?: boolean; reason?: string; wait?: boolean } = {},
  ): Promise<"stopped" | "pending"> {
    const key = serverKey(user.name, serverName);
    if (options.remove && !serverName) throw new InputError("the default server cannot be deleted, only stopped");
    const row = await this.o.db.server.findUnique({ where: { userId_name: { userId: user.id, name: serverName } } });
    // Stopping a default server that was never started is a no-op, as in JupyterHub.
    if (!row && !serverName) return "stopped";
    if (!row) throw new NotFoundError(`${user.name} has no server named '${serverName}'`);
    const runtime = this.runtimes.get(key);
    if (runtime?.pending === "spawn") {
      if (options.remove) {
        throw new ConflictError(`${describeServer(user.name, serverName)} is starting; stop it (or wait) before deleting it`);
      }
      runtime.abort?.abort();
      await runtime.task?.catch(() => undefined);
      return "stopped";
    }
    if (runtime?.pending === "stop") {
      await runtime.task?.catch(() => undefined);
    } else if (row.status === "pending" || row.status === "stopping") {
      // Another replica's start or stop (this one has no runtime for it): ask it to cancel a start, then wait.
      if (options.remove) throw new ConflictError(`${describeServer(user.name, serverName)} is ${row.status === "pending" ? "starting" : "stopping"}; wait before deleting it`);
      if (row.status === "pending") this.o.bus.publish({ kind: "cancel-start", user: user.name, server: serverName });
      return this.settled(row.id, options.wait === true);
    } else if (row.status === "running") {
      // A server another backend made is refused before anything changes (ForeignServerError).
      const spawner = runtime?.spawner ?? this.spawnerFor(user.name, serverName, row);
      // Taken atomically: two replicas asked to stop the same server at once stop it once.
      const claimed = await this.o.db.server.updateMany({
        where: { id: row.id, status: "running" },
        data: { status: "stopping", replica: this.o.replica.id, lastError: null, stopReason: options.reason ?? null },
      });
      if (claimed.count === 0) return this.settled(row.id, options.wait === true);
      const stopping: Runtime = { spawner, pending: "stop", progress: runtime?.progress ?? new ProgressLog() };
      this.runtimes.set(key, stopping);
      this.sharedRoutes.remove(user.name, serverName);
      this.o.logger.info({ user: user.name, server: serverName, reason: options.reason ?? "requested" }, "stopping server");
      stopping.task = this.finishStop(key, row.id, stopping, options.remove === true);
      const outcome = await Promise.race([
        stopping.task.then(() => "stopped" as const),
        ...(options.wait ? [] : [sleep(this.o.slowSpawnTimeoutMs).then(() => "pending" as const)]),
      ]);
      return outcome;
    }
    if (options.remove) await this.remove(user.name, serverName, row.id, this.spawnerFor(user.name, serverName, row));
    return "stopped";
  }

  /**
   * Waits for a start or stop another replica runs to end: "stopped" once the server is stopped (or gone), "pending"
   * after the slow-spawn window unless `wait`.
   */
  private async settled(rowId: number, wait: boolean): Promise<"stopped" | "pending"> {
    const until = wait ? Infinity : Date.now() + this.o.slowSpawnTimeoutMs;
    for (;;) {
      const row = await this.o.db.server.findUnique({ where: { id: rowId }, select: { status: true } });
      if (!row || row.status === "stopped") return "stopped";
      if (Date.now() >= until) return "pending";
      await sleep(SETTLE_POLL_MS);
    }
  }

  /** Stops and deletes every server of `user`, default included, waiting for each to finish (user deletion). */
  async destroyAll(user: UserRow): Promise<void> {
    const rows = await this.o.db.server.findMany({ where: { userId: user.id } });
    // All or nothing: a server another backend made refuses the deletion before any server is touched.
    for (const row of rows) if (!this.runtimes.has(serverKey(user.name, row.name))) this.spawnerFor(user.name, row.name, row);
    for (const row of rows) {
      const key = serverKey(user.name, row.name);
      const runtime = this.runtimes.get(key);
      if (runtime?.pending === "spawn") runtime.abort?.abort();
      await runtime?.task?.catch(() => undefined);
      const fresh = await this.o.db.server.findUnique({ where: { id: row.id } });
      if (!fresh) continue;
      const spawner = this.runtimes.get(key)?.spawner ?? this.spawnerFor(user.name, row.name, fresh);
      this.o.routes.remove(user.name, row.name);
      await spawner.stop();
      await this.remove(user.name, row.name, row.id, spawner);
      this.o.bus.publish({ kind: "route", user: user.name, server: row.name });
    }
  }

  private async finishStop(key: string, rowId: number, runtime: Runtime, remove: boolean): Promise<void> {
    const [user, serverName] = splitKey(key);
    try {
      const outcome = await runStop(
        { ...this.o, routes: this.sharedRoutes, slots: this.stopSlots, retryDelaysMs: this.o.stopRetryDelaysMs },
        { user, serverName, rowId, spawner: runtime.spawner, onTicket: (ticket) => (runtime.stopTicket = ticket) },
      );
      if (outcome === "failed-running") {
        // Still running and routed: keep its runtime, so that a start is refused and a stop can be tried again.
        this.runtimes.set(key, { spawner: runtime.spawner, pending: null, progress: runtime.progress, limits: runtime.limits });
        return;
      }
      this.holding.delete(key);
      this.capacityQueue.poke();
      this.o.bus.publish({ kind: "route", user, server: serverName });
      if (outcome === "failed-stopped") return;
      this.activity.forget(user, serverName);
      if (remove) await this.remove(user, serverName, rowId, runtime.spawner);
    } finally {
      if (this.runtimes.get(key) === runtime) this.runtimes.delete(key);
    }
  }

  private async remove(user: string, serverName: string, rowId: number, spawner: Spawner): Promise<void> {
    await spawner.removeStorage();
    await this.o.db.server.delete({ where: { id: rowId } });
    this.runtimes.delete(serverKey(user, serverName));
    this.holding.delete(serverKey(user, serverName));
    this.o.bus.publish({ kind: "route", user, server: serverName });
    this.o.logger.info({ user, server: serverName }, "server deleted with its storage");
  }

  private async markStopped(rowId: number, why: string, names: { user: string; server: string }): Promise<void> {
    this.o.logger.info({ rowId, why }, "marking server stopped");
    this.holding.delete(serverKey(names.user, names.server));
    await this.o.db.server.update({ where: { id: rowId }, data: { status: "stopped", endpoint: null, stoppedAt: new Date(), stopReason: why } });
    this.auditFound(names.user, names.server, why);
  }

  /** The audit trail's record of a server the hub found stopped (nobody asked: the hub is the actor). */
  private auditFound(user: string, server: string, reason: string): void {
    void this.o.audit?.record(byHub({ action: "server.stop", user, server, outcome: "ok", detail: { reason } }));
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
    // A start another replica runs: its events as that replica tells them (the log waits for the next one).
    const remote = this.remoteProgress.get(key);
    if (row?.status === "pending" || remote?.last?.failed) return remote ?? this.remoteProgressLog(key);
    if (!row) throw new NotFoundError(`${user.name} has no server named '${serverName}'`);
    throw new InputError(`${describeServer(user.name, serverName)} is not starting`);
  }

  pendingOf(user: string, serverName: string): "spawn" | "stop" | null {
    return this.runtimes.get(serverKey(user, serverName))?.pending ?? null;
  }

  /**
   * Moves a running server's lifetime stop to `deadline`, if its policy allows (decide's `server.extend`: within the
   * maximum lifetime plus the extension allowed; earlier is always allowed). Returns the server's new view.
   */
  async extend(user: UserRow, serverName: string, deadline: Date): Promise<ServerView> {
    const row = await this.o.db.server.findUnique({ where: { userId_name: { userId: user.id, name: serverName } } });
    if (!row) throw new NotFoundError(`${user.name} has no server named '${serverName}'`);
    const policyUser = await this.policyUser(user);
    if (row.status !== "running" || !row.startedAt || this.pendingOf(user.name, serverName) !== null) {
      throw new ConflictError(`${describeServer(user.name, serverName)} is not running (${row.status}); only a running server's stop can be moved`);
    }
    const decision = this.o.policy.decide({
      action: "server.extend",
      user: policyUser,
      server: { name: serverName, startedAt: row.startedAt.getTime() },
      deadline: deadline.getTime(),
      now: Date.now(),
    });
    if (!decision.allow) throw new PolicyDenied(decision.reasons);
    const updated = await this.o.db.server.update({ where: { id: row.id }, data: { deadline } });
    this.o.logger.info({ user: user.name, server: serverName, deadline: deadline.toISOString() }, "server stop moved");
    return this.view(policyUser, updated);
  }

  /** The API/dashboard view of a server row. */
  view(
    user: PolicyUser,
    row: {
      name: string;
      status: string;
      startedAt: Date | null;
      lastActivity: Date | null;
      userOptions: string;
      lastError: string | null;
      backendState: string | null;
      deadline: Date | null;
      stoppedAt: Date | null;
      stopReason: string | null;
    },
    options: { includeState?: boolean } = {},
  ): ServerView {
    const pending = this.pendingOf(user.name, row.name);
    const status = row.status as ServerStatus;
    const last = this.activity.latest(user.name, row.name, row.lastActivity);
    const runtime = this.runtimes.get(serverKey(user.name, row.name));
    // The lifetime follows the policies in force (as the culler does), not the ones the server started with.
    const lifetime = status === "running" && row.startedAt
      ? lifetimeDeadlines(this.o.policy.limitsFor(user), row.startedAt.getTime(), row.deadline?.getTime())
      : null;
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
      userOptions: parseJsonObject(row.userOptions),
      lastError: row.lastError,
      limits: runtime?.limits ?? this.o.policy.limitsFor(user),
      enforcement: runtime?.spawner.enforcement() ?? null,
      stopQueuePosition: runtime?.pending === "stop" ? (runtime.stopTicket?.position() ?? null) : null,
      lifetime: lifetime && { deadline: new Date(lifetime.deadline), latest: new Date(lifetime.latest) },
      stoppedAt: row.stoppedAt,
      stopReason: row.stopReason,
      state: options.includeState ? backendStateOf(row.backendState) : null,
    };
  }

  /**
   * The activity the Jupyter server itself reports (kernels executing, API use), epoch ms; undefined when it does
   * not answer. The culler combines it with proxy traffic.
   */
  async reportedActivity(user: string, serverName: string, endpoint: string | null, backendState: string | null): Promise<number | undefined> {
    const token = tokenOf(backendState, this.o.secrets);
    if (!endpoint || !token) return undefined;
    const status = await fetchStatus(endpoint, serverBaseUrl(user, serverName), token);
    const at = status?.last_activity ? Date.parse(status.last_activity) : NaN;
    return Number.isFinite(at) ? at : undefined;
  }

  /**
   * What to tell someone whose request found no running server. `/user/alice/lab` is either alice's server "lab"
   * or the path `lab` in her default server: it names the server only when she has one called that.
   */
  async notRunning(user: string, candidate: string): Promise<{ server: string; message: string }> {
    const named = candidate
      ? await this.o.db.server.findFirst({ where: { name: candidate, user: { name: user } }, select: { id: true } }).catch(() => null)
      : null;
    const server = named ? candidate : "";
    return { server, message: `${describeServer(user, server)} is not running` };
  }

  /** Bytes used by a server's storage, when the backend can tell. */
  async storageUsed(user: string, serverName: string, row: PersistedServer): Promise<number | undefined> {
    const runtime = this.runtimes.get(serverKey(user, serverName));
    try {
      const spawner = runtime?.spawner ?? this.spawnerFor(user, serverName, row);
      return await spawner.storageUsed();
    } catch {
      return undefined; // unknown (a foreign server's storage is not this backend's to measure)
    }
  }

  // ---------------------------------------------------------------- replicas, restore and shutdown

  /**
   * Loads every route and the ledger of what runs from the database, asking no backend anything: at start (so the
   * replica answers at once, whatever the number of servers) and after its notifications connection came back.
   * Whether each server still answers is verified afterwards, by the replica doing background work (verifyAll).
   */
  async loadRoutes(): Promise<number> {
    const rows = await this.o.db.server.findMany({ where: { status: { in: ["running", "pending", "stopping"] } }, include: WITH_GROUPS });
    const known = new Set<string>();
    for (const row of rows) {
      known.add(serverKey(row.user.name, row.name));
      this.track(row.user.name, row.name, row);
    }
    for (const route of this.o.routes.all()) {
      if (!known.has(serverKey(route.user, route.serverName))) this.track(route.user, route.serverName, null);
    }
    return this.o.routes.all().length;
  }

  /** What another replica said changed (a route, a start's progress, a start to cancel). */
  private onClusterMessage(message: ClusterMessage): void {
    const key = serverKey(message.user, message.server);
    if (message.kind === "route") {
      void this.o.db.server
        .findFirst({ where: { name: message.server, user: { name: message.user } }, include: WITH_GROUPS })
        .then((row) => {
          this.track(message.user, message.server, row);
          this.capacityQueue.poke(); // room may have been freed
        })
        .catch((err: unknown) => this.o.logger.error({ err, key }, "could not follow a route change"));
    } else if (message.kind === "progress") {
      let log = this.remoteProgress.get(key);
      // A new start after one that ended: a new log.
      if (!log || log.done) log = this.remoteProgressLog(key);
      log.push(message.event);
      if (log.done) {
        const ended = log;
        setTimeout(() => this.remoteProgress.get(key) === ended && this.remoteProgress.delete(key), FAILED_SPAWN_MEMORY_MS).unref();
      }
    } else {
      const runtime = this.runtimes.get(key);
      if (runtime?.pending === "spawn") runtime.abort?.abort();
    }
  }

  private remoteProgressLog(key: string): ProgressLog {
    const log = new ProgressLog();
    this.remoteProgress.set(key, log);
    return log;
  }

  /** Tells a start's followers on every replica (this one included) how it ended when this replica did not run it. */
  private tellProgress(user: string, serverName: string, event: ProgressEvent): void {
    const message = { kind: "progress" as const, user, server: serverName, event };
    this.onClusterMessage(message);
    this.o.bus.publish(message);
  }

  /** Makes this replica's route and ledger entry of a server agree with its row (null: no row any more). */
  private track(user: string, serverName: string, row: TrackedRow | null): void {
    const key = serverKey(user, serverName);
    if (this.runtimes.get(key)?.pending) return; // this replica's own start or stop: its own state is the truth
    const token = row ? tokenOf(row.backendState, this.o.secrets) : undefined;
    if (row?.status === "running" && row.endpoint && token) this.o.routes.add({ user, serverName, target: row.endpoint, token });
    else this.o.routes.remove(user, serverName);
    if (row && (row.status === "running" || row.status === "pending")) this.holding.set(key, this.holdingOf(row));
    else this.holding.delete(key);
  }

  /** What a server's row says it holds against quotas and capacities: its owner as now, its resources as started. */
  private holdingOf(row: TrackedRow): RunningServer {
    const owner: PolicyUser = { name: row.user.name, groups: row.user.groups.map((g) => g.group.name) };
    return { user: owner, name: row.name, ...launchLimitsOf(row.launch, this.o.policy.limitsFor(owner)) };
  }

  /**
   * Checks that every server the database says runs still answers (32 at a time); those that do not are cleaned up
   * and marked stopped, with the reason. The replica doing background work runs it when it takes that work on (the
   * hub restarted, or the replica that had it died), after it already answers requests.
   */
  async verifyAll(): Promise<{ verified: number; stopped: number }> {
    const rows = await this.o.db.server.findMany({ where: { status: "running" }, include: { user: true } });
    let stopped = 0;
    await mapLimit(rows, VERIFY_CONCURRENCY, async (row) => {
      if (this.runtimes.get(serverKey(row.user.name, row.name))?.pending) return;
      let spawner: Spawner;
      try {
        spawner = this.spawnerFor(row.user.name, row.name, row);
      } catch (err) {
        if (!(err instanceof ForeignServerError)) throw err;
        await this.keepForeign(row, err);
        return;
      }
      if (await this.answers(row, spawner)) return;
      // Taken from "running" only if it still is: a stop or a start since the query is not undone.
      const claimed = await this.o.db.server.updateMany({ where: { id: row.id, status: "running" }, data: { status: "stopping", replica: this.o.replica.id } });
      if (claimed.count === 0) return;
      await this.endFound(row.user.name, row.name, row.id, spawner, { stopReason: "not answering when the hub started (it was running)" });
      stopped++;
    });
    if (rows.length) this.o.logger.info({ verified: rows.length - stopped, stopped }, "running servers verified");
    const unknown = this.o.spawners.unknownServers?.(rows.map((row) => ({ user: row.user.name, serverName: row.name }))) ?? [];
    if (unknown.length) {
      // Not the hub's to delete: its record is gone (restored from a backup? another hub with the same prefix?).
      this.o.logger.warn({ unknown }, "the backend runs servers this hub has no record of; left running for an administrator to look at");
    }
    return { verified: rows.length - stopped, stopped };
  }

  /**
   * Ends the starts and stops in flight of replicas that died (or of the hub process before this one): a start whose
   * server answers is kept, running and routed; any other start is cleaned up and stopped with the reason; a stop is
   * finished. Each is claimed atomically first, so two replicas never take the same one over.
   */
  async takeOver(alive: ReadonlySet<string>): Promise<number> {
    const rows = await this.o.db.server.findMany({
      where: { status: { in: ["pending", "stopping"] }, OR: [{ replica: null }, { replica: { notIn: [...alive] } }] },
      include: { user: true },
    });
    let taken = 0;
    for (const row of rows) {
      const user = row.user.name;
      if (this.runtimes.get(serverKey(user, row.name))?.pending) continue;
      const claimed = await this.o.db.server.updateMany({
        where: { id: row.id, status: row.status, replica: row.replica },
        data: { replica: this.o.replica.id },
      });
      if (claimed.count === 0) continue;
      taken++;
      const gone = row.replica ? `hub replica ${row.replica}` : "the hub process before this one";
      let spawner: Spawner;
      try {
        spawner = this.spawnerFor(user, row.name, row);
      } catch (err) {
        if (!(err instanceof ForeignServerError)) throw err;
        await this.keepForeign(row, err);
        continue;
      }
      if (row.status === "pending" && (await this.answers(row, spawner))) {
        const now = new Date();
        const updated = await this.o.db.server.update({
          where: { id: row.id },
          data: { status: "running", startedAt: row.startedAt ?? now, lastActivity: row.lastActivity ?? now },
          include: WITH_GROUPS,
        });
        this.track(user, row.name, updated);
        this.o.bus.publish({ kind: "route", user, server: row.name });
        const url = serverBaseUrl(user, row.name);
        this.tellProgress(user, row.name, { progress: 100, ready: true, message: `Server ready at ${url}`, html_message: `Server ready at <a href="${url}">${url}</a>`, url });
        this.o.logger.info({ user, server: row.name, from: gone }, "start taken over: the server answers");
        continue;
      }
      if (row.status === "pending") {
        const why = `the start was cut short: ${gone} stopped before the server was ready`;
        await this.endFound(user, row.name, row.id, spawner, { stopReason: why, lastError: why });
        this.tellProgress(user, row.name, { progress: 100, failed: true, message: `Spawn failed: ${why}` });
      } else {
        await this.endFound(user, row.name, row.id, spawner, { stopReason: row.stopReason ?? `stopped (the stop was finished for ${gone})` });
      }
      this.o.logger.warn({ user, server: row.name, status: row.status, from: gone }, "work of a dead replica taken over");
    }
    return taken;
  }

  /** Whether a server's backend says it runs and the Jupyter server answers (one request each). */
  private async answers(row: PersistedServer & { endpoint: string | null; name: string; user: { name: string } }, spawner: Spawner): Promise<boolean> {
    const token = tokenOf(row.backendState, this.o.secrets);
    if (!row.endpoint || !token || !(await spawner.poll().then((p) => p.running, () => false))) return false;
    return Boolean(await fetchStatus(row.endpoint, serverBaseUrl(row.user.name, row.name), token, 3000));
  }

  /** Stops what is left of a server the hub found dead or cut short, marks it stopped with the reason, tells everyone. */
  private async endFound(user: string, serverName: string, rowId: number, spawner: Spawner, why: { stopReason: string; lastError?: string }): Promise<void> {
    await spawner.stop({ now: true }).catch((err: unknown) => this.o.logger.warn({ err, user, server: serverName }, "cleanup of a dead server"));
    await this.o.db.server.update({
      where: { id: rowId },
      data: { status: "stopped", endpoint: null, stoppedAt: new Date(), ...why, ...this.persist(spawner) },
    });
    this.holding.delete(serverKey(user, serverName));
    this.sharedRoutes.remove(user, serverName);
    this.capacityQueue.poke();
    this.auditFound(user, serverName, why.stopReason);
  }

  /**
   * A server another backend made, found live in the database after a start on this one: this hub cannot manage it,
   * but need not lose it either. One that still answers keeps its route (its user goes on working; stopping it is
   * refused with the reason); one that does not is marked stopped with the reason in last_error. Its state stays, so
   * a hub switched back to its backend finds it again.
   */
  private async keepForeign(row: { id: number; name: string; endpoint: string | null; backendState: string | null; user: { name: string } }, err: ForeignServerError): Promise<void> {
    const token = tokenOf(row.backendState, this.o.secrets);
    const answers = row.endpoint && token ? await fetchStatus(row.endpoint, serverBaseUrl(row.user.name, row.name), token, 3000) : false;
    this.o.logger.warn({ user: row.user.name, server: row.name, answers }, err.message);
    if (answers && row.endpoint && token) {
      this.o.routes.add({ user: row.user.name, serverName: row.name, target: row.endpoint, token });
      return;
    }
    await this.o.db.server.update({ where: { id: row.id }, data: { status: "stopped", endpoint: null, lastError: err.message } });
  }

  /**
   * What `user`'s servers hold against their quotas across servers (`rows`: all their servers): servers running or
   * starting and their CPU and memory, and every server's storage; each with the quota (null: unlimited).
   */
  quotaUse(user: PolicyUser, rows: readonly { name: string; status: string; launch: string | null }[]): QuotaUse {
    const limits = this.o.policy.limitsFor(user);
    const held = rows.map((row) => ({ row, ...launchLimitsOf(row.launch, limits) }));
    const running = held.filter(({ row }) => (row.status === "pending" || row.status === "running") && !this.queued.has(serverKey(user.name, row.name)));
    return {
      runningServers: { used: running.length, limit: limits.runningServers },
      cpu: { used: running.reduce((sum, s) => sum + s.cpu, 0), limit: limits.totalCpu },
      memoryBytes: { used: running.reduce((sum, s) => sum + s.memoryBytes, 0), limit: limits.totalMemoryBytes },
      storageBytes: { used: held.reduce((sum, s) => sum + s.storageBytes, 0), limit: limits.totalStorageBytes },
    };
  }

  /**
   * Stops the hub's own work (timers, starts in flight); running servers keep running for the other replicas or the
   * next hub. With `drainMs`, starts in flight may finish first (a rolling restart then cuts none short); those
   * still running after it are cancelled and say so.
   */
  async shutdown(drainMs = 0): Promise<void> {
    const spawns = [...this.runtimes.values()].filter((r) => r.pending === "spawn" && r.task);
    if (drainMs > 0 && spawns.length) {
      this.o.logger.info({ starts: spawns.length }, "waiting for starts in flight before shutting down");
      await Promise.race([Promise.all(spawns.map((r) => r.task!.catch(() => undefined))), sleep(drainMs)]);
    }
    this.capacityQueue.close();
    await this.activity.stop();
    for (const runtime of this.runtimes.values()) if (runtime.pending === "spawn") runtime.abort?.abort();
    await Promise.all([...this.runtimes.values()].map((r) => r.task?.catch(() => undefined)));
    this.o.spawners.close?.();
  }

  // ---------------------------------------------------------------- helpers

  private async policyUser(user: UserRow): Promise<PolicyUser> {
    if (user.groups) return { name: user.name, groups: user.groups.map((g) => g.group.name) };
    const groups = await this.o.db.userGroup.findMany({ where: { userId: user.id }, include: { group: true } });
    return { name: user.name, groups: groups.map((g) => g.group.name) };
  }

  private spawnerFor(user: string, serverName: string, row: PersistedServer): Spawner {
    return restoreSpawner(this.o.spawners.create({ user, serverName }), row, { user, serverName });
  }

  private persist(spawner: Spawner): PersistedServer {
    return persistState(spawner, this.o.secrets);
  }
}
