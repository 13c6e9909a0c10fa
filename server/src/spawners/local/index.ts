/**
 * The "local" spawner backend: every server is a Jupyter process on the hub's machine, run as its user's own
 * unprivileged Unix identity.
 *
 * - Identity (isolation: users, the hub being root): each hub user gets a uid (and a gid of the same number) from
 *   spawner.local.uids, recorded in the database at their first start (users/unix-identities.ts). The process
 *   starts as root only long enough to join its cgroups, then setpriv switches to that uid with no supplementary
 *   groups, no capabilities and no_new_privs (privileges.ts). A hub that is not root cannot switch: its servers run
 *   as its own uid and only one user may have servers (others are refused, saying why); isolation: none lifts that
 *   for a single person's machine and is refused for a root hub, whose servers would run as root.
 * - Files: a server's folder is the hub's (0711: passable, not listable) with the volume image, log and passwd files
 *   inside (0600/0644, root's); its home (the volume's root) is the user's, 0700. The socket folder is the user's,
 *   0700, emptied at every start. The hub's data directory is 0711 and everything else in it private (hub/start).
 *   Folders made before servers had their own uid are chowned at their next start (ownership.ts).
 * - Network: Jupyter listens on a Unix socket in that folder (`--ServerApp.sock`), kernels on Unix sockets beside it
 *   (the hub's Jupyter configuration sets KernelManager.transport = ipc): no TCP port another uid could connect to.
 *   The hub's proxy and readiness checks connect to the socket (root may enter any folder).
 * - Sandbox (spawner.local.sandbox, default auto = when bubblewrap works here): a read-only system, its own home and
 *   socket folder, private /tmp and process list, nothing of the hub or other users (sandbox.ts).
 * - start(): identity → storage (loop volume or directory) → ownership → cgroup (cpu, memory, pids) → launch in its
 *   own session with the token in `JUPYTER_TOKEN` (never in argv), output appended to `server.log`; not tied to the
 *   hub (no pipes, unref'd), so it survives a hub crash. start() then watches the process for up to 3 s: it resolves
 *   as soon as the socket accepts connections (or after 3 s if it still runs: readiness is the hub's check), and
 *   rejects with a `SpawnError("exited")` carrying the last log lines when the process exits first.
 * - The server's environment is NOT the hub's: only locale, PATH and Python/Conda variables pass, then the
 *   configured env, the spawn context's env, and finally HOME, USER, the token, Jupyter's paths and GANYMEDE_SPAWN_ID.
 * - stop(): SIGTERM to the process group, SIGKILL to everything of the server after `stopGraceMs` (at once with
 *   `now`), kernels included although Jupyter starts them in sessions of their own: they are found in the server's
 *   cgroup, or without cgroups by the GANYMEDE_SPAWN_ID environment marker, process group and parentage in process-
 *   table scans that every stop in flight shares (processes.ts); resolves when none is left, then unmounts the
 *   volume, removes the cgroup and the socket folder. Idempotent; works after restore().
 * - poll(): alive = /proc/<pid>/stat exists, is not a zombie, and has the start time (and boot id) recorded at start.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { UidSource } from "../../users/unix-identities.js";
import { readHubConfig } from "../jupyter-config.js";
import type { IsolationReport, ServerIdentity, SpawnerFactory, SpawnerLogger } from "../types.js";
import { detectCgroups } from "./cgroups.js";
import { KERNEL_SOCKET_NAME_LENGTH, SOCKET_NAME, socketPathProblem } from "./sockets.js";
import { LocalSpawner, type LocalShared } from "./local-spawner.js";
import type { Identities } from "./run-as.js";
import { cannotSwitchUsers } from "./privileges.js";
import { unusableByOthers } from "./reachable.js";
import { detectSandbox } from "./sandbox.js";
import { loopSupport } from "../host-storage/volume.js";

export { LocalSpawner } from "./local-spawner.js";

export interface LocalSpawnerOptions {
  /** Where per-server storage lives: `<rootDir>/<user>/<server or _default>/`. */
  rootDir: string;
  /** Parent of the servers' socket folders (default: defaultRunRoot); keep it short (socket paths ≤ 107 bytes). */
  runDir?: string;
  /** Folders hidden from sandboxed servers besides rootDir and runDir (the hub's data directory). */
  hide?: string[];
  /** The Jupyter command, e.g. ["jupyter", "lab"]; looked up on the server's PATH. */
  command: string[];
  /** Extra arguments after the hub's own --ServerApp options (they may override them: use with care). */
  args: string[];
  /** Extra environment for every server. */
  env: Record<string, string>;
  /** `loop`: ext4 image per server (root only, start fails otherwise); `directory`; `auto`: loop when possible. */
  storage: "auto" | "loop" | "directory";
  /** `auto`: CPU/memory/pids limits through cgroups when a hierarchy is writable; `off`: never. */
  cgroups: "auto" | "off";
  /** Most processes and threads per server (cgroup pids.max). */
  pidsLimit: number;
  /** `users`: one uid per hub user (see above); `none`: the hub's own uid for everyone (never as root). */
  isolation: "users" | "none";
  /** Where each user's uid comes from (isolation: users on a root hub). */
  uids?: UidSource;
  /** The bubblewrap sandbox: `auto` when it works here, `on` (starts fail without it), `off`. */
  sandbox: "auto" | "on" | "off";
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

