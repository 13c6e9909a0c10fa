/**
 * One server as a Docker container. See index.ts for the behaviour in full; this file is the lifecycle: start
 * (storage → image → container → first seconds), stop, poll, state/restore, storage removal.
 */
import type Docker from "dockerode";
import { existsSync } from "node:fs";
import { exitedDuringStart, SpawnError, UnavailableError } from "../../errors.js";
import type {
  BackendState,
  Endpoint,
  Enforcement,
  LimitEnforcement,
  PollResult,
  ServerIdentity,
  SpawnContext,
  Spawner,
  SpawnProgress,
} from "../types.js";
import type { SpawnerLogger } from "../types.js";
import { serverLayout, type ServerLayout } from "../host-storage/layout.js";
import type { LoopSupport } from "../host-storage/storage.js";
import { formatSize } from "../host-storage/volume.js";
import type { HubConfigFile } from "../jupyter-config.js";
import { containerFiles, packFiles } from "./container-files.js";
import { JUPYTER_PORT, storageMountPoint } from "../image-server.js";
import { containerSpec } from "./container-spec.js";
import { answersHttp, engineMessage, ensureImage, ignoring, logTail, orUndefined } from "../../engines/docker.js";
import { isOurs, objectLabels, objectName } from "./naming.js";
import { dockerStateSchema, type DockerState, type DockerStorageState } from "./state.js";
import {
  dockerStorageUsage,
  plannedStorageEnforcement,
  prepareDockerStorage,
  releaseDockerStorage,
  removeDockerStorage,
  type DockerStorageMode,
  type StorageTarget,
} from "./storage.js";

/** What the engine can enforce, asked once per factory (`docker info`). */
export interface EngineFacts {
  cpu: LimitEnforcement;
  memory: LimitEnforcement;
}

/** What every spawner of one factory shares: resolved options, the engine client, memoised engine checks. */
export interface DockerShared {
  docker: Docker;
  socketPath: string;
  image: string | undefined;
  command: string[];
  args: string[];
  env: Record<string, string>;
  homeDir: string;
  network: string;
  namePrefix: string;
  storage: DockerStorageMode;
  loop: LoopSupport;
  /** Root of loop-backed volumes' images: `<storageRoot>/<user>/<server>/volume.img`. */
  storageRoot: string;
  stopGraceMs: number;
  /** The uid and gid every container runs as, and the owner of its volume's root. */
  uid: number;
  gid: number;
  pidsLimit: number;
  /** The files of server/jupyter-config, copied into every container. */
  hubConfig: HubConfigFile[];
  log: SpawnerLogger;
  engineFacts(): Promise<EngineFacts>;
  ensureNetwork(): Promise<void>;
}

/** The engine applies PidsLimit through the container's pids cgroup. */
const pidsEnforcement = (limit: number): LimitEnforcement => ({ enforced: true, by: `Docker engine (PidsLimit ${limit})` });

/** How long start() watches a new container for an early exit before leaving readiness to the hub. */
const WATCH_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a start created so far: undone when the start fails or is aborted. */
interface Taken {
  containerId?: string;
  storage?: DockerStorageState;
  created?: { volume: boolean; image: boolean };
}

/** The failure of a server that exited right after its start: exit code, out-of-memory kill, last log lines. */
async function exitedEarly(container: Docker.Container, token: string): Promise<SpawnError> {
  const state = (await orUndefined(() => container.inspect()))?.State;
  const tail = await logTail(container, token);
  return exitedDuringStart(state?.ExitCode, tail, state?.OOMKilled ? "killed: out of memory" : "");
}

export class DockerSpawner implements Spawner {
  readonly backend = "docker";
  private readonly name: string;
  private readonly layout: ServerLayout;
  private current: DockerState | undefined;
  private stopping: Promise<void> | undefined;
  private lastEnforcement: Enforcement | undefined;
  /** The token to mask in the container's output (recentLog); known only to the hub process that started it. */
  private startToken: string | undefined;

  constructor(
    private readonly shared: DockerShared,
    private readonly identity: ServerIdentity,
  ) {
    this.name = objectName(shared.namePrefix, identity);
    this.layout = serverLayout(shared.storageRoot, identity);
  }

  async recentLog(): Promise<string[]> {
    const id = this.current?.containerId;
    if (!id || this.startToken === undefined) return [];
    return logTail(this.shared.docker.getContainer(id), this.startToken).catch(() => []);
  }

  private get logFields() {
    return { user: this.identity.user, server: this.identity.serverName, container: this.name };
  }

