/**
 * CPU, memory and process-count limits through cgroups: v2 when a cgroup2 mount has the memory and cpu controllers
 * and is writable, else v1 (separate `memory`, `cpu` and `pids` hierarchies), else none. One group per server,
 * `<hierarchy>/<parent>/<name>`; the server enters it before exec (privileges.ts), so every process it starts
 * (kernels included) is accounted, limited, and can be found again to be killed. The pids limit is what stops a
 * fork bomb: without it one server could take every PID of the machine.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { LimitEnforcement, ServerLimits } from "../types.js";
import { readMountsSync } from "../host-storage/mounts.js";

export type CgroupSupport =
  | { available: true; version: 2; root: string; pids: boolean }
  | { available: true; version: 1; memoryRoot: string; cpuRoot: string; pidsRoot?: string }
  | { available: false; reason: string };

/** A server's group: `dirs[0]` holds the memory controller (v1: one directory per hierarchy: memory, cpu, pids). */
export interface Cgroup {
  version: 1 | 2;
  dirs: string[];
}

/** CFS period used for CPU quotas (100 ms, the kernel's default). */
const CPU_PERIOD_US = 100_000;

function writable(p: string): boolean {
  try {
    accessSync(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds a usable cgroup hierarchy on this machine (synchronous: run once per factory). */
export function detectCgroups(): CgroupSupport {
  let mounts;
  try {
    mounts = readMountsSync();
  } catch (err) {
    return { available: false, reason: `cannot read the mount table: ${(err as Error).message}` };
  }
  const problems: string[] = [];
  for (const m of mounts.filter((e) => e.fsType === "cgroup2")) {
    let controllers: string[] = [];
    try {
      controllers = readFileSync(path.join(m.mountPoint, "cgroup.controllers"), "utf8").trim().split(/\s+/);
    } catch {
      // unreadable: treated as no controllers
    }
    if (!controllers.includes("memory") || !controllers.includes("cpu")) {
      problems.push(`cgroup v2 at ${m.mountPoint} has no memory/cpu controllers`);
    } else if (!writable(path.join(m.mountPoint, "cgroup.subtree_control"))) {
      problems.push(`cgroup v2 at ${m.mountPoint} is not writable`);
    } else {
      return { available: true, version: 2, root: m.mountPoint, pids: controllers.includes("pids") };
    }
  }
  const v1 = mounts.filter((e) => e.fsType === "cgroup");
  const memory = v1.find((e) => e.superOptions.includes("memory"));
  const cpu = v1.find((e) => e.superOptions.includes("cpu"));
  const pids = v1.find((e) => e.superOptions.includes("pids") && writable(e.mountPoint));
  if (!memory || !cpu) {
    problems.push("no cgroup v1 memory and cpu hierarchies");
  } else if (!writable(memory.mountPoint) || !writable(cpu.mountPoint)) {
    problems.push(`cgroup v1 hierarchies ${memory.mountPoint}, ${cpu.mountPoint} are not writable`);
  } else {
    return { available: true, version: 1, memoryRoot: memory.mountPoint, cpuRoot: cpu.mountPoint, pidsRoot: pids?.mountPoint };
  }
  return { available: false, reason: problems.join("; ") };
}

/** The directories a server's group would have, whether it exists or not. */
export function cgroupFor(support: CgroupSupport & { available: true }, parent: string, name: string): Cgroup {
  if (support.version === 2) return { version: 2, dirs: [path.join(support.root, parent, name)] };
  const roots = [support.memoryRoot, support.cpuRoot, ...(support.pidsRoot ? [support.pidsRoot] : [])];
  const dirs = roots.map((root) => path.join(root, parent, name));
  return { version: 1, dirs: [...new Set(dirs)] };
}

async function write(file: string, value: string): Promise<void> {
  await writeFile(file, value);
}

async function tryWrite(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch {
    // optional knob (e.g. swap accounting disabled): the main limit still applies
  }
}

function formatBytes(n: number): string {
  return n % 2 ** 30 === 0 ? `${n / 2 ** 30} GiB` : `${Math.round(n / 2 ** 20)} MiB`;
}

export interface CgroupEnforcement {
  cpu: LimitEnforcement;
  memory: LimitEnforcement;
  processes: LimitEnforcement;
}

/**
 * Creates the group (or reuses a leftover one) and writes the limits. Returns how each limit is enforced.
 * Limits that are not positive finite numbers are left unlimited.
 */
export async function setupCgroup(
  cgroup: Cgroup,
  limits: Pick<ServerLimits, "cpu" | "memoryBytes">,
  pidsLimit: number,
): Promise<CgroupEnforcement> {
  const positive = (n: number): boolean => Number.isFinite(n) && n > 0;
  const memoryBytes = positive(limits.memoryBytes) ? Math.floor(limits.memoryBytes) : 0;
  const quota = positive(limits.cpu) ? Math.max(1000, Math.round(limits.cpu * CPU_PERIOD_US)) : 0;
  const dir = cgroup.dirs[0]!;
  if (cgroup.version === 2) {
    // Controllers must be enabled on every ancestor's subtree_control (the hierarchy root and the parent group).
    const parent = path.dirname(dir);
    const controllers = (await readFile(path.join(path.dirname(parent), "cgroup.controllers"), "utf8")).includes("pids")
      ? "+memory +cpu +pids"
      : "+memory +cpu";
    await mkdir(parent, { recursive: true });
    await write(path.join(path.dirname(parent), "cgroup.subtree_control"), controllers);
    await write(path.join(parent, "cgroup.subtree_control"), controllers);
    await mkdir(dir, { recursive: true });
    await write(path.join(dir, "memory.max"), memoryBytes ? String(memoryBytes) : "max");
    if (memoryBytes) await tryWrite(path.join(dir, "memory.swap.max"), "0");
    await write(path.join(dir, "cpu.max"), `${quota || "max"} ${CPU_PERIOD_US}`);
  } else {
    for (const d of cgroup.dirs) await mkdir(d, { recursive: true });
    const cpuDir = cgroup.dirs[1] ?? dir;
    // memsw must stay ≥ the memory limit: lift it first, then set both (no swap beyond the memory limit).
    await tryWrite(path.join(dir, "memory.memsw.limit_in_bytes"), "-1");
    await write(path.join(dir, "memory.limit_in_bytes"), memoryBytes ? String(memoryBytes) : "-1");
    if (memoryBytes) await tryWrite(path.join(dir, "memory.memsw.limit_in_bytes"), String(memoryBytes));
    await write(path.join(cpuDir, "cpu.cfs_period_us"), String(CPU_PERIOD_US));
    await write(path.join(cpuDir, "cpu.cfs_quota_us"), quota ? String(quota) : "-1");
  }
  // v2: the group's own pids.max; v1: the directory in the pids hierarchy, when there is one.
  const pidsDir = cgroup.dirs.find((d) => existsSync(path.join(d, "pids.max")));
  if (pidsDir) await write(path.join(pidsDir, "pids.max"), String(pidsLimit));
  const [cpuFile, memoryFile] =
    cgroup.version === 2 ? ["cpu.max", "memory.max"] : ["cpu.cfs_quota_us", "memory.limit_in_bytes"];
  const v = `cgroup v${cgroup.version}`;
  return {
    cpu: quota
      ? { enforced: true, by: `${v} ${cpuFile} (${quota / CPU_PERIOD_US} CPU)` }
      : { enforced: false, reason: "no CPU limit granted" },
    memory: memoryBytes
      ? { enforced: true, by: `${v} ${memoryFile} (${formatBytes(memoryBytes)})` }
      : { enforced: false, reason: "no memory limit granted" },
    processes: pidsDir
      ? { enforced: true, by: `${v} pids.max (${pidsLimit} processes and threads)` }
      : { enforced: false, reason: "this machine's cgroups have no pids controller" },
  };
}

/** PIDs in the group (empty when it does not exist). */
export async function cgroupPids(cgroup: Cgroup): Promise<number[]> {
  const pids = new Set<number>();
  for (const d of cgroup.dirs) {
    try {
      for (const line of (await readFile(path.join(d, "cgroup.procs"), "utf8")).split("\n")) {
        if (/^\d+$/.test(line)) pids.add(Number(line));
      }
    } catch {
      // no such group
    }
  }
  return [...pids];
}

/** Kills everything in a v2 group at once (cgroup.kill, Linux ≥ 5.14); false when unsupported. */
export async function killCgroup(cgroup: Cgroup): Promise<boolean> {
  if (cgroup.version !== 2) return false;
  try {
    await writeFile(path.join(cgroup.dirs[0]!, "cgroup.kill"), "1");
    return true;
  } catch {
    return false;
  }
}

/** Removes the group's directories; they must be empty of processes. Missing groups are fine. */
export async function removeCgroup(cgroup: Cgroup): Promise<void> {
  for (const d of cgroup.dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(d);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        // Exiting tasks may linger a moment after their last signal.
        if (code === "EBUSY" && attempt < 20) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new Error(`cannot remove cgroup ${d}: ${(err as Error).message}`);
      }
    }
  }
}
