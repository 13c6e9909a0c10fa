/**
 * The "docker" spawner backend: every server is a container on a Docker engine, driven through its API (dockerode,
 * API 1.41), after JupyterHub's DockerSpawner.
 *
 * - One container per server, `<prefix>-<user>[--<server>]` (naming.ts), labelled with hub, user and server. The image
 *   is the spawn context's (a Binder build) or the configured one; a missing image is pulled from its registry.
 * - Limits: the policy's CPU (`NanoCpus`) and memory (`Memory` = `MemorySwap`), and the configured pids limit
 *   (`PidsLimit`), are enforced by the engine.
 * - Privileges: the container runs as the configured uid:gid (not root, not the image's choice), with every
 *   capability dropped, no-new-privileges, never privileged (container-spec.ts).
 * - Storage: a named volume per server at `homeDir` (the working directory, `$HOME` and Jupyter's root), kept on stop,
 *   deleted by removeStorage(); size-limited through a loop-mounted ext4 image where the hub can do that (storage.ts).
 *   Its root is the server's uid:gid with mode 0700, set at each start (container-files.ts).
 * - Network: Jupyter listens on 8888 inside; the engine publishes it on a random port of the host's 127.0.0.1 only,
 *   which the hub's proxy forwards to. Containers sit on a bridge network the hub creates without inter-container
 *   traffic (unless configured otherwise), so no server can reach another's port.
 * - The token comes through `JUPYTER_TOKEN`; server/jupyter-config is copied into the container before it starts
 *   (root-owned, read-only for the server) and first on `JUPYTER_CONFIG_PATH` (it keeps the token out of the pages
 *   Jupyter serves), as with the local spawner. Nothing of the hub's is mounted, nor the engine's socket.
 * - start(): storage → image → network → create → start → watch the first seconds: resolves when Jupyter answers HTTP
 *   (or after 3 s if the container still runs: readiness is the hub's check); rejects with `SpawnError("exited")` and
 *   the container's last log lines when it exits first. An aborted or failed start removes what it created.
 * - stop(): `docker stop` (SIGTERM through the engine's init, SIGKILL after the grace period), then removes the
 *   container; the volume stays. poll(): container inspect. state()/restore(): the container id and port.
 *
 * With size-limited volumes the hub must run on the engine's machine: it loop-mounts images that the engine then binds.
 */
import Docker from "dockerode";
import path from "node:path";
import type { ServerIdentity, SpawnerFactory, SpawnerLogger } from "../types.js";
import { loopSupport } from "../host-storage/volume.js";
import { readHubConfig } from "../jupyter-config.js";
import { DockerSpawner, type DockerShared, type EngineFacts } from "./docker-spawner.js";
import { API_VERSION, ensureNetwork } from "../../engines/docker.js";
import { NAME_PREFIX } from "./naming.js";
import type { DockerStorageMode } from "./storage.js";

export { DockerSpawner } from "./docker-spawner.js";

export interface DockerSpawnerOptions {
  /** The engine's API socket, e.g. /var/run/docker.sock. */
  socketPath: string;
  /** Image of servers whose spawn context names none. */
  image?: string;
  /** The Jupyter command inside the image, e.g. ["jupyter", "lab"]; the hub's --ServerApp options follow. */
  command: string[];
  /** Extra arguments after the hub's options. */
  args: string[];
  /** Extra environment for every server. */
  env: Record<string, string>;
  /** Mount point of the server's volume in the container. */
  homeDir: string;
  /** The servers' network (created if missing, as a bridge without inter-container traffic). */
  network: string;
  /** First part of container and volume names; hubs sharing an engine need different prefixes. */
  namePrefix: string;
  /** `loop`: size-limited volumes (root on the engine's machine), `volume`: plain volumes, `auto`: loop when possible. */
  storage: DockerStorageMode;
  /** Where the images of size-limited volumes live. */
  storageRoot: string;
  /** Milliseconds between SIGTERM and SIGKILL on stop. */
  stopGraceMs: number;
  /** The uid and gid every container runs as (≥ 1), owner of its volume's root. */
  uid: number;
  gid: number;
  /** Most processes and threads one container may have at once (spawner.pidsLimit). */
  pidsLimit: number;
  logger?: SpawnerLogger;
}

