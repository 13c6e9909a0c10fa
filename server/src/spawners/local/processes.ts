/**
 * Which processes belong to a server, and how they are stopped.
 *
 * With cgroups, the server's cgroup lists them all: every process joins it before exec (privileges.ts) and cannot
 * leave it (moving needs write access to another group's cgroup.procs, which is root's). That is one small file per
 * check, whatever else runs on the machine.
 *
 * Without cgroups, Jupyter's kernels run in sessions (and process groups) of their own, so a process belongs to the
 * server when it carries the server's `GANYMEDE_SPAWN_ID` in its environment (inherited by every descendant), or
 * shares a process group with such a process, or descends from one. That needs the whole process table, so a stop
 * looks at it only to find the processes and, once they seem gone, to make sure no child appeared meanwhile; in
 * between it checks just the processes it knows (follow()). Whole-table looks are shared by every stop in flight
 * (process-table.ts): a thousand servers stopping at once cost a few scans, not a thousand per tick. The start time
 * read from /proc keeps a reused PID from being mistaken for ours.
 */
import { cgroupPids, killCgroup, type Cgroup } from "./cgroups.js";
import { readdir, readFile } from "node:fs/promises";
import { bootId, isGone, readStat, signal, type ProcStat } from "./proc.js";
import { processTable, type ProcessTable } from "./process-table.js";

export interface ProcessTarget {
  pid: number;
  pgid: number;
  startTime: string;
  bootId: string;
  spawnId: string;
  cgroup: Cgroup | null;
  /** Runs in a sandbox with a PID namespace of its own (see follow()). */
  sandboxed?: boolean;
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
  if (t.cgroup) {
    const stats = await Promise.all((await cgroupPids(t.cgroup)).map((pid) => readStat(pid)));
    return stats.filter((s): s is ProcStat => s !== undefined && live(s));
  }
  return membersIn(await processTable(), t);
}

/**
 * Follows one server's processes through a stop: each call returns those still alive. With a cgroup that is the
 * group's list; without one, the processes found by a whole-table look, checked one by one until none is left, when
 * another whole-table look confirms it (or finds children started meanwhile, and following goes on).
 */
export function follow(t: ProcessTarget): () => Promise<ProcStat[]> {
  if (t.sandboxed && !t.cgroup) return followSandboxed(t);
  let known: ProcStat[] = [];
  return async () => {
    if (t.cgroup || t.bootId !== bootId()) return members(t);
    known = await stillRunning(known);
    if (known.length === 0) known = await members(t);
    return known;
  };
}

/**
 * A sandboxed server's processes, without cgroups and without scanning the process table: its main process (the
 * sandbox) and that process's descendants, found through /proc/<pid>/task/<tid>/children. Nothing can hide from
 * that walk: inside the sandbox's PID namespace orphans are adopted by the namespace's init (bubblewrap, a child of
 * the main process), and when that init is gone the kernel has killed every process of the namespace. So once the
 * processes found at the first look are gone, all are — unless that look came so early in a start that the init
 * was not there yet, when a whole-table look makes sure.
 */
function followSandboxed(t: ProcessTarget): () => Promise<ProcStat[]> {
  let known: ProcStat[] | undefined;
  let sawInit = false;
  return async () => {
    if (t.bootId !== bootId()) return [];
    if (known === undefined) {
      known = await treeOf(t);
      sawInit = known.length > 1;
      // The main process already gone (its user may kill it): what it left behind is found by spawn id.
      if (known.length === 0) known = await members(t);
      return known;
    }
    known = await stillRunning(known);
    if (known.length === 0 && !sawInit) known = await members(t);
    return known;
  };
}

/** `now` when it is still the process `k` (same start time, alive), else undefined. */
function sameProcess(k: { startTime: string }, now: ProcStat | undefined): ProcStat | undefined {
  return now && now.startTime === k.startTime && live(now) ? now : undefined;
}

/** The processes of `known` still running, as they are now. */
async function stillRunning(known: ProcStat[]): Promise<ProcStat[]> {
  const now = await Promise.all(known.map(async (k) => sameProcess(k, await readStat(k.pid))));
  return now.filter((s): s is ProcStat => s !== undefined);
}

/** The main process (if it is still the server's) and all its descendants. */
async function treeOf(t: ProcessTarget): Promise<ProcStat[]> {
  const main = sameProcess(t, await readStat(t.pid));
  if (!main) return [];
  const found = [main];
  for (let i = 0; i < found.length; i++) {
    for (const pid of await childrenOf(found[i]!.pid)) {
      const s = await readStat(pid);
      if (s && live(s)) found.push(s);
    }
  }
  return found;
}

