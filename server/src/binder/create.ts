/**
 * Assembles Binder launches from the configuration: the Docker build backend on the spawner's engine, the registry,
 * the build service with the site's Dockerfile options, and the launcher. Loaded only when builder.enabled (a dynamic
 * import from hub/start.ts), so a hub without Binder never loads dockerode.
 */
import Docker from "dockerode";
import { BuildService, DockerBuildBackend, RegistryClient } from "../builder/build/index.js";
import { dockerfileOptions } from "../builder/buildpacks/options.js";
import type { HubConfig } from "../config/schema.js";
import type { Logger } from "../lib/logger.js";
import type { PolicyEngine } from "../policy/index.js";
import type { Servers } from "../servers/service.js";
import { API_VERSION } from "../spawners/docker/engine.js";
import type { Users } from "../users/service.js";
import { BinderLauncher } from "./launcher.js";

export function createBinderLauncher(
  config: HubConfig,
  deps: { servers: Servers; users: Users; policy: PolicyEngine; logger: Logger },
): BinderLauncher {
  const builder = config.builder;
  if (!builder.registry) throw new Error("builder.enabled needs builder.registry (the config schema checks this)");
  const docker = new Docker({ socketPath: config.spawner.docker.socketPath, version: API_VERSION });
  const registry = new RegistryClient(builder.registry);
  const logger = deps.logger.child({ component: "builder" });
  const images = new BuildService({
    backend: new DockerBuildBackend({ docker, registry }),
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
