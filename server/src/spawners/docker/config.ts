/** The `spawner.docker` section: servers as containers of a Docker engine. */
import { z } from "zod";
import { imageServerFields, nonRootId } from "../image-server-config.js";

export const dockerSpawnerConfig = z
  .object({
    socketPath: z
      .string()
      .default("/var/run/docker.sock")
      .describe("The Docker engine's API socket, used by the hub only (no server ever gets it). With size-limited volumes the engine must run on the hub's machine (the hub loop-mounts their images for the engine)."),
    image: z
      .string()
      .min(1)
      .optional()
      .describe("The image of servers not launched from a Binder build (required with backend: docker). It runs as a non-root user with `jupyter` on PATH; a missing image is pulled."),
    ...imageServerFields,
    network: z
      .string()
      .min(1)
      .default("ganymede")
      .describe("The servers' network; created if missing as a bridge without inter-container traffic. Each server is published on a random port of the host's 127.0.0.1 only, for the hub's proxy."),
    namePrefix: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/)
      .default("ganymede")
      .describe("Containers and volumes are named <prefix>-<user>[--<server>]; hubs sharing an engine need different prefixes."),
    storage: z
      .enum(["auto", "loop", "volume"])
      .default("auto")
      .describe("`loop`: each server's named volume is bound to a size-limited ext4 image the hub loop-mounts (root on the engine's machine); `volume`: plain named volumes, usage measured but not limited (the local volume driver limits size only on xfs with quotas); `auto`: loop when possible."),
    uid: nonRootId("uid")
      .default(1000)
      .describe("The uid every server's container runs as (its User, whatever the image says), and the owner of the root of its volume (mode 0700). 1000 is `jovyan`, who owns the home folder and the Python environment in the images Ganymede builds, as in repo2docker, the Jupyter Docker stacks and zero-to-jupyterhub's singleuser default (uid 1000). Never 0: a server does not run as root."),
    gid: nonRootId("gid")
      .default(1000)
      .describe("The container's group, its only one (no supplementary groups), and the group of its volume's root. 1000 is jovyan's group in the images Ganymede builds. Never 0 (root's group)."),
  })
  .strict()
  .prefault({});

export type DockerSpawnerConfig = z.output<typeof dockerSpawnerConfig>;