  async start(ctx: SpawnContext, signal: AbortSignal, onProgress: (p: SpawnProgress) => void): Promise<Endpoint> {
    this.startToken = ctx.token;
    if (ctx.user !== this.identity.user || ctx.serverName !== this.identity.serverName) {
      throw new Error(`spawn context is for ${ctx.user}/${ctx.serverName}, not ${this.identity.user}/${this.identity.serverName}`);
    }
    if (this.stopping) await this.stopping;
    if (this.current && (await this.poll()).running) throw new Error(`container ${this.name} is already running`);
    // Leftovers: a container the hub forgot about (it died before saving the state), a volume still mounted.
    await this.engineCall(() => this.stop({ now: true }));
    signal.throwIfAborted();
    const taken: Taken = {};
    try {
      return await this.engineCall(() => this.launch(ctx, signal, onProgress, taken));
    } catch (err) {
      await this.undo(taken).catch((cleanupErr: unknown) =>
        this.shared.log.error({ err: cleanupErr, ...this.logFields }, "cleanup after a failed start failed"),
      );
      if (signal.aborted) throw signal.reason;
      throw err;
    }
  }

  private async launch(
    ctx: SpawnContext,
    signal: AbortSignal,
    onProgress: (p: SpawnProgress) => void,
    taken: Taken,
  ): Promise<Endpoint> {
    const { shared, name } = this;
    const image = ctx.image ?? shared.image;
    if (ctx.gpus) throw new SpawnError("backend", `this hub's containers get no GPUs; this environment needs ${ctx.gpus} (choose one without GPUs)`);
    if (!image) {
      throw new SpawnError("backend", "No image to run this server: set spawner.docker.image, or launch it from a Binder build.");
    }
    const facts = await shared.engineFacts();
    const labels = objectLabels(shared.namePrefix, this.identity);

    const sized = plannedStorageEnforcement(shared.storage, shared.loop, this.layout).enforced;
    const volumeText = sized ? `${formatSize(ctx.limits.storageBytes)} volume ${name}` : `volume ${name}`;
    onProgress({ progress: 10, message: `Preparing storage (${volumeText})` });
    const storage = await prepareDockerStorage(this.storageTarget(), ctx.limits.storageBytes);
    taken.storage = storage.state;
    taken.created = storage.created;
    for (const note of storage.notes) {
      shared.log.info({ ...this.logFields, note }, "storage");
      onProgress({ progress: 15, message: `Storage: ${note}` });
    }
    signal.throwIfAborted();

    const pulled = await ensureImage(shared.docker, image, signal, (message) => onProgress({ progress: 20, message }));
    if (pulled) shared.log.info({ ...this.logFields, image }, "pulled image");
    await shared.ensureNetwork();
    signal.throwIfAborted();

    const memory = `${Math.round(ctx.limits.memoryBytes / 2 ** 20)} MiB`;
    onProgress({ progress: 40, message: `Creating container ${name} (${ctx.limits.cpu} CPU, ${memory} memory)` });
    const spec = containerSpec({
      name,
      image,
      command: ctx.command ?? shared.command,
      args: shared.args,
      env: { ...shared.env, ...ctx.env },
      token: ctx.token,
      baseUrl: ctx.baseUrl,
      homeDir: shared.homeDir,
      storageDir: ctx.storageDir,
      volume: name,
      network: shared.network,
      limits: ctx.limits,
      uid: shared.uid,
      gid: shared.gid,
      pidsLimit: shared.pidsLimit,
      labels,
    });
    const container = await shared.docker.createContainer(spec);
    taken.containerId = container.id;
    signal.throwIfAborted();
    // Before the start: Jupyter never runs without the hub's configuration, or on a volume root it cannot use.
    const mountPoint = storageMountPoint({ homeDir: shared.homeDir, storageDir: ctx.storageDir });
    const files = containerFiles({ hubConfig: shared.hubConfig, mountPoint, uid: shared.uid, gid: shared.gid });
    await container.putArchive(await packFiles(files), { path: "/" });
    signal.throwIfAborted();

    onProgress({ progress: 50, message: "Starting container" });
    await container.start();
    const info = await container.inspect();
    const hostPort = Number(info.NetworkSettings.Ports?.[`${JUPYTER_PORT}/tcp`]?.[0]?.HostPort);
    // A container that exited already has no published port any more: that is the server's failure, not the engine's.
    if (!hostPort && !info.State.Running) throw await exitedEarly(container, ctx.token);
    if (!hostPort) throw new SpawnError("backend", `The Docker engine published no port for container ${name}.`);
    const enforcement: Enforcement = { cpu: facts.cpu, memory: facts.memory, storage: storage.enforcement, processes: pidsEnforcement(shared.pidsLimit) };
    this.lastEnforcement = enforcement;
    shared.log.info({ ...this.logFields, id: container.id.slice(0, 12), hostPort, image }, "started container");

    onProgress({ progress: 60, message: "Waiting for the server to listen" });
    const outcome = await this.watchFirstSeconds(container, hostPort, ctx.baseUrl, signal);
    if (outcome === "exited") throw await exitedEarly(container, ctx.token);
    this.current = {
      version: 1,
      containerId: container.id,
      containerName: name,
      volume: name,
      image,
      hostPort,
      startedAt: new Date().toISOString(),
      storage: storage.state,
      enforcement,
    };
    onProgress({ progress: 80, message: `${outcome === "listening" ? "Server listening" : "Container running"} on port ${hostPort}` });
    return { url: `http://127.0.0.1:${hostPort}` };
  }

