/**
 * Choosing and preparing a server's storage: a loop volume when configured/possible, else a plain directory.
 * A server keeps the kind it started with: an existing volume image is always mounted (never silently replaced by
 * an empty directory), and files already in a plain directory are never hidden under a new volume.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { SpawnError } from "../../errors.js";
import type { LimitEnforcement } from "../types.js";
import type { ServerLayout } from "./layout.js";
import { z } from "zod";
import { directoryUsage } from "./usage.js";
import { isMountPoint } from "./mounts.js";
import { formatSize, mountVolume, mountedUsage, prepareVolume, unmountVolume } from "./volume.js";

export type StorageMode = "auto" | "loop" | "directory";
export type LoopSupport = { ok: true } | { ok: false; reason: string };
/** A size-limited ext4 image the hub loop-mounts as a server's storage (local directories and Docker volumes alike). */
export const loopStorageStateSchema = z.object({
  kind: z.literal("loop"),
  image: z.string(),
  mountPoint: z.string(),
  /** The loop device at start, for diagnostics ("/dev/loop3"); it detaches itself on unmount. */
  device: z.string(),
  sizeBytes: z.number(),
});

/** A server's storage on this machine: a loop volume, or a plain directory (usage measured, not limited). */
export const storageStateSchema = z.discriminatedUnion("kind", [z.object({ kind: z.literal("directory") }), loopStorageStateSchema]);

export type StorageState = z.infer<typeof storageStateSchema>;

type Plan = { kind: "loop" } | { kind: "directory"; reason: string };

function hasFiles(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** Which storage this server gets; throws a SpawnError when the configuration cannot be honoured. */
export function planStorage(mode: StorageMode, loop: LoopSupport, layout: ServerLayout): Plan {
  const measured = "usage is measured, not limited";
  if (mode === "directory") {
    return { kind: "directory", reason: `storage is a plain directory (storage: directory); ${measured}` };
  }
  if (existsSync(layout.image)) {
    if (!loop.ok) {
      const message = `This server's files are on a volume that cannot be mounted here: ${loop.reason}.`;
      throw new SpawnError("backend", message);
    }
    return { kind: "loop" };
  }
  if (mode === "loop") {
    if (!loop.ok) {
      throw new SpawnError("backend", `storage: loop is configured but loop volumes are impossible: ${loop.reason}.`);
    }
    return { kind: "loop" };
  }
  if (hasFiles(layout.workdir)) {
    const reason = `this server's files predate volume storage and stay a plain directory; ${measured}`;
    return { kind: "directory", reason };
  }
  return loop.ok ? { kind: "loop" } : { kind: "directory", reason: `${loop.reason}; ${measured}` };
}

/** Enforcement as planned, before a start (synchronous). */
export function plannedStorageEnforcement(
  mode: StorageMode,
  loop: LoopSupport,
  layout: ServerLayout,
): LimitEnforcement {
  try {
    const plan = planStorage(mode, loop, layout);
    return plan.kind === "loop" ? { enforced: true, by: "ext4 loop volume" } : { enforced: false, reason: plan.reason };
  } catch (err) {
    return { enforced: false, reason: (err as Error).message };
  }
}

export interface PreparedStorage {
  state: StorageState;
  enforcement: LimitEnforcement;
  /** Human-readable notes (growth, fallback) for progress and logs. */
  notes: string[];
}

/** Creates/grows/mounts the volume or creates the directory. */
export async function prepareStorage(
  mode: StorageMode,
  loop: LoopSupport,
  layout: ServerLayout,
  storageBytes: number,
): Promise<PreparedStorage> {
  const plan = planStorage(mode, loop, layout);
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  if (plan.kind === "loop") {
    const fresh = !existsSync(layout.image);
    try {
      // A mount left behind by a hub that died: unmount it so the image can be checked and grown (fails if in use).
      await unmountVolume(layout.workdir);
      const vol = await prepareVolume(layout.image, storageBytes);
      const device = await mountVolume(layout.image, layout.workdir, vol.created);
      const notes: string[] = [];
      const size = formatSize(vol.sizeBytes);
      if (vol.grownFrom !== undefined) notes.push(`volume grown from ${formatSize(vol.grownFrom)} to ${size}`);
      if (vol.keptLarger) notes.push(`volume kept at ${size} (volumes never shrink)`);
      const by = `ext4 loop volume of ${size}${vol.keptLarger ? " (larger than granted: volumes never shrink)" : ""}`;
      return {
        state: { kind: "loop", image: layout.image, mountPoint: layout.workdir, device, sizeBytes: vol.sizeBytes },
        enforcement: { enforced: true, by },
        notes,
      };
    } catch (err) {
      if (mode === "loop" || !fresh) {
        throw new SpawnError("backend", `Could not prepare the storage volume: ${(err as Error).message}`);
      }
      // auto with a brand-new (empty) volume: fall back to a directory and say why.
      await unmountVolume(layout.workdir).catch(() => undefined);
      await rm(layout.image, { force: true });
      await mkdir(layout.workdir, { recursive: true });
      const reason = `loop volume failed (${(err as Error).message}); usage is measured, not limited`;
      return { state: { kind: "directory" }, enforcement: { enforced: false, reason }, notes: [reason] };
    }
  }
  await mkdir(layout.workdir, { recursive: true });
  return { state: { kind: "directory" }, enforcement: { enforced: false, reason: plan.reason }, notes: [] };
}

/**
 * Unmounts a loop volume, first noting its usage so storageUsed() can answer while it is unmounted. Returns the loop
 * device it was mounted from, if it was mounted.
 */
export async function releaseStorage(state: StorageState, layout: ServerLayout): Promise<string | undefined> {
  if (state.kind !== "loop") return undefined;
  if (await isMountPoint(state.mountPoint)) {
    const bytes = await mountedUsage(state.mountPoint);
    await writeFile(layout.usageFile, JSON.stringify({ bytes, measuredAt: new Date().toISOString() }), { mode: 0o600 });
  }
  return unmountVolume(state.mountPoint);
}

/** Bytes used: statfs of the mounted volume, the usage noted at unmount, or a walk of the plain directory. */
export async function storageUsage(layout: ServerLayout): Promise<number | undefined> {
  if (await isMountPoint(layout.workdir)) return mountedUsage(layout.workdir);
  if (existsSync(layout.image)) {
    try {
      const { bytes } = JSON.parse(await readFile(layout.usageFile, "utf8")) as { bytes?: unknown };
      return typeof bytes === "number" ? bytes : undefined;
    } catch {
      return undefined;
    }
  }
  if (existsSync(layout.workdir)) return directoryUsage(layout.workdir);
  return 0;
}
