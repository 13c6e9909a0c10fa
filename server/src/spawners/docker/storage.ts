/**
 * A named volume per server, mounted at its home directory: kept on stop, removed by removeStorage().
 *
 * Size limits: Docker's local volume driver can cap a volume's size only on xfs with project quotas (`--opt size`),
 * not on ext4 under overlay2 as on typical hosts, and it cannot loop-mount an image itself (`o=loop` is a mount(8)
 * option, not a kernel one). So where the hub runs as root on the engine's machine (storage: auto or loop), the
 * volume is a local-driver volume bound (`type=none,o=bind`) to a size-limited ext4 image that the hub loop-mounts
 * with the local spawner's volume code (`<dataDir>/docker-storage/<user>/<server>/volume.img`, mounted at `home/`).
 * The engine fills it from the image's home folder on first use, as any empty volume; the spawner then makes its root
 * the server's uid:gid with mode 0700 at every start, whatever the kind of volume (container-files.ts). Elsewhere, or
 * with storage: volume, it is a plain volume whose usage is measured but not limited, and enforcement() says so.
 * A server keeps the kind of volume it was created with.
 */
import type Docker from "dockerode";
import { existsSync } from "node:fs";
import { access, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { SpawnError } from "../../errors.js";
import type { LimitEnforcement } from "../types.js";
import type { ServerLayout } from "../host-storage/layout.js";
import { mountsUnder } from "../host-storage/mounts.js";
import { prepareStorage, releaseStorage, storageUsage, type LoopSupport } from "../host-storage/storage.js";
import { directoryUsage } from "../host-storage/usage.js";
import { attachedLoopDevices, unmountVolume, waitDetached } from "../host-storage/volume.js";
import { hasStatus, orUndefined } from "../../engines/docker.js";
import type { DockerStorageState } from "./state.js";

export type DockerStorageMode = "auto" | "loop" | "volume";

export interface StorageTarget {
  docker: Docker;
  mode: DockerStorageMode;
  loop: LoopSupport;
  /** Where a loop-backed volume's image and mount point live (the local spawner's layout). */
  layout: ServerLayout;
  volume: string;
  labels: Record<string, string>;
}

export interface PreparedDockerStorage {
  state: DockerStorageState;
  enforcement: LimitEnforcement;
  /** Human-readable notes (growth, fallback) for progress and logs. */
  notes: string[];
  /** What this call created, so that a failed start can remove it again. */
  created: { volume: boolean; image: boolean };
}

const PLAIN =
  "a plain Docker volume: the engine's local driver limits a volume's size only on xfs with project quotas; usage is measured, not limited";

function plainReason(mode: DockerStorageMode, loop: LoopSupport): string {
  if (mode === "volume") return `${PLAIN} (storage: volume)`;
  return loop.ok ? PLAIN : `${PLAIN} (no loop-backed volume: ${loop.reason})`;
}

function isLoopBacked(volume: Docker.VolumeInspectInfo, layout: ServerLayout): boolean {
  const opts = volume.Options ?? {};
  return opts.type === "none" && opts.o === "bind" && opts.device === layout.workdir;
}

/** Enforcement as planned, before a start (synchronous: the volume's kind is guessed from the image file). */
export function plannedStorageEnforcement(mode: DockerStorageMode, loop: LoopSupport, layout: ServerLayout): LimitEnforcement {
  const loopBacked = existsSync(layout.image) || mode === "loop" || (mode === "auto" && loop.ok);
  if (!loopBacked) return { enforced: false, reason: plainReason(mode, loop) };
  return loop.ok
    ? { enforced: true, by: "ext4 loop volume behind the Docker volume" }
    : { enforced: false, reason: `the size-limited volume cannot be mounted here: ${loop.reason}` };
}

/** Creates the volume (and its ext4 image) or reuses it, and mounts a loop-backed one. */
export async function prepareDockerStorage(t: StorageTarget, storageBytes: number): Promise<PreparedDockerStorage> {
  const existing = await orUndefined(() => t.docker.getVolume(t.volume).inspect());
  if (existing && !isLoopBacked(existing, t.layout)) {
    return plainVolume(false, t);
  }
  if (!existing && (t.mode === "volume" || (t.mode === "auto" && !t.loop.ok))) {
    await createPlainVolume(t);
    return plainVolume(true, t);
  }
  if (!t.loop.ok) {
    const why = existing
      ? `This server's files are on a size-limited volume the hub cannot mount here: ${t.loop.reason}.`
      : `storage: loop is configured but loop-backed volumes are impossible: ${t.loop.reason}.`;
    throw new SpawnError("backend", why);
  }
  const freshImage = !existsSync(t.layout.image);
  let prepared;
  try {
    prepared = await prepareStorage("loop", t.loop, t.layout, storageBytes);
  } catch (err) {
    if (freshImage) await discardLayout(t.layout);
    if (t.mode === "loop" || existing) throw err;
    // auto, brand-new server: a plain volume it is, and the reason is reported.
    const reason = `${PLAIN} (the loop-backed volume failed: ${(err as Error).message})`;
    await createPlainVolume(t);
    return { state: { kind: "volume" }, enforcement: { enforced: false, reason }, notes: [reason], created: { volume: true, image: false } };
  }
  if (prepared.state.kind !== "loop") throw new Error("expected a loop volume");
  if (!existing) {
    await t.docker.createVolume({
      Name: t.volume,
      Driver: "local",
      DriverOpts: { type: "none", o: "bind", device: t.layout.workdir },
      Labels: t.labels,
    });
  }
  return { state: prepared.state, enforcement: prepared.enforcement, notes: prepared.notes, created: { volume: !existing, image: freshImage } };
}

function plainVolume(created: boolean, t: StorageTarget): PreparedDockerStorage {
  const enforcement: LimitEnforcement = { enforced: false, reason: plainReason(t.mode, t.loop) };
  return { state: { kind: "volume" }, enforcement, notes: [], created: { volume: created, image: false } };
}

async function createPlainVolume(t: StorageTarget): Promise<void> {
  await t.docker.createVolume({ Name: t.volume, Driver: "local", Labels: t.labels });
}

/**
 * After the container is gone: unmounts a loop-backed volume (noting its usage for storageUsed()), then waits until
 * the engine has released its own mount of it too (it unmounts a volume's `_data` a moment after the container is
 * removed) and the loop device has detached, so that the next start can mount the image again.
 */
export async function releaseDockerStorage(state: DockerStorageState, layout: ServerLayout): Promise<void> {
  if (state.kind !== "loop") return;
  const device = await releaseStorage(state, layout);
  // Only the device that was mounted is watched: one sysfs file per look, whatever the number of volumes.
  const devices = device ? [device] : await attachedLoopDevices(state.image);
  for (const d of devices) await waitDetached(d, state.image, 5000);
}

/** Deletes the volume and, for a loop-backed one, its image. The container must be gone. Idempotent. */
export async function removeDockerStorage(docker: Docker, layout: ServerLayout, volume: string): Promise<void> {
  await unmountVolume(layout.workdir);
  try {
    await docker.getVolume(volume).remove();
  } catch (err) {
    if (!hasStatus(err, 404)) throw err;
  }
  await discardLayout(layout);
}

/** Removes a loop-backed volume's folder (image, mount point, usage note) and the user's folder once empty. */
async function discardLayout(layout: ServerLayout): Promise<void> {
  await unmountVolume(layout.workdir);
  const mounted = await mountsUnder(layout.dir);
  if (mounted.length) throw new Error(`cannot remove ${layout.dir}: ${mounted.map((m) => m.mountPoint).join(", ")} still mounted`);
  await rm(layout.dir, { recursive: true, force: true });
  await rmdir(path.dirname(layout.dir)).catch(() => undefined);
}

/**
 * Bytes used: for a loop-backed volume what the local spawner measures (statfs while mounted, the note taken at
 * unmount otherwise); for a plain volume a walk of its folder on the engine's machine when the hub can read it.
 */
export async function dockerStorageUsage(docker: Docker, layout: ServerLayout, volume: string): Promise<number | undefined> {
  if (existsSync(layout.image)) return storageUsage(layout);
  const info = await orUndefined(() => docker.getVolume(volume).inspect());
  if (!info) return 0;
  try {
    await access(info.Mountpoint);
  } catch {
    return undefined; // the hub runs elsewhere, or without the rights to look
  }
  return directoryUsage(info.Mountpoint);
}
