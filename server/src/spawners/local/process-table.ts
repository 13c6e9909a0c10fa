/**
 * One snapshot of the machine's process table, shared by everything that needs it at about the same moment: stops in
 * flight all get the same scan (one at a time, reused for MAX_AGE_MS after it finished). Each process's
 * `GANYMEDE_SPAWN_ID` is read from its environment once in its life (a process's initial environment never changes),
 * so a tick costs one readdir and one stat read per process, not one per process per stopping server.
 */
import { readFile } from "node:fs/promises";
import { mapLimit } from "../../lib/map-limit.js";
import { isGone, listProcesses, PROC_READS_IN_FLIGHT, type ProcStat } from "./proc.js";

/** Set in every server process's environment (and so in every descendant's): the id of the start it belongs to. */
export const SPAWN_ID_VAR = "GANYMEDE_SPAWN_ID";

export interface ProcessTable {
  processes: ProcStat[];
  /** The process's GANYMEDE_SPAWN_ID, or undefined when it has none (or its environment cannot be read). */
  spawnIdOf(s: ProcStat): string | undefined;
}

const MAX_AGE_MS = 40;

/** The scan under way, if any: every caller meanwhile gets its result (never two scans at once). */
let scanning: Promise<ProcessTable> | undefined;
/** The last finished scan and when it finished. */
let last: { at: number; table: ProcessTable } | undefined;
/** Spawn ids by "pid:starttime", kept while the process lives. */
let known = new Map<string, string | undefined>();

/** A table at most MAX_AGE_MS old (counted from when its scan finished), or the one being taken. */
export function processTable(): Promise<ProcessTable> {
  if (last && performance.now() - last.at < MAX_AGE_MS) return Promise.resolve(last.table);
  scanning ??= scan()
    .then((table) => ((last = { at: performance.now(), table }), table))
    .finally(() => (scanning = undefined));
  return scanning;
}

async function scan(): Promise<ProcessTable> {
  const processes = await listProcesses();
  const next = new Map<string, string | undefined>();
  await mapLimit(processes, PROC_READS_IN_FLIGHT, async (s) => {
    const key = `${s.pid}:${s.startTime}`;
    next.set(key, known.has(key) ? known.get(key) : await spawnIdFromEnviron(s.pid));
  });
  known = next; // processes that are gone are forgotten
  return { processes, spawnIdOf: (s) => next.get(`${s.pid}:${s.startTime}`) };
}

async function spawnIdFromEnviron(pid: number): Promise<string | undefined> {
  const marker = `${SPAWN_ID_VAR}=`;
  try {
    const entry = (await readFile(`/proc/${pid}/environ`, "latin1")).split("\0").find((e) => e.startsWith(marker));
    return entry?.slice(marker.length);
  } catch (err) {
    // Gone, or not readable even by root (a non-dumpable process: never a server's, which run with no_new_privs).
    const code = (err as NodeJS.ErrnoException).code;
    if (isGone(err) || code === "EACCES" || code === "EPERM") return undefined;
    throw err;
  }
}
