/**
 * The pod of one Binder build on Kubernetes, and BuildKit's configuration: pure functions (unit-tested without a
 * cluster). The pod runs buildkitd and nothing else; the hub's buildctl reaches it through the API server
 * (`kube-pod://`, an exec of `buildctl dial-stdio` in the pod), so buildkitd listens on no network port at all and
 * nobody else in the cluster can use it while it lives.
 *
 * Two ways to run it. Rootless (the default): buildkitd runs as user 1000 in a user namespace RootlessKit makes,
 * where it is root over nothing but its own files; the pod needs seccomp and AppArmor unconfined (they forbid making
 * user namespaces) and a rootless BuildKit image (moby/buildkit:<version>-rootless: RootlessKit, newuidmap, a user
 * 1000 with sub-IDs). Privileged, where nodes refuse user namespaces: buildkitd as the node's root.
 */
import type { V1ConfigMap, V1Pod } from "@kubernetes/client-node";
import type { ImagePullPolicy } from "../../spawners/types.js";

export const BUILD_CONTAINER = "buildkitd";
const CONFIG_DIR = "/etc/buildkit";
const STATE_DIR = "/var/lib/buildkit";
/** buildkitd's socket, and when rootless the runtime folder of RootlessKit and runc: an emptyDir anyone can write. */
const SOCKET_DIR = "/run/buildkit";
/** Where buildkitd listens, and where `buildctl dial-stdio` (exec'd in the pod, with its environment) connects. */
const ADDRESS = `unix://${SOCKET_DIR}/buildkitd.sock`;
/** The user of BuildKit's rootless images, with the sub-IDs its user namespace maps. */
const ROOTLESS_UID = 1000;

export interface BuildPodInput {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** An image with buildkitd, buildctl and runc (and RootlessKit and newuidmap when rootless). */
  image: string;
  /** buildkitd without root, in a user namespace of its own; else a privileged pod. */
  rootless: boolean;
  imagePullPolicy: ImagePullPolicy;
  /** The pod uses the node's network (for a registry only the node can reach, as on a one-machine test cluster). */
  hostNetwork: boolean;
  /** The ConfigMap holding buildkitd.toml. */
  configMap: string;
  cpu?: string;
  memory?: string;
  /** Kubernetes ends the pod after this long whatever the hub does (a build the hub forgot cannot run for ever). */
  activeDeadlineSeconds: number;
  nodeSelector: Record<string, string>;
}

export function buildPodManifest(input: BuildPodInput): V1Pod {
  const resources = input.cpu || input.memory ? { limits: { ...(input.cpu ? { cpu: input.cpu } : {}), ...(input.memory ? { memory: input.memory } : {}) } } : undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels, annotations: input.annotations },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: input.activeDeadlineSeconds,
      terminationGracePeriodSeconds: 5,
      hostNetwork: input.hostNetwork || undefined,
      nodeSelector: Object.keys(input.nodeSelector).length ? input.nodeSelector : undefined,
      containers: [
        {
          name: BUILD_CONTAINER,
          image: input.image,
          imagePullPolicy: input.imagePullPolicy,
          command: input.rootless ? ["rootlesskit", "buildkitd"] : ["buildkitd"],
          // The process sandbox (a PID namespace with its own /proc per step) needs a /proc the container runtime
          // has not partly masked; rootless steps share the pod's PID namespace instead, as BuildKit's own
          // Kubernetes example does.
          args: ["--config", `${CONFIG_DIR}/buildkitd.toml`, "--root", STATE_DIR, "--addr", ADDRESS, ...(input.rootless ? ["--oci-worker-no-process-sandbox"] : [])],
          env: [
            { name: "BUILDKIT_HOST", value: ADDRESS },
            // Rootless, RootlessKit and runc keep their state in the user's runtime folder (else /run, not theirs).
            ...(input.rootless ? [{ name: "XDG_RUNTIME_DIR", value: SOCKET_DIR }] : []),
          ],
          securityContext: input.rootless
            ? {
                runAsUser: ROOTLESS_UID,
                runAsGroup: ROOTLESS_UID,
                runAsNonRoot: true,
                // newuidmap and newgidmap gain the right to write the namespace's ID maps from their file (a
                // capability, or set-user-ID): no_new_privs would take it away.
                allowPrivilegeEscalation: true,
                seccompProfile: { type: "Unconfined" },
                appArmorProfile: { type: "Unconfined" },
              }
            : // Rootful, each step's containers (runc) need a privileged pod.
              { privileged: true },
          resources,
          volumeMounts: [
            { name: "config", mountPath: CONFIG_DIR, readOnly: true },
            { name: "state", mountPath: STATE_DIR },
            { name: "socket", mountPath: SOCKET_DIR },
          ],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: input.configMap } },
        { name: "state", emptyDir: {} },
        { name: "socket", emptyDir: {} },
      ],
    },
  };
}

/** buildkitd.toml: registries that speak plain HTTP (a registry on loopback) are said to. */
export function buildkitConfig(plainHttpRegistries: string[]): string {
  const lines = ["# Written by the hub for its build pods.", "[worker.oci]", "  gc = true", "[worker.containerd]", "  enabled = false"];
  for (const host of plainHttpRegistries) lines.push(`[registry."${host}"]`, "  http = true", "  insecure = true");
  return `${lines.join("\n")}\n`;
}

export function buildkitConfigMap(name: string, namespace: string, labels: Record<string, string>, toml: string): V1ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data: { "buildkitd.toml": toml } };
}

/** buildctl's arguments for one build, pushing `image` and caching layers in the registry next to it. */
export function buildctlArguments(input: {
  address: string;
  contextDir: string;
  dockerfile: string;
  image: string;
  cacheRef: string;
  plainHttp: boolean;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
}): string[] {
  const insecure = input.plainHttp ? ",registry.insecure=true" : "";
  const slash = input.dockerfile.lastIndexOf("/");
  const dockerfileDir = slash === -1 ? input.contextDir : `${input.contextDir}/${input.dockerfile.slice(0, slash)}`;
  return [
    "--addr",
    input.address,
    "build",
    "--progress",
    "plain",
    "--frontend",
    "dockerfile.v0",
    "--local",
    `context=${input.contextDir}`,
    "--local",
    `dockerfile=${dockerfileDir}`,
    "--opt",
    `filename=${input.dockerfile.slice(slash + 1)}`,
    ...Object.entries(input.buildArgs).flatMap(([k, v]) => ["--opt", `build-arg:${k}=${v}`]),
    ...Object.entries(input.labels).flatMap(([k, v]) => ["--opt", `label:${k}=${v}`]),
    "--output",
    `type=image,name=${input.image},push=true${insecure}`,
    "--export-cache",
    `type=registry,ref=${input.cacheRef},mode=max${insecure}`,
    "--import-cache",
    `type=registry,ref=${input.cacheRef}${insecure}`,
  ];
}
