/**
 * The optional filesystem sandbox of a local server (Debian's `bubblewrap`, unprivileged: it runs after the switch
 * to the user's uid, inside a user namespace of its own). The server sees a read-only system, its own home at
 * /home/<name>, its own socket folder at /run/user/<uid>, private /tmp, /var/tmp and /dev/shm, its own process list
 * (a PID namespace: other servers and the hub cannot even be named), and nothing of the hub's data directory, of
 * other people's homes or of the cgroup tree (whose folder names say who runs servers).
 *
 * `sandboxArgv` is a pure function from a plan to bwrap's arguments, so every mount is covered by plain tests.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export type SandboxSupport = { ok: true; bwrap: string } | { ok: false; reason: string };

/** Where bwrap may be installed (the hub's PATH may be minimal). */
const BWRAP_PATHS = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"];

/** Folders that hold other people's files or the hub's: replaced by empty read-only (or private) ones. */
const HIDDEN_READ_ONLY = ["/home", "/root", "/sys/fs/cgroup"];
const PRIVATE_WRITABLE = ["/tmp", "/var/tmp"];

export interface SandboxPlan {
  bwrap: string;
  /** Outside → inside. */
  home: { outside: string; inside: string };
  run: { outside: string; inside: string };
  /** The hub's Jupyter configuration (read-only). */
  config: { outside: string; inside: string };
  /** Generated passwd and group files (read-only over /etc/passwd, /etc/group). */
  passwd: string;
  group: string;
  /** Further folders to hide (the hub's data directory). */
  hide: string[];
  /** Folders to keep visible (read-only) even when inside a hidden one: the server command's installation. */
  expose: string[];
}

/** Inside paths of a server's folders: /home/<name>, /run/user/<uid>, /run/ganymede/jupyter. */
export function insidePaths(user: { name: string; uid: number }): { home: string; run: string; config: string } {
  return { home: `/home/${user.name}`, run: `/run/user/${user.uid}`, config: "/run/ganymede/jupyter" };
}

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith("/") ? dir : dir + "/");

export function sandboxArgv(plan: SandboxPlan, command: string[]): string[] {
  // A folder inside another hidden or private one is hidden already (and would leave a mount point in the empty one).
  const candidates = [...new Set([...HIDDEN_READ_ONLY, ...plan.hide])];
  const hidden = candidates.filter(
    (d) => !candidates.some((other) => other !== d && under(d, other)) && ![...PRIVATE_WRITABLE, "/run"].some((p) => under(d, p)),
  );
  const exposed = plan.expose.filter((e) => [...hidden, ...PRIVATE_WRITABLE].some((h) => under(e, h)));
  const args = [
    plan.bwrap,
    // Its own process list, System V IPC and cgroup view; the network stays the machine's (pip, git, APIs).
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-cgroup-try",
    "--ro-bind", "/", "/",
    "--dev", "/dev",
    "--proc", "/proc",
    ...PRIVATE_WRITABLE.flatMap((d) => ["--tmpfs", d]),
    "--tmpfs", "/run",
    ...hidden.flatMap((d) => ["--tmpfs", d]),
    "--ro-bind", plan.passwd, "/etc/passwd",
    "--ro-bind", plan.group, "/etc/group",
    ...exposed.flatMap((d) => ["--ro-bind", d, d]),
    "--ro-bind", plan.config.outside, plan.config.inside,
    "--bind", plan.home.outside, plan.home.inside,
    "--bind", plan.run.outside, plan.run.inside,
    // The hidden folders were writable tmpfs (bwrap made the mount points in them): make them read-only.
    ...hidden.flatMap((d) => ["--remount-ro", d]),
    "--chdir", plan.home.inside,
    "--",
    ...command,
  ];
  return args;
}

function findBwrap(): string | undefined {
  return BWRAP_PATHS.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Whether bubblewrap works here: installed, and able to make its namespaces as an unprivileged user (kernels or
 * containers may forbid user namespaces). `probeAs` is the uid to try as when the hub is root (the sandbox always
 * runs after the switch to the user's uid). Synchronous: run once per factory (~10 ms).
 */
export function detectSandbox(mode: "auto" | "on" | "off", probeAs: { uid: number; gid: number } | undefined): SandboxSupport {
  if (mode === "off") return { ok: false, reason: "sandbox: off" };
  const bwrap = findBwrap();
  if (!bwrap) return { ok: false, reason: "bubblewrap is not installed (Debian package bubblewrap)" };
  const argv = [bwrap, "--unshare-pid", "--unshare-ipc", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", "/bin/true"];
  const drop = probeAs
    ? ["setpriv", `--reuid=${probeAs.uid}`, `--regid=${probeAs.gid}`, "--clear-groups", "--no-new-privs", "--"]
    : [];
  const [cmd, ...args] = [...drop, ...argv];
  const result = spawnSync(cmd!, args, { encoding: "utf8", timeout: 10_000, cwd: "/", env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" } });
  if (result.status === 0) return { ok: true, bwrap };
  const why = (result.stderr || result.error?.message || `exit ${result.status}`).trim().split("\n")[0];
  return { ok: false, reason: `bubblewrap cannot make its namespaces here: ${why}` };
}

/** The prefix of an installed command (…/venv for …/venv/bin/jupyter), kept visible in the sandbox. */
export function installationOf(executable: string): string {
  return path.dirname(path.dirname(executable));
}
