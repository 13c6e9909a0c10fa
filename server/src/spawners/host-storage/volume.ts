/**
 * Size-limited storage: a sparse ext4 image per server, loop-mounted at the server's working directory while it runs.
 *
 * Resizing: when the granted size grows, the image is grown (offline e2fsck + resize2fs) at the next start; when it
 * shrinks, the image is kept as it is (shrinking could destroy data and fails when the files do not fit): the
 * volume size is then reported in `enforcement().storage`.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, realpath, rm, rmdir, stat, statfs, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { mapLimit } from "../../lib/map-limit.js";
import { mountAt, mountedDevice } from "./mounts.js";
import { Unmounter } from "./unmounter.js";

const run = promisify(execFile);

/** The hub's PATH may lack the sbin directories where the filesystem tools live. */
const TOOL_PATH = [process.env.PATH ?? "", "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].join(":");
const TOOL_ENV = { ...process.env, PATH: TOOL_PATH, LC_ALL: "C" };

async function tool(cmd: string, args: string[], okCodes: number[] = [0]): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env: TOOL_ENV });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stderr?: string };
    if (typeof e.code === "number" && okCodes.includes(e.code)) return "";
    const detail = (e.stderr ?? "").trim() || e.message;
    throw new Error(`${cmd} ${args.join(" ")} failed: ${detail}`);
  }
}

