/**
 * One server as a Jupyter process on this machine. See index.ts for the behaviour in full; this file is the
 * lifecycle: start (identity → storage → limits → launch → first seconds), stop, poll, state/restore, storage removal.
 */
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { exitedDuringStart, SpawnError } from "../../errors.js";
import { unixEndpoint } from "../../lib/endpoint.js";
import type {
  BackendState,
  Endpoint,
  Enforcement,
  LimitEnforcement,
  PollResult,
  ServerIdentity,
  SpawnContext,
  Spawner,
  SpawnerLogger,
  SpawnProgress,
} from "../types.js";
import { cgroupFor, removeCgroup, setupCgroup, type Cgroup, type CgroupSupport } from "./cgroups.js";
import { exitCodeOf, launch, logLine, logTail, openLog, watchFirstSeconds } from "./launch.js";
import { planLaunch } from "./launch-plan.js";
import { serverDirName, serverLayout, type ServerLayout } from "../host-storage/layout.js";
import { SOCKET_NAME, socketDirFor } from "./sockets.js";
import { mountsUnder } from "../host-storage/mounts.js";
import { giveTo, passThrough } from "./ownership.js";
import { bootId, readStat } from "./proc.js";
import { killCgroupMembers, mainAlive, terminate, type ProcessTarget } from "./processes.js";
import { hubAccount, resolveRunAs, type Identities } from "./run-as.js";
import type { SandboxSupport } from "./sandbox.js";
import { localStateSchema, type LocalState } from "./state.js";
import {
  plannedStorageEnforcement,
  prepareStorage,
  releaseStorage,
  storageUsage,
  type LoopSupport,
  type StorageMode,
  type StorageState,
} from "../host-storage/storage.js";
import { unmountVolume } from "../host-storage/volume.js";

/** pino-compatible logger. */
/** What every spawner of one factory shares: resolved options and what the machine supports. */
export interface LocalShared {
  rootDir: string;
  /** Parent of the servers' socket folders. */
  runRoot: string;
  /** Folders hidden from sandboxed servers besides rootDir and runRoot (the hub's data directory). */
  hide: string[];
  /** Why server folders cannot be reached by server uids (then every start is refused with it). */
  unreachable: string | undefined;
  /** The hub's Jupyter configuration, readable by every server uid. */
  jupyterConfigDir: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  storage: StorageMode;
  cgroups: "auto" | "off";
  cgroupParent: string;
  pidsLimit: number;
  stopGraceMs: number;
  log: SpawnerLogger;
  identities: Identities;
  cgroupSupport: CgroupSupport;
  loopSupport: LoopSupport;
  sandbox: SandboxSupport;
}

