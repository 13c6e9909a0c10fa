/**
 * A Binder launch on Kubernetes, end to end on the real test cluster, with no Docker engine in the path of the build:
 * the hub checks out the repository, BuildKit builds it rootless in a pod of its own (builder.backend: kubernetes)
 * and pushes to the registry, and the server starts as a pod of that image (spawner.backend: kubernetes), pulled by
 * the node from the registry. A second launch of the same commit builds nothing; the build pod is gone after the build.
 *
 * The Docker engine here only makes the images the cluster starts from (BuildKit's, and the base image pushed to
 * the registry), as an image pipeline would.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureBaseImage, startDockerEngine, startRegistry } from "../support/docker.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { execute, startKernel } from "../support/kernel.js";
import { clusterBinaries, clusterBuildkitImage, clusterKubeconfig, clusterServerImage, testNamespace, watchPods, type TestNamespace } from "../support/kubernetes.js";

const BUILD_MS = 900_000;
const prefix = `gkb-${randomBytes(3).toString("hex")}`;
let namespace: TestNamespace;
let git: GitServer;
let t: TestHub | undefined;
let token: string;
let sam: string;

const POLICY = `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 64MiB, cpu: 0.25, memory: 512MiB, concurrentBuilds: 1, buildTimeout: 15m }
repositories: { privateHosts: true }
`;

const SLOW_POLICY = `name: slow
appliesTo: { users: [sam] }
priority: 10
limits: { buildTimeout: 20s }
`;

/** The hub's configuration; kept so that a test can start the hub again on the same data. */
let hubOptions: Parameters<typeof startTestHub>[0];

beforeAll(async () => {
  namespace = await testNamespace();
  const engine = await startDockerEngine();
  const registry = await startRegistry();
  git = await startGitServer();
  const { pushed: baseImage } = await ensureBaseImage(engine, registry);
  const [serverImage, buildkitImage] = await Promise.all([clusterServerImage(), clusterBuildkitImage()]);
  const kubeconfig = clusterKubeconfig();
  hubOptions = {
    policies: { "default.yaml": POLICY, "slow.yaml": SLOW_POLICY },
    config: {
      spawner: {
        backend: "kubernetes",
        startTimeout: "120s",
        // The configured image is never pulled (it was loaded into the node); a Binder build's image must be, from
        // the registry: its launch specification's pull policy wins.
        kubernetes: { kubeconfig, namespace: namespace.name, image: serverImage, imagePullPolicy: "Never", command: ["jupyter", "server"], namePrefix: prefix },
      },
      builder: {
        enabled: true,
        backend: "kubernetes",
        registry: { url: registry.url },
        imagePrefix: `${prefix}/`,
        baseImage,
        allowHttp: true,
        kubernetes: {
          kubeconfig,
          namespace: namespace.name,
          image: buildkitImage,
          namePrefix: prefix,
          // The registry listens on the machine's loopback: build pods share the node's network to reach it.
          hostNetwork: true,
          buildctl: path.join(clusterBinaries(), "buildctl"),
        },
      },
    },
  };
  t = await startTestHub(hubOptions);
  token = await t.addUser("alice");
  sam = await t.addUser("sam");
}, BUILD_MS);

afterAll(async () => {
  const dataDir = t?.dataDir;
  await t?.close();
  // A hub started again on the same data leaves its folder to the test that made it.
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await git?.close();
  await namespace?.remove();
}, 120_000);

const gitSpec = (url: string) => `git/${encodeURIComponent(url)}/main`;
const buildPods = async (): Promise<V1Pod[]> =>
  (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: "app.kubernetes.io/name=ganymede-build" })).items;