function findTool(name: string): boolean {
  return TOOL_PATH.split(":").some((dir) => {
    if (!dir) return false;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether loop volumes can work here (synchronous: run once per factory). */
export function loopSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: "loop volumes need the hub to run as root" };
  if (!existsSync("/dev/loop-control")) return { ok: false, reason: "no loop devices (/dev/loop-control is missing)" };
  const missing = ["mkfs.ext4", "mount", "umount", "e2fsck", "resize2fs"].filter((t) => !findTool(t));
  if (missing.length) return { ok: false, reason: `missing tools: ${missing.join(", ")}` };
  return { ok: true };
}

export function formatSize(bytes: number): string {
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

export interface PreparedVolume {
  /** Size of the image now. */
  sizeBytes: number;
  created: boolean;
  grownFrom?: number;
  /** Set when the image is larger than the granted size and was kept. */
  keptLarger?: boolean;
}

/** The smallest volume worth creating (ext4 with a journal needs a few MiB). */
const MIN_VOLUME_BYTES = 16 * 2 ** 20;

/** Creates the image, or grows an existing one to `sizeBytes`. Must be called while it is not mounted. */
export async function prepareVolume(image: string, requestedBytes: number): Promise<PreparedVolume> {
  // Whole 1 MiB units keep ext4 (and the loop device) happy.
  const sizeBytes = Math.max(MIN_VOLUME_BYTES, Math.floor(requestedBytes / 2 ** 20) * 2 ** 20);
  const current = await stat(image).then(
    (s) => s.size,
    () => undefined,
  );
  if (current === undefined) {
    try {
      // The hub's alone: a reader would have the user's whole filesystem, a writer could corrupt it for the kernel.
      await writeFile(image, "", { flag: "wx", mode: 0o600 });
      await truncate(image, sizeBytes);
      // -m 0: no blocks reserved for root, the user gets the whole size; lazy init keeps creation instant.
      await tool("mkfs.ext4", ["-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", image]);
    } catch (err) {
      await rm(image, { force: true });
      throw err;
    }
    return { sizeBytes, created: true };
  }
  // Images made by earlier versions were readable by everyone (0644).
  await chmod(image, 0o600);
  if (current < sizeBytes) {
    await truncate(image, sizeBytes);
    // resize2fs insists on a freshly checked filesystem; -p repairs only what is safe (exit 1 = fixed).
    await tool("e2fsck", ["-f", "-p", image], [1]);
    await tool("resize2fs", [image]);
    return { sizeBytes, created: false, grownFrom: current };
  }
  return { sizeBytes: current, created: false, keptLarger: current > sizeBytes };
}

/**
 * The file a loop device ("/dev/loop3") is attached to, from sysfs; undefined when it is attached to nothing. Read,
 * not asked of `losetup`: with hundreds of volumes, a process per check cost the hub more than the rest of a stop.
 */
export async function loopBackingFile(device: string): Promise<string | undefined> {
  try {
    return (await readFile(`/sys/block/${path.basename(device)}/loop/backing_file`, "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Loop devices the image is attached to ("/dev/loop3"…), from sysfs. */
export async function attachedLoopDevices(image: string): Promise<string[]> {
  const paths = new Set([image, await realpath(image).catch(() => image)]);
  const devices = (await readdir("/sys/block")).filter((name) => /^loop\d+$/.test(name)).map((name) => `/dev/${name}`);
  const backing = await mapLimit(devices, SYSFS_READS_IN_FLIGHT, loopBackingFile);
  return devices.filter((_, i) => paths.has(backing[i] ?? ""));
}

/** Waits until `device` no longer holds `image` (autoclear detaches it once its last user is gone). */
export async function waitDetached(device: string, image: string, timeoutMs: number): Promise<boolean> {
  const paths = new Set([image, await realpath(image).catch(() => image)]);
  for (const deadline = Date.now() + timeoutMs; paths.has((await loopBackingFile(device)) ?? ""); ) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** sysfs files read at once by attachedLoopDevices (see lib/map-limit.ts). */
const SYSFS_READS_IN_FLIGHT = 64;

/**
 * Mounts the image at `mountPoint` (reusing a mount that is already there). Returns the loop device.
 * Refuses when the image is still attached elsewhere: mounting one ext4 twice would corrupt it.
 */
export async function mountVolume(image: string, mountPoint: string, fresh: boolean): Promise<string> {
  await mkdir(mountPoint, { recursive: true });
  const existing = await mountAt(mountPoint);
  if (existing?.fsType === "ext4" && existing.source.startsWith("/dev/loop")) return existing.source;
  const attached = await attachedLoopDevices(image);
  if (attached.length) {
    throw new Error(`volume ${image} is still attached to ${attached.join(", ")} (busy after an earlier unmount?)`);
  }
  // nosuid/nodev: a user's files must not become setuid programs or device nodes on the hub's machine.
  await tool("mount", ["-t", "ext4", "-o", "loop,nosuid,nodev", image, mountPoint]);
  const mounted = await mountAt(mountPoint);
  if (fresh) {
    // Jupyter would list lost+found in the user's file browser; e2fsck recreates it when it needs it.
    await rmdir(path.join(mountPoint, "lost+found")).catch(() => undefined);
  }
  return mounted?.source ?? "";
}

/** Every unmount of the hub goes through one helper process (unmounter.ts). */
const unmounter = new Unmounter(TOOL_ENV);

/**
 * Unmounts `mountPoint` if something is mounted there (the loop device detaches itself: autoclear). Returns the
 * device that was mounted there, if any.
 */
export async function unmountVolume(mountPoint: string): Promise<string | undefined> {
  let device: string | undefined;
  let complaint = "";
  for (let attempt = 0; ; attempt++) {
    const mounted = await mountedDevice(mountPoint);
    if (!mounted) return device;
    device ??= mounted;
    if (attempt > 20) throw new Error(`cannot unmount ${mountPoint}: ${complaint || "still mounted"}`);
    // Processes that just died may hold the filesystem for a moment.
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
    complaint = (await unmounter.unmount(mountPoint)).message;
  }
}

/** Bytes used on a mounted filesystem (like df's "Used"). */
export async function mountedUsage(mountPoint: string): Promise<number> {
  const s = await statfs(mountPoint);
  return (s.blocks - s.bfree) * s.bsize;
}

/** Size of the filesystem mounted at `mountPoint` (excluding ext4's metadata overhead, like df's "Size"). */
export async function mountedSize(mountPoint: string): Promise<number> {
  const s = await statfs(mountPoint);
  return s.blocks * s.bsize;
}
