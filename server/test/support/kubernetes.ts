/**
 * The real test cluster for the Kubernetes backend's tests (scripts/test-cluster.sh, started and stopped around the
 * suite by scripts/test-kubernetes.sh, which passes its kubeconfig as GANYMEDE_TEST_KUBECONFIG).
 *
 * - `testNamespace()`: a namespace of the test file's own, deleted (with everything in it) at the end.
 * - `clusterServerImage()`: the tests' Jupyter server image (support/docker.ts builds it with the Docker engine),
 *   loaded into the cluster's containerd once per cluster: no registry is needed to run it, as on a node that has it.
 * - `clusterBuildkitImage()`: an image with BuildKit (buildkitd, buildctl and RootlessKit built by
 *   scripts/test-cluster.sh from the Go module proxy, runc and newuidmap from Debian) on the base image, loaded the
 *   same way.
 * - `kubernetesTestFactory()`: the backend as the tests use it (short grace period, pods that never pull).
 * - `clusterLeftovers()`: the pods, claims and Secrets of one hub prefix still in the namespace.
 */
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createHash, randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { kubernetesSpawnerConfig } from "../../src/spawners/kubernetes/config.js";
import { createKubernetesSpawnerFactory, type KubernetesSpawnerFactory, type KubernetesSpawnerOptions } from "../../src/spawners/kubernetes/index.js";
import { hubSelector } from "../../src/spawners/kubernetes/naming.js";
import { BASE_IMAGE, buildImageOnce, ensureBaseImage, ensureTestServerImage, startDockerEngine } from "./docker.js";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);

/** The cluster's kubeconfig; a clear failure when the suite was not started by its script. */
export function clusterKubeconfig(): string {
  const file = process.env.GANYMEDE_TEST_KUBECONFIG;
  if (!file) throw new Error("no test cluster: run these tests with scripts/test-kubernetes.sh (it starts one with scripts/test-cluster.sh)");
  return file;
}

export function clusterClient(): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterKubeconfig());
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

/** Follows the pods of `namespace` that match `labelSelector`; resolves to the function that stops following. */
export async function watchPods(namespace: string, labelSelector: string, onEvent: (type: string, pod: V1Pod) => void): Promise<() => void> {
  const { kc } = clusterClient();
  const request = await new Watch(kc).watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector }, onEvent, () => undefined);
  return () => request.abort();
}

export interface TestNamespace {
  name: string;
  core: CoreV1Api;
  remove(): Promise<void>;
}

