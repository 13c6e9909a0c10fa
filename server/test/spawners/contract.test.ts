/**
 * The spawner contract (support/spawner-contract.ts) against the backends that run on one machine: real Jupyter
 * servers as local processes, and as containers of a real Docker engine; and against the FakeSpawner the hub's
 * lifecycle tests use, so that what they prove holds for the real backends too. The Kubernetes backend runs it in
 * its own suite (test/kubernetes/), on a real cluster.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import { ensureBaseImage, ensureTestServerImage, startDockerEngine, testDockerFactory, type DockerEngine } from "../support/docker.js";
import { mountsBelow, processesMentioning } from "../support/host-processes.js";
import { fakeLeftovers, fakeSpawnerFactory } from "../support/fake-spawner.js";
import { useLocalSpawnerHarness } from "../support/local-spawner-harness.js";
import { describeSpawnerContract, type ContractBackend } from "../support/spawner-contract.js";

const local = useLocalSpawnerHarness();
const localBackend: ContractBackend = {
  factory: () => local.factory(),
  abortAt: /^Waiting for the server/,
  leftovers: async () => [
    ...processesMentioning(local.rootDir).map((p) => `process ${p.pid}`),
    ...mountsBelow(local.rootDir).map((m) => `mount ${m}`),
    // Users' folders; the hub's own (the shared Jupyter configuration, ".jupyter-config") stay.
    ...readdirSync(local.rootDir).filter((entry) => !entry.startsWith(".")).map((entry) => `storage ${entry}`),
  ],
};

let engine: DockerEngine;
let image: string;
const prefix = `gcon-${randomBytes(3).toString("hex")}`;
const storageRoot = mkdtempSync(path.join(tmpdir(), "ganymede-contract-docker-"));
const dockerBackend: ContractBackend = {
  factory: () => testDockerFactory(engine, { image, prefix, storageRoot }),
  abortAt: /^Waiting for the server/,
  async leftovers() {
    const filters = JSON.stringify({ label: [`${LABEL_HUB}=${prefix}`] });
    return [
      ...(await engine.docker.listContainers({ all: true, filters })).map((c) => `container ${c.Names[0]}`),
      ...((await engine.docker.listVolumes({ filters })).Volumes ?? []).map((v) => `volume ${v.Name}`),
      ...mountsBelow(storageRoot).map((m) => `mount ${m}`),
      ...readdirSync(storageRoot).map((entry) => `storage ${entry}`),
    ];
  },
};

beforeAll(async () => {
  engine = await startDockerEngine();
  await ensureBaseImage(engine);
  image = await ensureTestServerImage(engine);
}, 900_000);

afterAll(async () => {
  await engine?.docker.getNetwork(`${prefix}-net`).remove().catch(() => undefined);
  rmSync(storageRoot, { recursive: true, force: true });
});

describeSpawnerContract("local", localBackend);
describeSpawnerContract("docker", dockerBackend);
describeSpawnerContract("fake (the hub tests' test double)", {
  factory: () => fakeSpawnerFactory(),
  leftovers: async () => fakeLeftovers(),
  abortAt: /^Waiting for the server/,
});
