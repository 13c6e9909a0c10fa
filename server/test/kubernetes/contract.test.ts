/** The spawner contract (support/spawner-contract.ts) against the Kubernetes backend, on the real test cluster. */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { KubernetesSpawnerFactory } from "../../src/spawners/kubernetes/index.js";
import { clusterLeftovers, clusterServerImage, kubernetesTestFactory, testNamespace, type TestNamespace } from "../support/kubernetes.js";
import { describeSpawnerContract } from "../support/spawner-contract.js";

let namespace: TestNamespace;
let image: string;
const prefix = `gcon-${randomBytes(3).toString("hex")}`;
const factories: KubernetesSpawnerFactory[] = [];

beforeAll(async () => {
  namespace = await testNamespace();
  image = await clusterServerImage();
}, 900_000);

afterAll(async () => {
  for (const factory of factories) factory.close();
  await namespace?.remove();
});

describeSpawnerContract("kubernetes", {
  async factory() {
    const factory = await kubernetesTestFactory({ namespace: namespace.name, image, prefix });
    factories.push(factory);
    return factory;
  },
  leftovers: () => clusterLeftovers(namespace.core, namespace.name, prefix),
  abortAt: /^Pod .* requested/,
});