export async function testNamespace(): Promise<TestNamespace> {
  const { core } = clusterClient();
  const name = `gk-${randomBytes(4).toString("hex")}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    core,
    remove: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

const containerdSocket = (): string => path.join(process.env.GANYMEDE_K8S_DIR ?? path.join(repoRoot, ".data/k8s"), "containerd-run/containerd.sock");

export async function clusterHasImage(reference: string): Promise<boolean> {
  const { stdout } = await run("ctr", ["-a", containerdSocket(), "-n", "k8s.io", "images", "ls", "-q"]);
  return stdout.split("\n").some((line) => line === reference || line === `docker.io/${reference}`);
}

let serverImage: Promise<string> | undefined;

/** The tests' Jupyter server image, present on the cluster's node (imagePullPolicy IfNotPresent never pulls it). */
export function clusterServerImage(): Promise<string> {
  serverImage ??= (async () => {
    const engine = await startDockerEngine();
    await ensureBaseImage(engine);
    const tag = await ensureTestServerImage(engine);
    await ensureOnNode(engine.docker, tag);
    return tag;
  })();
  return serverImage;
}

/** Where scripts/test-cluster.sh keeps its binaries (BuildKit's buildkitd and buildctl among them). */
export function clusterBinaries(): string {
  const dir = process.env.GANYMEDE_K8S_BIN;
  if (!dir) throw new Error("GANYMEDE_K8S_BIN is not set: run these tests with scripts/test-kubernetes.sh");
  return dir;
}

let buildkitImage: Promise<string> | undefined;

/** BuildKit's daemon and client on the base image, with Debian's runc: what a build pod runs. */
export function clusterBuildkitImage(): Promise<string> {
  buildkitImage ??= (async () => {
    const engine = await startDockerEngine();
    await ensureBaseImage(engine);
    const bin = clusterBinaries();
    // Laid out as BuildKit's own rootless image is: user 1000 with sub-IDs for its user namespace, newuidmap and
    // newgidmap (Debian's uidmap), RootlessKit; it runs privileged just as well. The two get file capabilities
    // instead of their set-user-ID bit: run as root in a pod without CAP_SYS_ADMIN, the kernel refuses their write
    // of the ID maps (it wants the namespace's owner, or CAP_SYS_ADMIN).
    const dockerfile = `FROM ${BASE_IMAGE}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends runc uidmap libcap2-bin ca-certificates >/dev/null \\
 && chmod u-s /usr/bin/newuidmap /usr/bin/newgidmap \\
 && setcap cap_setuid+ep /usr/bin/newuidmap && setcap cap_setgid+ep /usr/bin/newgidmap \\
 && apt-get purge -y -qq libcap2-bin >/dev/null && rm -rf /var/lib/apt/lists/* \\
 && (getent passwd 1000 >/dev/null || useradd --uid 1000 --user-group --create-home user) \\
 && echo "$(getent passwd 1000 | cut -d: -f1):100000:65536" | tee /etc/subuid > /etc/subgid
COPY buildkitd buildctl rootlesskit /usr/local/bin/
`;
    const binaries = ["buildkitd", "buildctl", "rootlesskit"];
    const digest = createHash("sha256").update(dockerfile).update(readFileSync(path.join(bin, "buildkitd"))).digest("hex").slice(0, 12);
    const tag = `ganymede-test/buildkit:${digest}`;
    await buildImageOnce(engine, tag, dockerfile, Object.fromEntries(binaries.map((name) => [name, path.join(bin, name)])));
    await ensureOnNode(engine.docker, tag);
    return tag;
  })();
  return buildkitImage;
}

/** Imports an image archive stream (`docker save`) into the node's containerd. */
/** `tag` from the Docker engine onto the cluster's node, unless the node has it already. */
export async function ensureOnNode(docker: Docker, tag: string): Promise<void> {
  if (!(await clusterHasImage(tag))) await loadIntoCluster(docker.getImage(tag).get());
}

export async function loadIntoCluster(archive: Promise<NodeJS.ReadableStream>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "ganymede-image-"));
  try {
    const file = path.join(dir, "image.tar");
    await pipeline(await archive, createWriteStream(file));
    await run(path.join(repoRoot, "scripts/test-cluster.sh"), ["import", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The backend's options as the tests use them: the configuration's defaults, then the tests' own, then `overrides`. */
export function kubernetesTestOptions(t: { namespace: string; image: string; prefix: string }, overrides: Partial<KubernetesSpawnerOptions> = {}): KubernetesSpawnerOptions {
  return {
    ...kubernetesSpawnerConfig.parse({}),
    kubeconfig: clusterKubeconfig(),
    namespace: t.namespace,
    image: t.image,
    command: ["jupyter", "server"],
    namePrefix: t.prefix,
    stopGraceMs: 2000,
    ...overrides,
  };
}

export function kubernetesTestFactory(
  t: { namespace: string; image: string; prefix: string },
  overrides: Partial<KubernetesSpawnerOptions> = {},
): Promise<KubernetesSpawnerFactory> {
  return createKubernetesSpawnerFactory(kubernetesTestOptions(t, overrides));
}

/** What the namespace still holds of hub `prefix`: pods, claims, Secrets (its shared ConfigMap excepted). */
export async function clusterLeftovers(core: CoreV1Api, namespace: string, prefix: string): Promise<string[]> {
  const labelSelector = hubSelector(prefix);
  const [pods, claims, secrets] = await Promise.all([
    core.listNamespacedPod({ namespace, labelSelector }),
    core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    core.listNamespacedSecret({ namespace, labelSelector }),
  ]);
  return [
    ...pods.items.map((p) => `pod ${p.metadata?.name}`),
    ...claims.items.map((c) => `claim ${c.metadata?.name}`),
    ...secrets.items.map((s) => `secret ${s.metadata?.name}`),
  ];
}