/** Resources taken during a start, released by stop() even when the start did not finish. */
interface Taken {
  storage?: StorageState;
  cgroup?: Cgroup | null;
  target?: ProcessTarget;
  socketDir?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class LocalSpawner implements Spawner {
  readonly backend = "local";
  private readonly layout: ServerLayout;
  private readonly socketDir: string;
  /** Complete state of a launched server (what state() returns). */
  private current: LocalState | undefined;
  private taken: Taken = {};
  private child: ChildProcess | undefined;
  private stopping: Promise<void> | undefined;
  private lastEnforcement: Enforcement | undefined;
  /** Where this start's output begins in the log, and the token to mask in it (recentLog). */
  private startLog: { offset: number; token: string } | undefined;

  constructor(
    private readonly shared: LocalShared,
    private readonly identity: ServerIdentity,
  ) {
    this.layout = serverLayout(shared.rootDir, identity);
    this.socketDir = socketDirFor(shared.runRoot, identity);
  }

  private get name(): string {
    return `${this.identity.user}/${this.identity.serverName}`;
  }

  private get cgroupName(): string {
    // "." cannot occur in server names, so user.server is unambiguous even for users with "-" or "." in their names.
    return `${this.identity.user}.${serverDirName(this.identity.serverName)}`;
  }

  async start(ctx: SpawnContext, signal: AbortSignal, onProgress: (p: SpawnProgress) => void): Promise<Endpoint> {
    if (ctx.user !== this.identity.user || ctx.serverName !== this.identity.serverName) {
      throw new Error(`spawn context is for ${ctx.user}/${ctx.serverName}, not ${this.name}`);
    }
    if (this.stopping) await this.stopping;
    if (this.current && (await mainAlive(this.targetOf(this.current)))) {
      throw new Error(`server ${this.name} is already running`);
    }
    // Leftovers of a run that ended on its own (mount, cgroup).
    await this.stop({ now: true });
    signal.throwIfAborted();
    try {
      return await this.launchAll(ctx, signal, onProgress);
    } catch (err) {
      await this.stop({ now: true }).catch((cleanupErr: unknown) =>
        this.shared.log.error({ err: cleanupErr, ...this.identity }, "cleanup after a failed start failed"),
      );
      if (signal.aborted) throw signal.reason;
      throw err;
    }
  }

  private async launchAll(
    ctx: SpawnContext,
    signal: AbortSignal,
    onProgress: (p: SpawnProgress) => void,
  ): Promise<Endpoint> {
    const { shared, layout } = this;
    const log = { user: this.identity.user, server: this.identity.serverName };
    const user = await resolveRunAs(shared, this.identity.user);
    const cgroup =
      shared.cgroups === "auto" && shared.cgroupSupport.available
        ? cgroupFor(shared.cgroupSupport, shared.cgroupParent, this.cgroupName)
        : null;
    if (cgroup) {
      // Processes of a start the hub forgot about (it died before saving the state) would hold the volume.
      const killed = await killCgroupMembers(cgroup);
      if (killed) shared.log.warn({ ...log, killed }, "killed leftover processes in the server's cgroup");
    }

    onProgress({ progress: 10, message: this.storageMessage(ctx) });
    await passThrough(path.dirname(layout.dir));
    const storage = await prepareStorage(shared.storage, shared.loopSupport, layout, ctx.limits.storageBytes);
    this.taken.storage = storage.state;
    await passThrough(layout.dir);
    for (const note of storage.notes) {
      shared.log.info({ ...log, note }, "storage");
      onProgress({ progress: 20, message: `Storage: ${note}` });
    }
    if (user) {
      const takenOver = await giveTo(layout.workdir, user);
      if (takenOver) {
        shared.log.info({ ...log, uid: user.uid, entries: takenOver }, "took over a server folder made before servers had their own uid");
        onProgress({ progress: 25, message: `Storage: ${takenOver} files given to uid ${user.uid}` });
      }
    }
    signal.throwIfAborted();

    const limits = await this.prepareLimits(cgroup, ctx, onProgress);
    this.taken.cgroup = limits.cgroup;
    signal.throwIfAborted();

    // A fresh socket folder per start: no stale socket, no kernel connection file of an earlier run.
    this.taken.socketDir = this.socketDir;
    await rm(this.socketDir, { recursive: true, force: true });
    await passThrough(shared.runRoot);
    if (user) await giveTo(this.socketDir, user);
    else await giveTo(this.socketDir, hubAccount());
    const socketPath = path.join(this.socketDir, SOCKET_NAME);

    const spawnId = randomUUID();
    if (ctx.gpus) throw new SpawnError("backend", `local servers have no GPUs to give; this environment needs ${ctx.gpus} (choose one without GPUs)`);
    const { argv, env, jupyter, sandboxed } = await planLaunch({
      ...shared,
      // An environment's command (a venv of its own) instead of spawner.local.command.
      command: ctx.command ?? shared.command,
      hide: [...shared.hide, shared.rootDir, shared.runRoot],
      layout,
      socketDir: this.socketDir,
      account: user ?? hubAccount(),
      switching: user !== undefined,
      cgroupProcs: limits.cgroup ? limits.cgroup.dirs.map((d) => path.join(d, "cgroup.procs")) : [],
      spawnId,
      ctx,
    });
    const enforcement: Enforcement = {
      cpu: limits.cpu,
      memory: limits.memory,
      storage: storage.enforcement,
      processes: limits.processes,
    };
    this.lastEnforcement = enforcement;

    const who = user ? `as uid ${user.uid}${sandboxed ? " in a sandbox" : ""}` : `as the hub's uid ${process.getuid?.()}`;
    onProgress({ progress: 40, message: `Starting Jupyter server ${who}` });
    const { fd, offset } = await openLog(layout.log);
    this.startLog = { offset, token: ctx.token };
    logLine(fd, `starting ${jupyter.join(" ")} ${who}`);
    const child = await launch(argv, env, layout.workdir, fd);
    const stat = await readStat(child.pid!);
    this.child = child;
    const target: ProcessTarget = {
      pid: child.pid!,
      pgid: child.pid!, // detached: the child leads its own session and process group
      startTime: stat?.startTime ?? "0",
      bootId: bootId(),
      spawnId,
      cgroup: limits.cgroup,
      sandboxed,
    };
    this.taken.target = target;
    shared.log.info({ ...log, pid: target.pid, uid: user?.uid, sandboxed }, "launched Jupyter server");

    onProgress({ progress: 60, message: "Waiting for the server to listen" });
    const outcome = await watchFirstSeconds(child, socketPath, signal);
    if (outcome === "exited") {
      const code = exitCodeOf(child);
      const tail = await logTail(layout.log, offset, ctx.token);
      await terminate(target, 0); // anything it left behind
      throw exitedDuringStart(code, tail);
    }
    this.current = {
      version: 2,
      ...target,
      cgroup: limits.cgroup,
      socketPath,
      socketDir: this.socketDir,
      runAs: user,
      sandboxed,
      startedAt: new Date().toISOString(),
      paths: { dir: layout.dir, workdir: layout.workdir, log: layout.log },
      storage: storage.state,
      enforcement,
    };
    const done = outcome === "listening" ? "Server listening" : "Server process running";
    onProgress({ progress: 80, message: `${done} on its private socket` });
    return { url: unixEndpoint(socketPath) };
  }

  async recentLog(): Promise<string[]> {
    if (!this.startLog) return [];
    return logTail(this.layout.log, this.startLog.offset, this.startLog.token).catch(() => []);
  }

  private storageMessage(ctx: SpawnContext): string {
    const planned = plannedStorageEnforcement(this.shared.storage, this.shared.loopSupport, this.layout);
    const gib = ctx.limits.storageBytes / 2 ** 30;
    const size = gib >= 1 ? `${Number(gib.toFixed(1))} GiB` : `${Math.round(ctx.limits.storageBytes / 2 ** 20)} MiB`;
    return planned.enforced ? `Preparing storage (${size} volume)` : "Preparing storage (directory)";
  }

  private async prepareLimits(
    cgroup: Cgroup | null,
    ctx: SpawnContext,
    onProgress: (p: SpawnProgress) => void,
  ): Promise<{ cgroup: Cgroup | null; cpu: LimitEnforcement; memory: LimitEnforcement; processes: LimitEnforcement }> {
    const { shared } = this;
    if (!cgroup) {
      const reason = this.noCgroupReason();
      return { cgroup: null, cpu: { enforced: false, reason }, memory: { enforced: false, reason }, processes: { enforced: false, reason } };
    }
    const memory = `${Math.round(ctx.limits.memoryBytes / 2 ** 20)} MiB`;
    onProgress({ progress: 30, message: `Applying limits (${ctx.limits.cpu} CPU, ${memory} memory, ${shared.pidsLimit} processes)` });
    try {
      return { cgroup, ...(await setupCgroup(cgroup, ctx.limits, shared.pidsLimit)) };
    } catch (err) {
      // cgroups: auto means "where the OS allows": run unconfined and say why.
      await removeCgroup(cgroup).catch(() => undefined);
      const reason = `cgroup setup failed: ${(err as Error).message}`;
      shared.log.warn({ user: this.identity.user, server: this.identity.serverName, reason }, "no cgroup limits");
      return { cgroup: null, cpu: { enforced: false, reason }, memory: { enforced: false, reason }, processes: { enforced: false, reason } };
    }
  }

  private noCgroupReason(): string {
    const { shared } = this;
    return shared.cgroups === "off"
      ? "cgroups are disabled (cgroups: off)"
      : `no usable cgroups: ${shared.cgroupSupport.available ? "unknown" : shared.cgroupSupport.reason}`;
  }

  async stop(options: { now?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.stopNow(options.now ?? false).finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async stopNow(now: boolean): Promise<void> {
    const taken = this.taken;
    const { user, serverName: server } = this.identity;
    if (taken.target) {
      await terminate(taken.target, now ? 0 : this.shared.stopGraceMs);
      this.shared.log.info({ user, server, pid: taken.target.pid }, "stopped Jupyter server");
    } else if (this.shared.cgroups === "auto" && this.shared.cgroupSupport.available) {
      // No state: a start cut short before it was saved (its hub replica died). What it launched is in the
      // server's cgroup, named after the server.
      const killed = await killCgroupMembers(cgroupFor(this.shared.cgroupSupport, this.shared.cgroupParent, this.cgroupName));
      if (killed) this.shared.log.warn({ user, server, killed }, "killed the processes of a start whose state was never saved");
    }
    if (taken.storage) await releaseStorage(taken.storage, this.layout);
    if (taken.cgroup) await removeCgroup(taken.cgroup);
    if (taken.socketDir) await rm(taken.socketDir, { recursive: true, force: true });
    this.taken = {};
    this.current = undefined;
  }

  async poll(): Promise<PollResult> {
    const target = this.taken.target;
    if (target && (await mainAlive(target))) return { running: true };
    const child = this.child;
    if (child && exitCodeOf(child) === null) {
      // Our own child, dead but its exit not yet delivered: give it a moment to report the code.
      await Promise.race([new Promise((r) => child.once("exit", r)), sleep(200)]);
    }
    return { running: false, exitCode: child ? exitCodeOf(child) : null };
  }

  state(): BackendState {
    return this.current ? structuredClone(this.current) : {};
  }

  restore(state: BackendState): void {
    if (Object.keys(state).length === 0) {
      this.current = undefined;
      this.taken = {};
      return;
    }
    const parsed = localStateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`invalid local spawner state: ${parsed.error.message}`);
    const s = parsed.data;
    this.current = s;
    this.child = undefined;
    this.lastEnforcement = s.enforcement;
    this.taken = { storage: s.storage, cgroup: s.cgroup, target: this.targetOf(s), socketDir: s.socketDir };
  }

  async removeStorage(): Promise<void> {
    if (this.stopping) await this.stopping;
    if (this.taken.target && (await mainAlive(this.taken.target))) {
      throw new Error(`server ${this.name} is still running: stop it before removing its storage`);
    }
    await this.stop({ now: true });
    const { dir, workdir } = this.layout;
    const { shared } = this;
    if (shared.cgroupSupport.available) {
      // A group left by a start the hub forgot about.
      const cgroup = cgroupFor(shared.cgroupSupport, shared.cgroupParent, this.cgroupName);
      await killCgroupMembers(cgroup);
      await removeCgroup(cgroup);
    }
    await unmountVolume(workdir);
    const mounted = await mountsUnder(dir);
    if (mounted.length) {
      throw new Error(`cannot remove ${dir}: ${mounted.map((m) => m.mountPoint).join(", ")} still mounted`);
    }
    await rm(dir, { recursive: true, force: true });
    await rm(this.socketDir, { recursive: true, force: true });
    // The user's folder goes too once their last server's storage is gone.
    await rmdir(path.dirname(dir)).catch(() => undefined);
  }

  async storageUsed(): Promise<number | undefined> {
    return storageUsage(this.layout);
  }

  enforcement(): Enforcement {
    if (this.lastEnforcement) return this.lastEnforcement;
    const { shared } = this;
    const support = shared.cgroupSupport;
    const cg: LimitEnforcement =
      shared.cgroups === "off" || !support.available
        ? { enforced: false, reason: this.noCgroupReason() }
        : { enforced: true, by: `cgroup v${support.version}` };
    const pids = support.available && (support.version === 2 ? support.pids : support.pidsRoot !== undefined);
    const processes: LimitEnforcement =
      !cg.enforced || pids
        ? cg.enforced
          ? { enforced: true, by: `cgroup v${support.available ? support.version : ""} pids.max (${shared.pidsLimit})` }
          : cg
        : { enforced: false, reason: "this machine's cgroups have no pids controller" };
    return {
      cpu: cg,
      memory: cg,
      storage: plannedStorageEnforcement(shared.storage, shared.loopSupport, this.layout),
      processes,
    };
  }

  private targetOf(s: LocalState | undefined): ProcessTarget {
    if (!s) return { pid: 0, pgid: 0, startTime: "", bootId: "", spawnId: "", cgroup: null };
    return { pid: s.pid, pgid: s.pgid, startTime: s.startTime, bootId: s.bootId, spawnId: s.spawnId, cgroup: s.cgroup, sandboxed: s.sandboxed };
  }
}
