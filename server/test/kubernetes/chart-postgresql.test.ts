/**
 * The Helm chart on PostgreSQL, with the policies in a ConfigMap of the operator's, on the real test cluster:
 *
 * - `hub.database: postgresql` with the database's URL (and its password) in the chart's Secret: a real PostgreSQL on
 *   this machine, reached by the hub's pods at the bridge address with a password; the hub's state outlives its pods.
 * - `hub.replicas: 2`: a pod deleted, then every pod replaced by a rolling restart, while requests keep coming through
 *   the Service: none fails.
 * - `policies.existingConfigMap`: an edit of the operator's ConfigMap reaches the running hub; a broken edit keeps the
 *   last good set and the hub says why (`GET /hub/api/policies`).
 * - The network policies enforced (the test cluster runs kube-router's policy controller): code in a user's kernel
 *   reaches neither the hub's database nor another user's server, while the hub reaches both.
 *
 * chart.test.ts covers the default install (SQLite on a claim) and upgrades.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { clusterHubImage, clusterSingleuserImage } from "../support/chart-images.js";
import { makeDataDir, readEvents, request, waitFor } from "../support/hub.js";
import { execute, startKernel, type KernelTarget } from "../support/kernel.js";
import { testNamespace, type TestNamespace } from "../support/kubernetes.js";
import { helmIn } from "../support/helm.js";
import { startPostgres, type PostgresServer } from "../support/postgres.js";

const release = `p${randomBytes(2).toString("hex")}`;
const hubName = `${release}-ganymede-hub`;
const sitePolicies = `${release}-site-policies`;
let namespace: TestNamespace;
let postgres: PostgresServer;
let databaseUrl: string;
let base: string;
let adminToken: string;

const helm = (...args: string[]) => helmIn(namespace.name).helm(...args);
const kubectl = (...args: string[]) => helmIn(namespace.name).kubectl(...args);

const defaultPolicy = (memory: string) =>
  YAML.stringify({
    name: "default",
    appliesTo: { default: true },
    limits: { namedServers: 2, serverNameMaxLength: 20, idleTimeout: "2h", storage: "64MiB", cpu: 0.1, memory, concurrentBuilds: 1, buildTimeout: "10m" },
  });

/** The operator's own ConfigMap of policy files, as `kubectl apply` would leave it. */
async function writeSitePolicies(defaultYaml: string) {
  const body = { metadata: { name: sitePolicies }, data: { "default.yaml": defaultYaml } };
  await namespace.core.replaceNamespacedConfigMap({ name: sitePolicies, namespace: namespace.name, body }).catch(async (err: { code?: number }) => {
    if (err.code !== 404) throw err;
    await namespace.core.createNamespacedConfigMap({ namespace: namespace.name, body });
  });
}

const hubPods = async () =>
  (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: `app.kubernetes.io/name=ganymede-hub,app.kubernetes.io/instance=${release}` })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );

const memoryLimit = async (user: string) =>
  ((await request(base, "GET", `users/${user}/policy`, { token: adminToken })).body as { limits: Array<{ limit: string; raw: unknown }> }).limits.find((l) => l.limit === "memory")?.raw;

beforeAll(async () => {
  namespace = await testNamespace();
  // PostgreSQL on this machine, where pods reach it: the address the API server is advertised at (the bridge's).
  const endpoints = await namespace.core.readNamespacedEndpoints({ name: "kubernetes", namespace: "default" });
  const bridge = endpoints.subsets![0]!.addresses![0]!.ip;
  const [hubImage, serverImage, server] = await Promise.all([
    clusterHubImage(),
    clusterSingleuserImage(),
    startPostgres({ remote: { address: bridge, network: `${bridge.replace(/\.\d+$/, ".0")}/24` } }),
  ]);
  postgres = server;
  databaseUrl = await postgres.createRemoteDatabase("ganymede_chart");
  await writeSitePolicies(defaultPolicy("256MiB"));
  const [repository, tag] = hubImage.split(":");
  const values = {
    hub: {
      image: { repository, tag, pullPolicy: "Never" },
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
      database: "postgresql",
      replicas: 2,
      config: { spawner: { startTimeout: "120s", kubernetes: { image: serverImage, imagePullPolicy: "Never" } } },
    },
    secrets: { databaseUrl },
    policies: { existingConfigMap: sitePolicies },
  };
  const valuesFile = path.join(makeDataDir(), "values.yaml");
  writeFileSync(valuesFile, YAML.stringify(values));
  await helmIn(namespace.name).release("install", release, valuesFile);
  const service = await namespace.core.readNamespacedService({ name: hubName, namespace: namespace.name });
  base = `http://${service.spec!.clusterIP}`;
  adminToken = (await kubectl("exec", `deploy/${hubName}`, "--", "node", "/app/server/dist/cli.js", "token", "create", "--user", "admin")).stdout.trim().split("\n").at(-1)!;
}, 1_200_000);

afterAll(async () => {
  await helm("uninstall", release, "--wait").catch(() => undefined);
  await namespace?.remove();
  await postgres?.stop();
});

