/**
 * A hub that launches repositories, with real parts: the Docker engine and a registry (support/docker.ts), the base
 * image made locally, git repositories served over HTTP (support/git-server.ts), the Docker spawner and the builder.
 * `cleanup()` removes every container, volume and network the hub made (they carry the run's name prefix).
 */
import { randomBytes } from "node:crypto";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import { ensureBaseImage, ensureTestServerImage, startDockerEngine, startRegistry, type DockerEngine } from "./docker.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { startTestHub, type TestHub, type TestHubOptions } from "./hub.js";

export interface BinderHub {
  hub: TestHub;
  /** The image non-Binder servers run (jupyter-server on the base image, user 1000). */
  serverImage: string;
  git: GitServer;
  engine: DockerEngine;
  close(): Promise<void>;
}

/** The default policy of these hubs: the shipped limits, and private hosts allowed (the git server is on 127.0.0.1). */
export const BINDER_DEFAULT_POLICY = `name: default
appliesTo: { default: true }
limits:
  namedServers: 5
  serverNameMaxLength: 20
  idleTimeout: 2h
  storage: 2GiB
  cpu: 1
  memory: 2GB
  concurrentBuilds: 2
  buildTimeout: 20m
repositories:
  privateHosts: true
`;

export async function startBinderHub(
  options: { policies?: Record<string, string>; command?: string[]; builder?: Record<string, unknown>; logLines?: string[] } = {},
): Promise<BinderHub> {
  const prefix = `gbind-${randomBytes(3).toString("hex")}`;
  const engine = await startDockerEngine();
  const [registry, git] = await Promise.all([startRegistry(), startGitServer()]);
  await ensureBaseImage(engine);
  const image = await ensureTestServerImage(engine);
  const hubOptions: TestHubOptions = {
    logLines: options.logLines,
    policies: { "default.yaml": BINDER_DEFAULT_POLICY, ...options.policies },
    config: {
      spawner: {
        backend: "docker",
        startTimeout: "120s",
        docker: { image, command: options.command ?? ["jupyter", "server"], namePrefix: prefix, network: `${prefix}-net` },
      },
      ...(options.logLines ? { logging: { level: "info" as const } } : {}),
      builder: { enabled: true, registry: { url: registry.url }, imagePrefix: `${prefix}/`, allowHttp: true, ...options.builder },
    },
  };
  const hub = await startTestHub(hubOptions);
  return {
    hub,
    serverImage: image,
    git,
    engine,
    async close() {
      await hub.close();
      await git.close();
      const filters = JSON.stringify({ label: [`${LABEL_HUB}=${prefix}`] });
      for (const c of await engine.docker.listContainers({ all: true, filters })) await engine.docker.getContainer(c.Id).remove({ force: true });
      for (const v of (await engine.docker.listVolumes({ filters })).Volumes ?? []) await engine.docker.getVolume(v.Name).remove().catch(() => undefined);
      await engine.docker.getNetwork(`${prefix}-net`).remove().catch(() => undefined);
    },
  };
}
