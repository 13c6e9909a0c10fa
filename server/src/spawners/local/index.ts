/**
 * The "local" spawner backend: every server is a Jupyter process on the hub's machine.
 *
 * - start(): prepares storage (loop volume or directory), creates the cgroup, picks a free loopback port and launches
 *   `command + hub options + args` in its own session, with the token in `JUPYTER_TOKEN` (never in argv), `HOME` =
 *   the server's working directory, output appended to `server.log`; the process is not tied to the hub (no pipes,
 *   unref'd), so it survives a hub crash. start() then watches the process for up to 3 s: it resolves as soon as the
 *   port accepts connections (or after 3 s if it still runs: readiness is the hub's check), and rejects with a
 *   `SpawnError("exited")` carrying the last log lines when the process exits first. A port taken in the meantime
 *   (Jupyter exits saying so) is retried with another port, up to 3 times. A command that is not on PATH rejects at
 *   once with "command not found: …".
 * - The server's environment is NOT the hub's: only locale, PATH and Python/Conda variables pass, then the
 *   configured env, the spawn context's env, and finally HOME, JUPYTER_TOKEN and GANYMEDE_SPAWN_ID.
 * - stop(): SIGTERM to the process group, SIGKILL to everything of the server after `stopGraceMs` (at once with
 *   `now`), kernels included although Jupyter starts them in sessions of their own (found by cgroup, by the
 *   GANYMEDE_SPAWN_ID environment marker, by process group and by parentage); resolves when none is left, then
 *   unmounts the volume and removes the cgroup. Idempotent; works after restore() in another hub process.
 * - poll(): alive = /proc/<pid>/stat exists, is not a zombie, and has the start time (and boot id) recorded at start.
 * - Limits: cgroup v2 (memory.max, cpu.max) or v1 (memory.limit_in_bytes, cpu.cfs_quota_us) in
 *   `<hierarchy>/<cgroupParent>/<user>.<server>`; the process joins it before exec. Storage: a sparse ext4 image
 *   `volume.img` of the granted size (grown, never shrunk), mounted nosuid,nodev while running; else a plain
 *   directory whose usage is measured. See layout.ts for the files of one server.
 */
import path from "node:path";
import type { ServerIdentity, SpawnerFactory } from "../types.js";
import { detectCgroups } from "./cgroups.js";
import { LocalSpawner, type LocalShared, type SpawnerLogger } from "./local-spawner.js";
import { loopSupport } from "./volume.js";

export type { SpawnerLogger } from "./local-spawner.js";
export { LocalSpawner } from "./local-spawner.js";

export interface LocalSpawnerOptions {
  /** Where per-server storage lives: `<rootDir>/<user>/<server or _default>/`. */
  rootDir: string;
  /** The Jupyter command, e.g. ["jupyter", "lab"]; looked up on the server's PATH. */
  command: string[];
  /** Extra arguments after the hub's own --ServerApp options (they may override them: use with care). */
  args: string[];
  /** Extra environment for every server. */
  env: Record<string, string>;
  /** `loop`: ext4 image per server (root only, start fails otherwise); `directory`; `auto`: loop when possible. */
  storage: "auto" | "loop" | "directory";
  /** `auto`: CPU/memory limits through cgroups when a hierarchy is writable; `off`: never. */
  cgroups: "auto" | "off";
  /** Milliseconds between SIGTERM and SIGKILL on stop. */
  stopGraceMs: number;
  logger?: SpawnerLogger;
  /**
   * Name of the parent cgroup of all servers (one path segment; default "ganymede"). Two hubs on one machine need
   * different parents: a start kills leftover processes it finds in its server's group.
   */
  cgroupParent?: string;
}

const silent: SpawnerLogger = { info() {}, warn() {}, error() {}, debug() {} };

export function createLocalSpawnerFactory(options: LocalSpawnerOptions): SpawnerFactory {
  if (options.command.length === 0 || !options.command[0]) throw new Error("local spawner: command must not be empty");
  if (!(options.stopGraceMs >= 0)) throw new Error("local spawner: stopGraceMs must be ≥ 0");
  const cgroupParent = options.cgroupParent ?? "ganymede";
  if (!/^[A-Za-z0-9_.-]+$/.test(cgroupParent) || cgroupParent === "." || cgroupParent === "..") {
    throw new Error(`local spawner: invalid cgroupParent ${JSON.stringify(cgroupParent)}`);
  }
  const shared: LocalShared = {
    rootDir: path.resolve(options.rootDir),
    command: [...options.command],
    args: [...options.args],
    env: { ...options.env },
    storage: options.storage,
    cgroups: options.cgroups,
    cgroupParent,
    stopGraceMs: options.stopGraceMs,
    log: options.logger ?? silent,
    cgroupSupport: options.cgroups === "off" ? { available: false, reason: "cgroups: off" } : detectCgroups(),
    loopSupport: options.storage === "directory" ? { ok: false, reason: "storage: directory" } : loopSupport(),
    portsInUse: new Set(),
  };
  shared.log.debug(
    { cgroups: shared.cgroupSupport, loop: shared.loopSupport, rootDir: shared.rootDir },
    "local spawner: machine support detected",
  );
  return {
    backend: "local",
    create: (identity: ServerIdentity) => new LocalSpawner(shared, identity),
  };
}
