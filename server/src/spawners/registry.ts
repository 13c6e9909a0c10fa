/**
 * Every spawner backend, by the name `spawner.backend` chooses it with: its configuration section (`spawner.<name>`,
 * validated with the rest of the configuration), what it can do, and how to load it. Only the chosen backend's code
 * is loaded (dockerode or the Kubernetes client stay out of a hub that does not use them). A new backend is a folder
 * under spawners/ plus one line here.
 */
import path from "node:path";
import type { z } from "zod";
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/database.js";
import { dockerSpawnerConfig } from "./docker/config.js";
import { kubernetesSpawnerConfig } from "./kubernetes/config.js";
import { localSpawnerConfig } from "./local/config.js";
import type { SpawnerFactory } from "./types.js";

/** What every backend is given besides its own section. */
export interface SpawnerSettings {
  /** The hub's data directory (hub.dataDir). */
  dataDir: string;
  /** Milliseconds between the polite stop and the forced one (spawner.stopGrace). */
  stopGraceMs: number;
  /** Most processes and threads per server (spawner.pidsLimit). */
  pidsLimit: number;
  db: Db;
  logger: Logger;
}

export interface SpawnerBackend<Section extends z.ZodType> {
  /** The `spawner.<name>` section. */
  config: Section;
  /** Whether it runs container images: Binder launches need such a backend. */
  runsImages: boolean;
  /** What the section lacks for this backend to be chosen (checked only when it is): `[path, message]` pairs. */
  requirements?(section: z.output<Section>): Array<[string, string]>;
  load(section: z.output<Section>, settings: SpawnerSettings): Promise<SpawnerFactory>;
}

const backend = <Section extends z.ZodType>(b: SpawnerBackend<Section>): SpawnerBackend<Section> => b;

/** Where local servers' folders live, in the data directory. */
export const localServersRoot = (dataDir: string): string => path.join(dataDir, "servers");

export const SPAWNER_BACKENDS = {
  local: backend({
    config: localSpawnerConfig,
    runsImages: false,
    load: async ({ uids, ...section }, s) =>
      (await import("./local/index.js")).createLocalSpawnerFactory({
        ...section,
        rootDir: localServersRoot(s.dataDir),
        hide: [s.dataDir],
        uids: new (await import("../users/unix-identities.js")).UnixIdentities(s.db, uids),
        pidsLimit: s.pidsLimit,
        stopGraceMs: s.stopGraceMs,
        logger: s.logger,
      }),
  }),
  docker: backend({
    config: dockerSpawnerConfig,
    runsImages: true,
    requirements: (section) => (section.image ? [] : [["image", "backend: docker needs spawner.docker.image (the image of servers)"]]),
    load: async (section, s) =>
      (await import("./docker/index.js")).createDockerSpawnerFactory({
        ...section,
        storageRoot: path.join(s.dataDir, "docker-storage"),
        stopGraceMs: s.stopGraceMs,
        pidsLimit: s.pidsLimit,
        logger: s.logger,
      }),
  }),
  kubernetes: backend({
    config: kubernetesSpawnerConfig,
    runsImages: true,
    requirements: (section) => (section.image ? [] : [["image", "backend: kubernetes needs spawner.kubernetes.image (the image of servers)"]]),
    load: async (section, s) =>
      (await import("./kubernetes/index.js")).createKubernetesSpawnerFactory({ ...section, stopGraceMs: s.stopGraceMs, logger: s.logger }),
  }),
};

export type SpawnerBackendName = keyof typeof SPAWNER_BACKENDS;
export const SPAWNER_BACKEND_NAMES = Object.keys(SPAWNER_BACKENDS) as [SpawnerBackendName, ...SpawnerBackendName[]];

/** The `spawner.<name>` sections, one per backend, for the configuration schema. */
export const spawnerSections = Object.fromEntries(
  Object.entries(SPAWNER_BACKENDS).map(([name, b]) => [name, b.config]),
) as { [Name in SpawnerBackendName]: (typeof SPAWNER_BACKENDS)[Name]["config"] };
