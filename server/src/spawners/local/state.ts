/**
 * What the hub persists for a running local server (no secrets: the token stays with the hub). Enough for a new hub
 * process to find the processes again (PID + start time + boot id, process group, environment marker, cgroup),
 * unmount the volume and remove the cgroup.
 */
import { z } from "zod";

const limitEnforcement = z.union([
  z.object({ enforced: z.literal(true), by: z.string() }),
  z.object({ enforced: z.literal(false), reason: z.string() }),
]);

/** A size-limited ext4 image the hub loop-mounts as a server's storage (local directories and Docker volumes alike). */
export const loopStorageStateSchema = z.object({
  kind: z.literal("loop"),
  image: z.string(),
  mountPoint: z.string(),
  /** The loop device at start, for diagnostics ("/dev/loop3"); it detaches itself on unmount. */
  device: z.string(),
  sizeBytes: z.number(),
});

export const localStateSchema = z.object({
  version: z.literal(1),
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  /** /proc/<pid>/stat field 22 (clock ticks after boot) and the boot it belongs to. */
  startTime: z.string(),
  bootId: z.string(),
  /** `GANYMEDE_SPAWN_ID` in every process of this server (kernels run in sessions of their own). */
  spawnId: z.string(),
  port: z.number().int().positive(),
  startedAt: z.string(),
  paths: z.object({
    dir: z.string(),
    workdir: z.string(),
    log: z.string(),
  }),
  storage: z.discriminatedUnion("kind", [z.object({ kind: z.literal("directory") }), loopStorageStateSchema]),
  cgroup: z.object({ version: z.union([z.literal(1), z.literal(2)]), dirs: z.array(z.string()).min(1) }).nullable(),
  enforcement: z.object({ cpu: limitEnforcement, memory: limitEnforcement, storage: limitEnforcement }),
});

export type LocalState = z.infer<typeof localStateSchema>;
