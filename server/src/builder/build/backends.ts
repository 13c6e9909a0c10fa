/**
 * Every build backend, by the name `builder.backend` chooses it with: its configuration section (`builder.<name>`)
 * and how to load it (only the chosen one's code is loaded). A new backend is a file implementing BuildBackend
 * (backend.ts) plus one line here.
 */
import { z } from "zod";
import { durationSchema } from "../../lib/units.js";
import type { Logger } from "../../lib/logger.js";
import { IMAGE_PULL_POLICIES } from "../../spawners/types.js";
import type { BuildBackend } from "./backend.js";
import type { RegistryClient } from "./registry.js";

export interface BuildBackendEntry<Section extends z.ZodType> {
  /** The `builder.<name>` section. */
  config: Section;
  /** What the section lacks for this backend to be chosen (checked only when it is): `[path, message]` pairs. */
  requirements?(section: z.output<Section>): Array<[string, string]>;
  load(section: z.output<Section>, deps: { registry: RegistryClient; logger: Logger }): Promise<BuildBackend>;
}

const entry = <Section extends z.ZodType>(e: BuildBackendEntry<Section>): BuildBackendEntry<Section> => e;

const dockerBuildConfig = z
  .object({
    socketPath: z
      .string()
      .default("/var/run/docker.sock")
      .describe("The Docker engine that builds (its classic builder), then pushes to builder.registry. With spawner.backend: docker, the same engine as the spawner's keeps the image and starts servers from it."),
  })
  .strict()
  .prefault({});

const kubernetesBuildConfig = z
  .object({
    kubeconfig: z.string().optional().describe("A kubeconfig file (default: the pod's service account in the cluster, else $KUBECONFIG or ~/.kube/config)."),
    context: z.string().optional().describe("The kubeconfig context to use."),
    namespace: z.string().optional().describe("Where build pods run (default: as spawner.kubernetes.namespace). Give them a namespace of their own where you can: they run unconfined (rootless) or privileged."),
    image: z
      .string()
      .min(1)
      .optional()
      .describe("An image with buildkitd, buildctl and runc: BuildKit's own moby/buildkit:<version>-rootless (with rootless: true; it adds RootlessKit and newuidmap) or moby/buildkit:<version>. Required with backend: kubernetes."),
    rootless: z
      .boolean()
      .default(true)
      .describe("Run buildkitd as user 1000 in a user namespace of its own (RootlessKit), with seccomp and AppArmor unconfined so that it can make one. false: privileged build pods, for nodes that refuse user namespaces."),
    imagePullPolicy: z.enum(IMAGE_PULL_POLICIES).default("IfNotPresent").describe("When nodes pull that image."),
    namePrefix: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/).default("ganymede").describe("Build pods are named <prefix>-build-<hash> and labelled with it."),
    hostNetwork: z.boolean().default(false).describe("Run build pods on the node's network: only for a registry that nodes reach and pods do not (a one-machine test cluster)."),
    cpu: z.string().optional().describe("A CPU limit for each build pod (Kubernetes quantity, e.g. 2)."),
    memory: z.string().optional().describe("A memory limit for each build pod (Kubernetes quantity, e.g. 4Gi)."),
    nodeSelector: z.record(z.string(), z.string()).default({}).describe("Node labels build pods must match."),
    buildctl: z.string().default("buildctl").describe("BuildKit's client on the hub's machine (it reaches build pods through the API server with kubectl)."),
    startTimeout: durationSchema.prefault("5m").describe("How long a build pod may take to have BuildKit ready (image pull included)."),
  })
  .strict()
  .prefault({});

export const BUILD_BACKENDS = {
  docker: entry({
    config: dockerBuildConfig,
    load: async (section, { registry }) => {
      const [{ default: Docker }, { API_VERSION }, { DockerBuildBackend }] = await Promise.all([
        import("dockerode"),
        import("../../engines/docker.js"),
        import("./docker-builder.js"),
      ]);
      return new DockerBuildBackend({ docker: new Docker({ socketPath: section.socketPath, version: API_VERSION }), registry });
    },
  }),
  kubernetes: entry({
    config: kubernetesBuildConfig,
    requirements: (section) => (section.image ? [] : [["image", "builder.backend: kubernetes needs builder.kubernetes.image (an image with buildkitd)"]]),
    load: async ({ startTimeout, image, ...section }, { registry, logger }) => {
      const { KubernetesBuildBackend } = await import("./kubernetes-builder.js");
      const backend = new KubernetesBuildBackend({ ...section, image: image!, startTimeoutMs: startTimeout, registry, logger });
      const left = await backend.cleanUpLeftovers();
      if (left.length) logger.warn({ pods: left }, "deleted build pods an earlier hub process left (their builds had lost their client)");
      return backend;
    },
  }),
};

export type BuildBackendName = keyof typeof BUILD_BACKENDS;
export const BUILD_BACKEND_NAMES = Object.keys(BUILD_BACKENDS) as [BuildBackendName, ...BuildBackendName[]];

/** The `builder.<name>` sections, one per backend, for the configuration schema. */
export const buildBackendSections = Object.fromEntries(
  Object.entries(BUILD_BACKENDS).map(([name, e]) => [name, e.config]),
) as { [Name in BuildBackendName]: (typeof BUILD_BACKENDS)[Name]["config"] };
