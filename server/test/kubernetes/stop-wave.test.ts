/**
 * Stopping many pods at once (the spawner contract's stop wave, support/stop-wave.ts, at a size the one-node test
 * cluster holds): 40 running servers stopped by simultaneous DELETE requests, every stop finished without failure,
 * none left "stopping", no pod or Secret left (claims stay: storage is kept on stop). The servers run the stand-in
 * server (bench/stand-in-server.py, given to the image's Python with -c): what is tested is the hub's stop path
 * against a real API server and kubelet, not Jupyter.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hubSelector } from "../../src/spawners/kubernetes/naming.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { clusterKubeconfig, clusterServerImage, testNamespace, type TestNamespace } from "../support/kubernetes.js";
import { standInServer } from "../support/paths.js";
import { expectStopWave, startServersOf } from "../support/stop-wave.js";

const SERVERS = 40;
const users = Array.from({ length: SERVERS }, (_, i) => `kwave${String(i).padStart(2, "0")}`);
const prefix = `gkw-${randomBytes(3).toString("hex")}`;
let namespace: TestNamespace;
let t: TestHub;

/** Tiny servers: 40 of them fit on the test node's two cores. */
const POLICY = `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 16MiB, cpu: 0.02, memory: 48MiB, concurrentBuilds: 1, buildTimeout: 10m }
`;

const running = async (): Promise<string[]> => {
  const pods = await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: hubSelector(prefix) });
  return pods.items.map((p) => `pod ${p.metadata?.name} (${p.status?.phase})`);
};
const leftovers = async (): Promise<string[]> => {
  const secrets = await namespace.core.listNamespacedSecret({ namespace: namespace.name, labelSelector: hubSelector(prefix) });
  return [...(await running()), ...secrets.items.map((s) => `secret ${s.metadata?.name}`)];
};

beforeAll(async () => {
  namespace = await testNamespace();
  const image = await clusterServerImage();
  const standIn = readFileSync(standInServer[1]!, "utf8");
  t = await startTestHub({
    policies: { "default.yaml": POLICY },
    config: {
      spawner: {
        backend: "kubernetes",
        startTimeout: "180s",
        stopGrace: "2s",
        kubernetes: { kubeconfig: clusterKubeconfig(), namespace: namespace.name, image, command: ["python3", "-c", standIn], namePrefix: prefix },
      },
    },
  });
  await startServersOf(t, users, { concurrency: 8, timeoutMs: 420_000 });
  expect(await running()).toHaveLength(SERVERS);
}, 600_000);

afterAll(async () => {
  await t?.close();
  await namespace?.remove();
});

it("stops every pod at once, with no failure, none left stopping and no pod or Secret left", async () => {
  await expectStopWave(t, users, leftovers, { timeoutMs: 240_000 });
}, 300_000);
