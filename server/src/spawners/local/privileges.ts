/**
 * The first instants of a server process, as one argv: a tiny shell (still root) moves itself into the server's
 * cgroups, sets a private umask, and execs setpriv (util-linux), which switches to the user's uid and gid, drops
 * every supplementary group and capability (bounding set included) and sets no_new_privs, so that nothing the user
 * runs — setuid programs, sudo, file capabilities — can ever gain privileges back. Then the sandbox, if any, then
 * Jupyter. Every step is an exec, so the PID the hub recorded stays the server's.
 *
 * Joining the cgroup has to happen before the switch (the user cannot write cgroup.procs) and before anything can
 * fork: that is why it is not done by the hub after spawn().
 */
import { accessSync, constants } from "node:fs";

export const SETPRIV = "/usr/bin/setpriv";

const SCRIPT = 'for f do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; umask 077; exec "$@"';

export interface LaunchPlan {
  /** cgroup.procs files to join (empty: no cgroups). */
  cgroupProcs: string[];
  /** The identity to switch to; undefined when the hub cannot switch (not root) or must not (isolation: none). */
  switchTo?: { uid: number; gid: number };
  /** What to exec last: the sandbox's argv ending in the command, or the command itself. */
  command: string[];
}

export function launchArgv(plan: LaunchPlan): string[] {
  const drop = plan.switchTo
    ? [
        SETPRIV,
        `--reuid=${plan.switchTo.uid}`,
        `--regid=${plan.switchTo.gid}`,
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
      ]
    : [];
  return ["/bin/sh", "-c", SCRIPT, "ganymede-launch", ...plan.cgroupProcs, "--", ...drop, ...plan.command];
}

/** Why the hub cannot switch identities, or undefined when it can. */
export function cannotSwitchUsers(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `the hub runs as uid ${uid ?? "unknown"}, not root, so it cannot start servers under other uids`;
  try {
    accessSync(SETPRIV, constants.X_OK);
  } catch {
    return `${SETPRIV} is missing (Debian package util-linux)`;
  }
  return undefined;
}