it("builds a repository with rootless BuildKit in a pod, pushes it, and lands in a server pod running it", async () => {
  const { url } = await git.createRepo("analysis", { "requirements.txt": "tabulate==0.9.0\n", "notebook.py": "print('hello')\n" });
  const seen: V1Pod[] = [];
  const stopWatching = await watchPods(namespace.name, "app.kubernetes.io/name=ganymede-build", (_type, pod) => seen.push(pod));
  const events = (await readEvents(t!.url, `/build/${gitSpec(url)}`, token, BUILD_MS).finally(stopWatching)) as { phase: string; message?: string; url?: string }[];
  expect(events.at(-1), JSON.stringify(events.slice(-8))).toMatchObject({ phase: "ready", url: "/user/alice/binder-analysis/" });
  const messages = events.map((e) => e.message ?? "");
  expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^Starting BuildKit in pod gkb-\w+-build-/), expect.stringMatching(/^#\d+ /)]));
  expect(await buildPods()).toEqual([]);
  // The build ran in a pod that was never privileged, its buildkitd started as user 1000 (the kubelet refuses
  // runAsNonRoot otherwise) in a user namespace of RootlessKit's.
  expect(seen.some((pod) => pod.status?.phase === "Running")).toBe(true);
  for (const pod of seen) {
    const container = pod.spec!.containers[0]!;
    expect(container.command).toEqual(["rootlesskit", "buildkitd"]);
    expect(container.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
    expect(container.securityContext?.privileged).toBeUndefined();
  }

  const [server] = (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: "ganymede.io/user=alice,ganymede.io/server=binder-analysis" })).items;
  expect(server?.spec?.containers[0]).toMatchObject({ image: expect.stringMatching(new RegExp(`/${prefix}/`)), imagePullPolicy: "IfNotPresent" });

  const target = { serverUrl: `${t!.url}/user/alice/binder-analysis/`, headers: { authorization: `token ${token}` } };
  const out = await execute(target, await startKernel(target), "import tabulate, os; print(tabulate.__version__, sorted(os.listdir(os.path.expanduser('~'))))", 60_000);
  expect(out).toContain("0.9.0");
  expect(out).toContain("notebook.py");

  const again = (await readEvents(t!.url, `/build/${gitSpec(url)}`, token, BUILD_MS)) as { phase: string }[];
  expect(again.at(-1)).toMatchObject({ phase: "ready" });
  expect(again.map((e) => e.phase)).not.toContain("building");
}, BUILD_MS);

it("stops a build at the policy's time limit: the build pod goes, and no server is made", async () => {
  const { url } = await git.createRepo("forever", { postBuild: "#!/bin/sh\necho starting a long job\nsleep 600\n" }, { executable: ["postBuild"] });
  const started = Date.now();
  const events = (await readEvents(t!.url, `/build/${gitSpec(url)}`, sam, BUILD_MS)) as { phase: string; message?: string }[];
  expect(events.at(-1)).toMatchObject({ phase: "failed", message: expect.stringMatching(/time limit of 20 ?s/) });
  expect(events.some((e) => /^Starting BuildKit in pod/.test(e.message ?? ""))).toBe(true);
  expect(Date.now() - started).toBeLessThan(120_000);
  expect(await buildPods()).toEqual([]);
  expect((await t!.api("GET", "users/sam", { token: sam })).body.servers).toEqual({});
}, BUILD_MS);

it("deletes, when the hub starts, the build pods an earlier hub process left behind", async () => {
  const [image] = [await clusterBuildkitImage()];
  await namespace.core.createNamespacedPod({
    namespace: namespace.name,
    body: {
      metadata: {
        name: `${prefix}-build-left0ver`,
        labels: { "app.kubernetes.io/name": "ganymede-build", "app.kubernetes.io/managed-by": "ganymede", "app.kubernetes.io/instance": prefix },
        annotations: { "ganymede.io/image": "registry/left:over" },
      },
      spec: { containers: [{ name: "buildkitd", image, imagePullPolicy: "IfNotPresent", command: ["sleep", "600"] }], terminationGracePeriodSeconds: 0 },
    },
  });
  expect(await buildPods()).toHaveLength(1);
  const dataDir = t!.dataDir;
  await t!.hub.close();
  t = await startTestHub({ ...hubOptions, dataDir });
  await waitFor(async () => (await buildPods()).length === 0, 30_000);
}, BUILD_MS);