/**
 * Copies the hub's Jupyter configuration to `dir` (root's, 0755, files 0644): readable by every server uid wherever
 * the hub is installed, writable by none.
 */
function publishJupyterConfig(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const file of readHubConfig()) {
    writeFileSync(path.join(dir, file.name), file.content);
    chmodSync(path.join(dir, file.name), 0o644);
  }
}

/**
 * Where socket folders go by default: under /run (short, so socket paths stay within 107 bytes wherever the data
 * directory is; a tmpfs, emptied at boot like the sockets themselves), one folder per hub (by its servers' root);
 * under the servers' root for a hub that cannot write /run.
 */
export function defaultRunRoot(rootDir: string): string {
  if (process.getuid?.() === 0 && existsSync("/run")) {
    return path.join("/run/ganymede", createHash("sha256").update(rootDir).digest("hex").slice(0, 8));
  }
  return path.join(rootDir, ".run");
}

function identitiesFor(options: LocalSpawnerOptions): Identities {
  const cannot = cannotSwitchUsers();
  if (options.isolation === "none") {
    if (process.getuid?.() === 0) {
      throw new Error("spawner.local.isolation: none would run every user's code as root; run the hub as an ordinary user for that, or use isolation: users");
    }
    return { kind: "hub-uid" };
  }
  if (cannot) return { kind: "hub-uid-one-user", why: cannot };
  if (!options.uids) throw new Error("local spawner: isolation: users on a root hub needs a uid source");
  const uids = options.uids;
  return { kind: "own-uids", uidFor: (user) => uids.uidFor(user) };
}

