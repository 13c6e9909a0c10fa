/** Reading Linux's /proc: process start times (to survive PID reuse), the process list, and signalling. */
import { readFile, readdir } from "node:fs/promises";
import { mapLimit } from "../../lib/map-limit.js";
import { readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie), … */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks after boot; with the boot id it identifies a process for good. */
  startTime: string;
}

let cachedBootId: string | undefined;

/** This boot's random id: a start time from an earlier boot never matches. */
export function bootId(): string {
  cachedBootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  return cachedBootId;
}

export function parseStat(text: string): Omit<ProcStat, "pid"> | undefined {
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state); field N is fields[N - 3].
  const [state, ppid, pgrp, session, startTime] = [fields[0], fields[1], fields[2], fields[3], fields[19]];
  if (state === undefined || ppid === undefined || pgrp === undefined || session === undefined || !startTime) {
    return undefined;
  }
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session), startTime };
}

/** Errors that mean "no such process (any more)"; any other (EMFILE, EACCES…) is a real failure, not an answer. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ESRCH";
}

/** The process's stat, or undefined when there is no such process; throws when /proc cannot be read. */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const parsed = parseStat(await readFile(`/proc/${pid}/stat`, "utf8"));
    return parsed && { pid, ...parsed };
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** How many /proc files are read at once. */
export const PROC_READS_IN_FLIGHT = 64;

/** Every process visible in /proc (zombies included). */
export async function listProcesses(): Promise<ProcStat[]> {
  const pids = (await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number);
  const stats = await mapLimit(pids, PROC_READS_IN_FLIGHT, readStat);
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/** Sends a signal, ignoring processes that are already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  // Never the hub itself, init, or "every process" (-1 / 0).
  if (pid === process.pid || pid === 1 || pid === 0 || pid === -1 || pid === -process.pid) return;
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
