/**
 * What the hub persists for a running Docker server (no secrets: the token stays with the hub, sealed): enough for a
 * new hub process to find the container again, and to unmount a loop-backed volume after it stops.
 */
import { z } from "zod";
import { loopStorageStateSchema } from "../host-storage/storage.js";

const limitEnforcement = z.union([
  z.object({ enforced: z.literal(true), by: z.string() }),
  z.object({ enforced: z.literal(false), reason: z.string() }),
]);

export const dockerStorageSchema = z.discriminatedUnion("kind", [
  /** A plain named volume of the engine's local driver: usage measured, size not limited. */
  z.object({ kind: z.literal("volume") }),
  /** A named volume bound to a size-limited ext4 image the hub loop-mounts (see storage.ts). */
  loopStorageStateSchema,
]);

export const dockerStateSchema = z.object({
  version: z.literal(1),
  containerId: z.string().min(1),
  containerName: z.string().min(1),
  volume: z.string().min(1),
  image: z.string(),
  /** The host port (on 127.0.0.1) the engine published Jupyter's port on. */
  hostPort: z.number().int().positive(),
  startedAt: z.string(),
  storage: dockerStorageSchema,
  enforcement: z.object({
    cpu: limitEnforcement,
    memory: limitEnforcement,
    storage: limitEnforcement,
    processes: limitEnforcement.default({ enforced: false, reason: "started before process limits existed" }),
  }),
});

export type DockerState = z.infer<typeof dockerStateSchema>;
export type DockerStorageState = z.infer<typeof dockerStorageSchema>;