describe("the Helm chart on PostgreSQL, with the operator's policy ConfigMap", () => {
  it("keeps the hub's state in PostgreSQL: no claim for the hub, and users and tokens outlive its pod", async () => {
    const claims = (await namespace.core.listNamespacedPersistentVolumeClaim({ namespace: namespace.name })).items;
    expect(claims).toEqual([]);
    expect((await request(base, "POST", "users/alice", { token: adminToken })).status).toBe(201);
    const rows = async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<{ name: string }>(`SELECT name FROM "User" ORDER BY name`)).rows.map((r) => r.name);
      } finally {
        await client.end();
      }
    };
    expect(await rows()).toEqual(["admin", "alice"]);

    const before = await hubPods();
    expect(before).toHaveLength(2);
    // Requests through the Service the whole time: a pod deleted, then a rolling restart of both.
    const answered = async () => (await request(base, "GET", "users/alice", { token: adminToken }).catch(() => ({ status: 0 }))).status;
    const outcomes = { ok: 0, failed: [] as number[] };
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const status = await answered();
        if (status === 200) outcomes.ok++;
        else outcomes.failed.push(status);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const allReplaced = (old: Set<string>) => async () => {
      const pods = await hubPods();
      return pods.length === 2 && pods.every((p) => !old.has(p.metadata!.uid!) && p.status?.containerStatuses?.[0]?.ready === true);
    };
    try {
      await kubectl("delete", "pod", before[0]!.metadata!.name!, "--wait=false");
      await waitFor(async () => {
        const pods = await hubPods();
        return pods.length === 2 && !pods.some((p) => p.metadata!.uid === before[0]!.metadata!.uid) && pods.every((p) => p.status?.containerStatuses?.[0]?.ready === true);
      }, 180_000, 1000);
      const current = new Set((await hubPods()).map((p) => p.metadata!.uid!));
      await kubectl("rollout", "restart", `deployment/${hubName}`);
      await waitFor(allReplaced(current), 300_000, 1000);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      polling = false;
      await poller;
    }
    // The same token (stored hashed in PostgreSQL) works against every new pod, and no request failed meanwhile.
    expect(outcomes.ok).toBeGreaterThan(50);
    expect(outcomes.failed).toEqual([]);
  }, 600_000);

  it("applies an edit of the operator's ConfigMap, and keeps the last good set through a broken one", async () => {
    // Each replica reloads its own mount of the ConfigMap (the kubelet updates pods one by one): wait until every
    // answer through the Service, whichever replica gives it, agrees.
    const everyReplica = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 8; i++) if (!(await check())) return false;
      return true;
    };
    expect(await memoryLimit("alice")).toBe(256 * 2 ** 20);
    await writeSitePolicies(defaultPolicy("384MiB"));
    await waitFor(() => everyReplica(async () => (await memoryLimit("alice")) === 384 * 2 ** 20), 150_000, 1000);

    await writeSitePolicies(defaultPolicy("8XB"));
    const status = async () => (await request(base, "GET", "policies", { token: adminToken })).body as { active: string[]; lastError?: { problems: string[] } };
    await waitFor(() => everyReplica(async () => (await status()).lastError !== undefined), 150_000, 1000);
    expect((await status()).lastError!.problems.join("\n")).toMatch(/limits\.memory: "8XB" is not a size/);
    expect((await status()).active).toEqual(["default"]);
    expect(await memoryLimit("alice")).toBe(384 * 2 ** 20);
  }, 360_000);

  it("enforces the network policies: a user's code reaches neither the hub's database nor another user's server", async () => {
    for (const user of ["alice", "bob"]) {
      if (user === "bob") expect((await request(base, "POST", "users/bob", { token: adminToken })).status).toBe(201);
      expect((await request(base, "POST", `users/${user}/servers/lab`, { token: adminToken })).status).toBeOneOf([201, 202]);
    }
    for (const user of ["alice", "bob"]) {
      const events = await readEvents(base, `/hub/api/users/${user}/servers/lab/progress`, adminToken, 180_000);
      expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true });
    }
    const [bobPod] = (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: "ganymede.io/user=bob" })).items;
    const [hubPod] = await hubPods();
    const database = new URL(databaseUrl);

    const alice: KernelTarget = { serverUrl: `${base}/user/alice/lab/`, headers: { authorization: `token ${adminToken}` } };
    const kernel = await startKernel(alice);
    const reach = async (host: string, port: number | string) =>
      (
        await execute(
          alice,
          kernel,
          `import socket\ntry:\n    socket.create_connection((${JSON.stringify(host)}, ${port}), timeout=3).close()\n    print("REACHED")\nexcept OSError as e:\n    print("BLOCKED", type(e).__name__)`,
        )
      ).trim();
    // Allowed: the hub's pod on its port (a server reports its activity to the hub's API).
    expect(await reach(hubPod!.status!.podIP!, 8081)).toBe("REACHED");
    // Refused: the hub's database on this machine, another user's server.
    expect(await reach(database.hostname, database.port)).toMatch(/^BLOCKED/);
    expect(await reach(bobPod!.status!.podIP!, 8888)).toMatch(/^BLOCKED/);
    // While the hub reaches bob's server (its proxy) and its database (it answers).
    expect((await request(base, "GET", "/user/bob/lab/api/status", { token: adminToken })).status).toBe(200);
  }, 420_000);
});