/** Direct children of a process: the union of its threads' children files. */
async function childrenOf(pid: number): Promise<number[]> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch (err) {
    if (isGone(err)) return [];
    throw err;
  }
  const lists = await Promise.all(
    tids.map((tid) =>
      readFile(`/proc/${pid}/task/${tid}/children`, "utf8").catch((err: unknown) => {
        if (isGone(err)) return "";
        throw err;
      }),
    ),
  );
  return lists.flatMap((l) => l.split(" ").filter(Boolean).map(Number));
}

/** The server's processes in a snapshot of the process table (servers without cgroups). */
export function membersIn(table: ProcessTable, t: ProcessTarget): ProcStat[] {
  const started = Number(t.startTime);
  // A server's processes cannot be older than its main process.
  const candidates = table.processes.filter((s) => live(s) && Number(s.startTime) >= started);
  const proven = new Map<number, ProcStat>();
  for (const s of candidates) {
    const isMain = s.pid === t.pid && s.startTime === t.startTime;
    if (isMain || table.spawnIdOf(s) === t.spawnId) proven.set(s.pid, s);
  }
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

/** How long SIGKILLed processes may take to disappear before a stop gives up. */
export const KILL_WAIT_MS = 10_000;
/** How often a stop looks again. */
const TICK_MS = 50;

/** What terminate() needs of the machine (real processes by default; tests drive it with a scripted neighbour). */
export interface ProcessControl {
  /** A function that returns the server's live processes each time it is called (see follow()). */
  follow(t: ProcessTarget): () => Promise<ProcStat[]>;
  mainAlive(t: ProcessTarget): Promise<boolean>;
  signal(pid: number, sig: NodeJS.Signals): void;
  killCgroup(cgroup: Cgroup): Promise<boolean>;
}

const machine: ProcessControl = { follow, mainAlive, signal, killCgroup };

/**
 * Stops every process of the server: SIGTERM to the server's process group (Jupyter then shuts its kernels down),
 * up to `graceMs` for all of them to exit, then SIGKILL to whatever is left, including kernels in other sessions.
 * Resolves once none is left; rejects, naming them, when some are still there `KILL_WAIT_MS` after SIGKILL. Whether
 * any is left is always decided by a look taken after the deadline, so processes that exit just as time runs out
 * are a success, not a failure with an empty list.
 */
export async function terminate(t: ProcessTarget, graceMs: number, control: ProcessControl = machine, killWaitMs = KILL_WAIT_MS): Promise<void> {
  const look = control.follow(t);
  // Find the processes before signalling: once the main process is gone its children are harder to tell apart.
  if ((await look()).length === 0) return;
  if (graceMs > 0 && (await control.mainAlive(t))) {
    control.signal(-t.pgid, "SIGTERM");
    if ((await waitGone(t, look, graceMs, control, false)).length === 0) return;
  }
  const left = await waitGone(t, look, killWaitMs, control, true);
  if (left.length > 0) {
    throw new Error(`server processes ${left.map((p) => p.pid).join(", ")} did not exit ${killWaitMs / 1000} s after SIGKILL`);
  }
}

/** Looks every tick until the server has no process or `ms` have passed (SIGKILLing what is left when `kill`). */
async function waitGone(t: ProcessTarget, look: () => Promise<ProcStat[]>, ms: number, control: ProcessControl, kill: boolean): Promise<ProcStat[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const expired = Date.now() >= deadline;
    const left = await look();
    if (left.length === 0 || expired) return left;
    if (kill) {
      if (t.cgroup) await control.killCgroup(t.cgroup);
      if (await control.mainAlive(t)) control.signal(-t.pgid, "SIGKILL");
      for (const p of left) control.signal(p.pid, "SIGKILL");
    }
    await sleep(TICK_MS);
  }
}

/** Kills every process in a group left over from an earlier, forgotten start. Returns how many there were. */
export async function killCgroupMembers(cgroup: Cgroup): Promise<number> {
  const first = await cgroupPids(cgroup);
  if (first.length === 0) return 0;
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    const pids = await cgroupPids(cgroup);
    if (pids.length === 0) return first.length;
    if (Date.now() >= deadline) throw new Error(`processes ${pids.join(", ")} in ${cgroup.dirs[0]} did not exit after SIGKILL`);
    await killCgroup(cgroup);
    for (const pid of pids) signal(pid, "SIGKILL");
    await sleep(TICK_MS);
  }
}
