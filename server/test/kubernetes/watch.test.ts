/**
 * The shared watch (spawners/kubernetes/watch-cache.ts) against the real API server: it keeps seeing pods when the
 * API server ends its watches (here after 2 s instead of minutes) and when a watch goes silent past the stall limit
 * (here 1.5 s with nothing happening, where a stalled connection would say nothing either), and it counts what that
 * costs in requests.
 */
import { Watch, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatchCache } from "../../src/spawners/kubernetes/watch-cache.js";
import { waitFor } from "../support/hub.js";
import { clusterClient, clusterServerImage, testNamespace, type TestNamespace } from "../support/kubernetes.js";

let namespace: TestNamespace;
let image: string;
const caches: WatchCache<V1Pod>[] = [];
const silent = { info() {}, warn() {}, error() {}, debug() {} };

beforeAll(async () => {
  namespace = await testNamespace();
  image = await clusterServerImage();
}, 900_000);

afterAll(async () => {
  for (const cache of caches) cache.close();
  await namespace?.remove();
});

function podCache(options: { watchSeconds?: number; stallMs?: number }): WatchCache<V1Pod> {
  const { kc, core } = clusterClient();
  const watch = new Watch(kc);
  if (options.stallMs) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.stallMs;
  const cache = new WatchCache<V1Pod>({
    what: "pods",
    path: `/api/v1/namespaces/${namespace.name}/pods`,
    labelSelector: "test=watch",
    list: () => core.listNamespacedPod({ namespace: namespace.name, labelSelector: "test=watch" }),
    watch,
    logger: silent,
    keep: true,
    watchSeconds: options.watchSeconds,
  });
  caches.push(cache);
  return cache;
}

async function createPod(name: string): Promise<void> {
  await namespace.core.createNamespacedPod({
    namespace: namespace.name,
    body: {
      metadata: { name, labels: { test: "watch" } },
      spec: { containers: [{ name: "c", image, imagePullPolicy: "IfNotPresent", command: ["sleep", "300"] }], terminationGracePeriodSeconds: 0 },
    },
  });
}

describe("the shared watch", () => {
  it("resumes when the API server ends its watches, missing nothing, with one list in all", async () => {
    const cache = podCache({ watchSeconds: 2 });
    await cache.start();
    await createPod("first");
    await waitFor(() => cache.get("first") !== undefined, 10_000);
    await new Promise((r) => setTimeout(r, 6000)); // three watches ended by the API server
    await createPod("second");
    await waitFor(() => cache.get("second") !== undefined, 10_000);
    await namespace.core.deleteNamespacedPod({ name: "first", namespace: namespace.name, gracePeriodSeconds: 0 });
    await waitFor(() => cache.get("first") === undefined, 30_000);
    expect(cache.stats.lists).toBe(1);
    expect(cache.stats.watches).toBeGreaterThanOrEqual(3);
    expect(cache.stats.stallRestarts).toBe(0);
  }, 120_000);

  it("restarts a watch that has been silent past the stall limit, and goes on seeing pods", async () => {
    const cache = podCache({ stallMs: 1500 });
    await cache.start();
    await waitFor(() => cache.stats.stallRestarts >= 1, 15_000);
    await createPod("third");
    await waitFor(() => cache.get("third") !== undefined, 15_000);
    expect(cache.stats.lists).toBe(1);
  }, 60_000);
});
