/**
 * Which processes belong to a server, and how they are stopped.
 *
 * Jupyter starts kernels in sessions (and process groups) of their own, so killing the server's process group is not
 * enough. A process belongs to the server when it is in the server's cgroup, or carries the server's
 * `GANYMEDE_SPAWN_ID` in its environment (inherited by every descendant), or shares a process group with such a
 * process, or descends from one. The start time read from /proc keeps a reused PID from being mistaken for ours.
 */
import { bootId, hasEnv, listProcesses, readStat, signal, type ProcStat } from "./proc.js";
import { cgroupPids, killCgroup, type Cgroup } from "./cgroups.js";

export const SPAWN_ID_VAR = "GANYMEDE_SPAWN_ID";

export interface ProcessTarget {
  pid: number;
  pgid: number;
  startTime: string;
  bootId: string;
  spawnId: string;
  cgroup: Cgroup | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function live(s: ProcStat): boolean {
  return s.state !== "Z" && s.state !== "X" && s.pid > 1 && s.pid !== process.pid;
}

/** Whether the server's main process is still the one that was started (not a zombie, not a reused PID). */
export async function mainAlive(t: ProcessTarget): Promise<boolean> {
  if (t.bootId !== bootId()) return false;
  const s = await readStat(t.pid);
  return s !== undefined && s.startTime === t.startTime && live(s);
}

/** The server's live processes (see the module comment). */
export async function members(t: ProcessTarget): Promise<ProcStat[]> {
  if (t.bootId !== bootId()) return [];
  const all = (await listProcesses()).filter(live);
  const started = Number(t.startTime);
  // A server's processes cannot be older than its main process.
  const candidates = all.filter((s) => Number(s.startTime) >= started);
  const inCgroup = new Set(t.cgroup ? await cgroupPids(t.cgroup) : []);
  const marker = `${SPAWN_ID_VAR}=${t.spawnId}`;
  const proven = new Map<number, ProcStat>();
  await Promise.all(
    candidates.map(async (s) => {
      const isMain = s.pid === t.pid && s.startTime === t.startTime;
      if (isMain || inCgroup.has(s.pid) || (await hasEnv(s.pid, marker))) proven.set(s.pid, s);
    }),
  );
  // Same process group as a proven member (e.g. a child that dropped the environment variable).
  const groups = new Set([...proven.values()].map((s) => s.pgrp));
  for (const s of candidates) if (groups.has(s.pgrp)) proven.set(s.pid, s);
  // Descendants of proven members.
  const children = new Map<number, ProcStat[]>();
  for (const s of candidates) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const queue = [...proven.keys()];
  while (queue.length) {
    for (const c of children.get(queue.pop()!) ?? []) {
      if (!proven.has(c.pid)) {
        proven.set(c.pid, c);
        queue.push(c.pid);
      }
    }
  }
  return [...proven.values()];
}

/** Polls `done` every `intervalMs` until it is true or `ms` have passed; returns its last answer. */
async function waitUntil(done: () => Promise<boolean>, ms: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** How long SIGKILLed processes may take to disappear before stop() gives up. */
const KILL_WAIT_MS = 10_000;

/**
 * Stops every process of the server: SIGTERM to the server's process group (Jupyter then shuts its kernels down),
 * up to `graceMs` for all of them to exit, then SIGKILL to whatever is left, including kernels in other sessions.
 * Resolves once none is left.
 */
export async function terminate(t: ProcessTarget, graceMs: number): Promise<void> {
  if (graceMs > 0 && (await mainAlive(t))) {
    signal(-t.pgid, "SIGTERM");
    if (await waitUntil(async () => (await members(t)).length === 0, graceMs)) return;
  }
  const gone = await waitUntil(
    async () => {
      const left = await members(t);
      if (left.length === 0) return true;
      if (t.cgroup) await killCgroup(t.cgroup);
      if (await mainAlive(t)) signal(-t.pgid, "SIGKILL");
      for (const p of left) signal(p.pid, "SIGKILL");
      return false;
    },
    KILL_WAIT_MS,
  );
  if (!gone) {
    const left = await members(t);
    throw new Error(`server processes ${left.map((p) => p.pid).join(", ")} did not exit after SIGKILL`);
  }
}

/** Kills every process in a group left over from an earlier, forgotten start. Returns how many there were. */
export async function killCgroupMembers(cgroup: Cgroup): Promise<number> {
  const first = await cgroupPids(cgroup);
  if (first.length === 0) return 0;
  const gone = await waitUntil(async () => {
    const pids = await cgroupPids(cgroup);
    if (pids.length === 0) return true;
    await killCgroup(cgroup);
    for (const pid of pids) signal(pid, "SIGKILL");
    return false;
  }, KILL_WAIT_MS);
  if (!gone) throw new Error(`processes in ${cgroup.dirs[0]} did not exit after SIGKILL`);
  return first.length;
}
