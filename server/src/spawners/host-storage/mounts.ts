/** The mount table of the hub's mount namespace, from /proc/self/mountinfo. */
import { readFile, readlink, stat } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { coalesce } from "../../lib/coalesce.js";

export interface MountEntry {
  /** Path of the mounted directory inside its filesystem ("/" for a whole filesystem). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    // id parent major:minor root mountpoint options [optional fields…] - fstype source superoptions
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const l = left.split(" ");
    const r = right.split(" ");
    if (l[3] === undefined || l[4] === undefined || r[0] === undefined) continue;
    entries.push({
      root: unescape(l[3]),
      mountPoint: unescape(l[4]),
      fsType: r[0],
      source: unescape(r[1] ?? ""),
      superOptions: (r[2] ?? "").split(","),
    });
  }
  return entries;
}

/**
 * The mount table as it is now: callers at the same moment share one read (the kernel writes out every mount for
 * each read, and with hundreds of servers stopping at once there are thousands of mounts and hundreds of readers).
 */
export const readMounts: () => Promise<MountEntry[]> = (() => {
  const read = coalesce(async () => parseMountinfo(await readFile("/proc/self/mountinfo", "utf8")));
  return () => read(undefined);
})();

export function readMountsSync(): MountEntry[] {
  return parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** The topmost mount at exactly `dir`, if any. */
export async function mountAt(dir: string): Promise<MountEntry | undefined> {
  return (await readMounts()).findLast((m) => m.mountPoint === dir);
}

/** Mounts at or below `dir`. */
export async function mountsUnder(dir: string): Promise<MountEntry[]> {
  return (await readMounts()).filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(dir + "/"));
}

/**
 * Whether a filesystem other than its parent's is mounted at `dir`: two stats, not a read of the mount table, which
 * holds thousands of entries with hundreds of servers and was read (and thrown away) at every look at a server's
 * storage usage. Right for the volumes the hub mounts (each its own device); a bind mount of the same filesystem
 * would not count.
 */
export async function isMountPoint(dir: string): Promise<boolean> {
  try {
    const [own, parent] = await Promise.all([stat(dir), stat(path.dirname(dir))]);
    return own.dev !== parent.dev;
  } catch {
    return false;
  }
}

/** The block device mounted at `dir` ("/dev/loop3"), from its device number in sysfs; undefined when none is. */
export async function mountedDevice(dir: string): Promise<string | undefined> {
  if (!(await isMountPoint(dir))) return undefined;
  const dev = (await stat(dir)).dev;
  // Linux's dev_t: the minor's low 8 bits, then 12 bits of major, then the minor's high bits.
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  try {
    return `/dev/${path.basename(await readlink(`/sys/dev/block/${major}:${minor}`))}`;
  } catch {
    return undefined;
  }
}
