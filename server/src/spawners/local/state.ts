/**
 * What the hub persists for a running local server (no secrets: the token stays with the hub). Enough for a new hub
 * process to find the processes again (PID + start time + boot id, process group, environment marker, cgroup),
 * unmount the volume, remove the cgroup and the socket folder.
 */
import { z } from "zod";
import { storageStateSchema } from "../host-storage/storage.js";

const limitEnforcement = z.union([
  z.object({ enforced: z.literal(true), by: z.string() }),
  z.object({ enforced: z.literal(false), reason: z.string() }),
]);

export const localStateSchema = z.object({
  /** 1: before servers had identities (TCP port, root); 2: a uid, a Unix socket, maybe a sandbox. */
  version: z.union([z.literal(1), z.literal(2)]),
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  /** /proc/<pid>/stat field 22 (clock ticks after boot) and the boot it belongs to. */
  startTime: z.string(),
  bootId: z.string(),
  /** `GANYMEDE_SPAWN_ID` in every process of this server (kernels run in sessions of their own). */
  spawnId: z.string(),
  /** Version 1 only: the loopback TCP port. */
  port: z.number().int().positive().optional(),
  /** Version 2: Jupyter's Unix socket (as the hub sees it) and the folder it is in. */
  socketPath: z.string().optional(),
  socketDir: z.string().optional(),
  /** Version 2: who the server runs as (absent: the hub's own uid, with isolation: none or a hub that is not root). */
  runAs: z.object({ uid: z.number().int().positive(), gid: z.number().int().positive(), name: z.string() }).optional(),
  sandboxed: z.boolean().default(false),
  startedAt: z.string(),
  paths: z.object({
    dir: z.string(),
    workdir: z.string(),
    log: z.string(),
  }),
  storage: storageStateSchema,
  cgroup: z.object({ version: z.union([z.literal(1), z.literal(2)]), dirs: z.array(z.string()).min(1) }).nullable(),
  enforcement: z.object({
    cpu: limitEnforcement,
    memory: limitEnforcement,
    storage: limitEnforcement,
    processes: limitEnforcement.default({ enforced: false, reason: "started before process limits existed" }),
  }),
});

export type LocalState = z.infer<typeof localStateSchema>;
