/**
 * Assembles Binder launches from the configuration: the chosen build backend (builder.backend), the registry, the
 * build service with the site's Dockerfile options, and the launcher. Loaded only when builder.enabled (a dynamic
 * import from hub/start.ts), so a hub without Binder never loads a build backend.
 */
import type { z } from "zod";
import { BUILD_BACKENDS, type BuildBackendEntry } from "../builder/build/backends.js";
import { BuildService, RegistryClient } from "../builder/build/index.js";
import { dockerfileOptions } from "../builder/buildpacks/options.js";
import type { HubConfig } from "../config/schema.js";
import type { Logger } from "../lib/logger.js";
import type { PolicyEngine } from "../policy/index.js";
import type { Servers } from "../servers/service.js";
import type { Users } from "../users/service.js";
import { BinderLauncher } from "./launcher.js";

export async function createBinderLauncher(
  config: HubConfig,
  deps: { servers: Servers; users: Users; policy: PolicyEngine; logger: Logger },
): Promise<BinderLauncher> {
  const builder = config.builder;
  if (!builder.registry) throw new Error("builder.enabled needs builder.registry (the config schema checks this)");
  const registry = new RegistryClient(builder.registry);
  const logger = deps.logger.child({ component: "builder" });
  const chosen: BuildBackendEntry<z.ZodType> = BUILD_BACKENDS[builder.backend];
  const backend = await chosen.load(builder[builder.backend], { registry, logger });
  const images = new BuildService({
    backend,
    maxConcurrentBuilds: builder.maxConcurrentBuilds,
    dockerfile: dockerfileOptions({
      baseImage: builder.baseImage,
      basePython: builder.basePython,
      pythonImages: builder.pythonImages,
      condaBaseImage: builder.condaBaseImage,
      jupyterPackages: builder.jupyterPackages,
      pipIndexUrl: builder.pipIndexUrl,
    }),
    imagePrefix: `${new URL(builder.registry.url).host}/${builder.imagePrefix}`,
    rules: { allowHttp: builder.allowHttp, allowPrivateHosts: false },
    logger,
  });
  return new BinderLauncher({ ...deps, config: builder, images, logger });
}