  /** Until the server answers HTTP, the container exits, or WATCH_MS pass (readiness is then the hub's business). */
  private async watchFirstSeconds(
    container: Docker.Container,
    port: number,
    baseUrl: string,
    signal: AbortSignal,
  ): Promise<"listening" | "exited" | "running"> {
    const deadline = Date.now() + WATCH_MS;
    for (;;) {
      signal.throwIfAborted();
      const state = (await orUndefined(() => container.inspect()))?.State;
      if (!state?.Running) return "exited";
      // The engine's port forwarder accepts connections before Jupyter listens: only an HTTP answer counts.
      if (await answersHttp(`http://127.0.0.1:${port}${baseUrl}api/status`)) return "listening";
      if (Date.now() >= deadline) return "running";
      await sleep(100);
    }
  }

  /** Removes what a failed start created; a volume or image that existed before is kept. */
  private async undo(taken: Taken): Promise<void> {
    const { docker } = this.shared;
    if (taken.containerId) await ignoring([404, 409], () => docker.getContainer(taken.containerId!).remove({ force: true }));
    if (taken.storage) await releaseDockerStorage(taken.storage, this.layout);
    if (taken.created?.volume) await removeDockerStorage(docker, this.layout, this.name);
    this.current = undefined;
  }

  async stop(options: { now?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.engineCall(() => this.stopNow(options.now ?? false)).finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async stopNow(now: boolean): Promise<void> {
    const { docker, namePrefix, stopGraceMs, log } = this.shared;
    const container = docker.getContainer(this.current?.containerId ?? this.name);
    const info = await orUndefined(() => container.inspect());
    if (info) {
      if (!isOurs(info.Config.Labels, namePrefix, this.identity)) {
        throw new Error(`container ${info.Name} exists but does not belong to ${this.identity.user}/${this.identity.serverName} of this hub`);
      }
      if (info.State.Running) {
        await ignoring([304, 404], () => container.stop({ t: now ? 0 : Math.ceil(stopGraceMs / 1000) }));
        log.info({ ...this.logFields }, "stopped container");
      } else if (info.State.ExitCode !== 0) {
        // The container's log goes with it: keep its end in the hub's log.
        const tail = await logTail(container, "");
        log.warn({ ...this.logFields, exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled, tail }, "container had exited");
      }
      await ignoring([404, 409], () => container.remove({ force: true }));
    }
    if (this.current) await releaseDockerStorage(this.current.storage, this.layout);
    else if (existsSync(this.layout.image)) await releaseDockerStorage(this.loopState(), this.layout);
    this.current = undefined;
  }

  async poll(): Promise<PollResult> {
    const id = this.current?.containerId;
    if (!id) return { running: false, exitCode: null };
    const info = await this.engineCall(() => orUndefined(() => this.shared.docker.getContainer(id).inspect()));
    if (!info) return { running: false, exitCode: null };
    return info.State.Running ? { running: true } : { running: false, exitCode: info.State.ExitCode };
  }

  state(): BackendState {
    return this.current ? structuredClone(this.current) : {};
  }

  restore(state: BackendState): void {
    if (Object.keys(state).length === 0) {
      this.current = undefined;
      return;
    }
    const parsed = dockerStateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`invalid docker spawner state: ${parsed.error.message}`);
    this.current = parsed.data;
    this.lastEnforcement = parsed.data.enforcement;
  }

  async removeStorage(): Promise<void> {
    if (this.stopping) await this.stopping;
    if ((await this.poll()).running) {
      throw new Error(`container ${this.name} is still running: stop it before removing its storage`);
    }
    await this.stop({ now: true });
    await this.engineCall(() => removeDockerStorage(this.shared.docker, this.layout, this.name));
  }

  async storageUsed(): Promise<number | undefined> {
    return dockerStorageUsage(this.shared.docker, this.layout, this.name);
  }

  enforcement(): Enforcement {
    if (this.lastEnforcement) return this.lastEnforcement;
    const engine: LimitEnforcement = { enforced: true, by: "Docker engine" };
    const storage = plannedStorageEnforcement(this.shared.storage, this.shared.loop, this.layout);
    return { cpu: engine, memory: engine, storage, processes: pidsEnforcement(this.shared.pidsLimit) };
  }

  private storageTarget(): StorageTarget {
    const { docker, storage, loop, namePrefix } = this.shared;
    return { docker, mode: storage, loop, layout: this.layout, volume: this.name, labels: objectLabels(namePrefix, this.identity) };
  }

  /** A loop volume's state rebuilt from the layout, to unmount a volume whose state was lost. */
  private loopState(): DockerStorageState {
    return { kind: "loop", image: this.layout.image, mountPoint: this.layout.workdir, device: "", sizeBytes: 0 };
  }

  /** Engine calls with the unreachable engine reported as such. */
  private async engineCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES") {
        throw new UnavailableError(`The Docker engine does not answer at ${this.shared.socketPath} (${code}).`);
      }
      if (err instanceof SpawnError || !(err as { statusCode?: number }).statusCode) throw err;
      throw new SpawnError("backend", `Docker engine: ${engineMessage(err)}`);
    }
  }
}
