/** Looking at this machine's processes and mounts from tests (Linux /proc). */
import { readFileSync, readdirSync } from "node:fs";

export interface HostProcess {
  pid: number;
  cmdline: string;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "latin1");
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return true;
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
}

/** Live processes whose environment or command line mentions `needle` (e.g. a test's unique root directory). */
export function processesMentioning(needle: string): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const pid = Number(name);
    const cmdline = read(`/proc/${pid}/cmdline`) ?? "";
    const environ = read(`/proc/${pid}/environ`) ?? "";
    if ((cmdline.includes(needle) || environ.includes(needle)) && !isZombie(pid)) {
      found.push({ pid, cmdline: cmdline.split("\0").join(" ").trim() });
    }
  }
  return found;
}

/** Live processes whose process group is `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z") pids.push(Number(name));
  }
  return pids;
}

/** Mount points at or below `dir`. */
export function mountsBelow(dir: string): string[] {
  return (read("/proc/self/mountinfo") ?? "")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((mp) => mp === dir || mp.startsWith(dir + "/"));
}

export function isAlive(pid: number): boolean {
  return read(`/proc/${pid}/stat`) !== undefined && !isZombie(pid);
}