export function createLocalSpawnerFactory(options: LocalSpawnerOptions): SpawnerFactory {
  if (options.command.length === 0 || !options.command[0]) throw new Error("local spawner: command must not be empty");
  if (!(options.stopGraceMs >= 0)) throw new Error("local spawner: stopGraceMs must be ≥ 0");
  const cgroupParent = options.cgroupParent ?? "ganymede";
  if (!/^[A-Za-z0-9_.-]+$/.test(cgroupParent) || cgroupParent === "." || cgroupParent === "..") {
    throw new Error(`local spawner: invalid cgroupParent ${JSON.stringify(cgroupParent)}`);
  }
  const identities = identitiesFor(options);
  const rootDir = path.resolve(options.rootDir);
  const runRoot = path.resolve(options.runDir ?? defaultRunRoot(rootDir));
  const jupyterConfigDir = path.join(rootDir, ".jupyter-config");
  mkdirSync(rootDir, { recursive: true, mode: 0o711 });
  chmodSync(rootDir, 0o711);
  mkdirSync(runRoot, { recursive: true, mode: 0o711 });
  chmodSync(runRoot, 0o711);
  publishJupyterConfig(jupyterConfigDir);

  const switching = identities.kind === "own-uids";
  const sandbox = detectSandbox(options.sandbox, switching ? { uid: 65534, gid: 65534 } : undefined);
  if (options.sandbox === "on" && !sandbox.ok) throw new Error(`spawner.local.sandbox: on, but ${sandbox.reason}`);
  // Unsandboxed kernels put their sockets in the socket folder itself, with longer names than Jupyter's own.
  const socketProblem = socketPathProblem(runRoot, sandbox.ok ? SOCKET_NAME.length : KERNEL_SOCKET_NAME_LENGTH);
  if (socketProblem) throw new Error(`local spawner: ${socketProblem}`);
  const unreachable = switching
    ? (unusableByOthers(rootDir, {}) ?? unusableByOthers(runRoot, {}) ?? unusableByOthers(path.join(jupyterConfigDir, "jupyter_server_config.py"), { read: true }))
    : undefined;

  const shared: LocalShared = {
    rootDir,
    runRoot,
    hide: (options.hide ?? []).map((p) => path.resolve(p)),
    unreachable,
    jupyterConfigDir,
    command: [...options.command],
    args: [...options.args],
    env: { ...options.env },
    storage: options.storage,
    cgroups: options.cgroups,
    cgroupParent,
    pidsLimit: options.pidsLimit,
    stopGraceMs: options.stopGraceMs,
    log: options.logger ?? silent,
    identities,
    cgroupSupport: options.cgroups === "off" ? { available: false, reason: "cgroups: off" } : detectCgroups(),
    loopSupport: options.storage === "directory" ? { ok: false, reason: "storage: directory" } : loopSupport(),
    sandbox,
  };
  const report = isolationReport(shared, options);
  const log = shared.log;
  log.debug({ cgroups: shared.cgroupSupport, loop: shared.loopSupport, sandbox, rootDir }, "local spawner: machine support detected");
  for (const warning of report.warnings) log.warn({ isolation: report.summary }, `SERVER ISOLATION: ${warning}`);
  return {
    backend: "local",
    create: (identity: ServerIdentity) => new LocalSpawner(shared, identity),
    isolation: () => report,
  };
}

function isolationReport(shared: LocalShared, options: LocalSpawnerOptions): IsolationReport {
  const warnings: string[] = [];
  const hubUid = process.getuid?.();
  const { identities, sandbox, cgroupSupport } = shared;
  let summary: string;
  if (identities.kind === "own-uids") {
    const from = options.uids ? ` (${options.uids.description})` : "";
    summary = `Each user's servers run as that user's own unprivileged uid${from}, without capabilities or supplementary groups${sandbox.ok ? ", in a bubblewrap sandbox" : ""}; Jupyter listens on Unix sockets only that uid can reach.`;
    if (shared.unreachable) warnings.push(`Servers cannot start: ${shared.unreachable}. Move hub.dataDir to a folder every user may pass through.`);
  } else if (identities.kind === "hub-uid-one-user") {
    summary = `Every server runs as the hub's own uid ${hubUid}, so servers of only one user may exist.`;
    warnings.push(
      `${identities.why[0]!.toUpperCase()}${identities.why.slice(1)}: every server runs as uid ${hubUid} and could read the hub's data and every other server's files. Servers of only one user may exist; other users are refused. Run the hub as root for one uid per user, or set spawner.local.isolation: none on a single person's machine.`,
    );
  } else {
    summary = `spawner.local.isolation: none — every server runs as the hub's own uid ${hubUid}.`;
    warnings.push(`spawner.local.isolation: none: every user's servers run as the hub's uid ${hubUid} and can read each other's files and the hub's data. Only for a single person's machine.`);
  }
  if (!sandbox.ok && options.sandbox !== "off") warnings.push(`No filesystem sandbox: ${sandbox.reason}. Servers see the machine's files with their normal permissions.`);
  if (options.cgroups === "auto" && !cgroupSupport.available) {
    warnings.push(`CPU, memory and process limits are not enforced: ${cgroupSupport.reason}. A fork bomb in one server can exhaust the machine.`);
  } else if (cgroupSupport.available && !(cgroupSupport.version === 2 ? cgroupSupport.pids : cgroupSupport.pidsRoot)) {
    warnings.push("The cgroups here have no pids controller: a fork bomb in one server is not stopped.");
  }
  return { separated: identities.kind === "own-uids" && !shared.unreachable, summary, warnings };
}