const silent: SpawnerLogger = { info() {}, warn() {}, error() {}, debug() {} };

export function createDockerSpawnerFactory(options: DockerSpawnerOptions): SpawnerFactory {
  if (options.command.length === 0 || !options.command[0]) throw new Error("docker spawner: command must not be empty");
  if (!NAME_PREFIX.test(options.namePrefix)) throw new Error(`docker spawner: invalid namePrefix ${JSON.stringify(options.namePrefix)}`);
  if (!path.posix.isAbsolute(options.homeDir)) throw new Error("docker spawner: homeDir must be an absolute path");
  for (const key of ["uid", "gid"] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) {
      throw new Error(`docker spawner: ${key} must be an integer of at least 1 (servers never run as root), not ${options[key]}`);
    }
  }
  if (!Number.isInteger(options.pidsLimit) || options.pidsLimit < 1) {
    throw new Error(`docker spawner: pidsLimit must be a positive integer, not ${options.pidsLimit}`);
  }
  const docker = new Docker({ socketPath: options.socketPath, version: API_VERSION });
  const log = options.logger ?? silent;

  // Asked once, when first needed; a failure is forgotten so that the next start asks again.
  let facts: Promise<EngineFacts> | undefined;
  let network: Promise<void> | undefined;
  const shared: DockerShared = {
    docker,
    socketPath: options.socketPath,
    image: options.image,
    command: [...options.command],
    args: [...options.args],
    env: { ...options.env },
    homeDir: options.homeDir,
    network: options.network,
    namePrefix: options.namePrefix,
    storage: options.storage,
    loop: options.storage === "volume" ? { ok: false, reason: "storage: volume" } : loopSupport(),
    storageRoot: path.resolve(options.storageRoot),
    stopGraceMs: options.stopGraceMs,
    uid: options.uid,
    gid: options.gid,
    pidsLimit: options.pidsLimit,
    hubConfig: readHubConfig(),
    log,
    engineFacts: () => (facts ??= askEngine(docker).catch((err: unknown) => ((facts = undefined), Promise.reject(err)))),
    ensureNetwork: () =>
      (network ??= ensureNetwork(docker, options.network).catch((err: unknown) => ((network = undefined), Promise.reject(err)))),
  };
  log.debug({ socketPath: options.socketPath, loop: shared.loop, storage: options.storage }, "docker spawner configured");
  return {
    backend: "docker",
    create: (identity: ServerIdentity) => new DockerSpawner(shared, identity),
    isolation: () => ({
      separated: true,
      summary: `Each server is a container of its own running as uid ${options.uid}:${options.gid}, without capabilities, with no-new-privileges and at most ${options.pidsLimit} processes; nothing of the hub is mounted, and containers cannot reach one another.`,
      warnings: [],
    }),
  };
}

/** What the engine says it can enforce (`docker info`); it silently ignores limits it cannot apply. */
async function askEngine(docker: Docker): Promise<EngineFacts> {
  const info = (await docker.info()) as { CpuCfsQuota?: boolean; MemoryLimit?: boolean; CgroupVersion?: string };
  const cgroup = info.CgroupVersion ? `cgroup v${info.CgroupVersion}` : "cgroups";
  return {
    cpu: info.CpuCfsQuota
      ? { enforced: true, by: `Docker engine (CPU quota, ${cgroup})` }
      : { enforced: false, reason: "the Docker engine reports no CPU quota support (CpuCfsQuota: false)" },
    memory: info.MemoryLimit
      ? { enforced: true, by: `Docker engine (memory limit, ${cgroup})` }
      : { enforced: false, reason: "the Docker engine reports no memory limit support (MemoryLimit: false)" },
  };
}
