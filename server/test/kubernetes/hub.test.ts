/**
 * The hub with `spawner.backend: kubernetes`, end to end on the real test cluster: a named server started through the
 * REST API becomes a running pod with the policy's limits in its spec and in its cgroup, its claim bound, and a
 * kernel runs through the hub's proxy; stop keeps the claim, delete removes it; a sixth named server is refused
 * before any object is made; a pod no node can take fails with the scheduler's words, an image that does not exist
 * with the pull error; a hub killed with SIGKILL and started again loses no running server.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubSelector, serverAnnotations, serverLabels } from "../../src/spawners/kubernetes/naming.js";
import { adminTokenOf, makeDataDir, readEvents, spawnHubProcess, startTestHub, waitFor, waitForHealth, type TestHub } from "../support/hub.js";
import { execute, startKernel } from "../support/kernel.js";
import { clusterKubeconfig, clusterLeftovers, clusterServerImage, testNamespace, type TestNamespace } from "../support/kubernetes.js";
import { freePort } from "../support/service-process.js";

const prefix = `ghub-${randomBytes(3).toString("hex")}`;
let namespace: TestNamespace;
let image: string;
let t: TestHub | undefined;
let alice: string;

/** Small servers, so that six fit on the test node's two cores; "greedy" asks for more CPU than any node has. */
const POLICIES = {
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 64MiB, cpu: 0.1, memory: 256MiB, concurrentBuilds: 1, buildTimeout: 10m }
`,
  "greedy.yaml": `name: greedy
appliesTo: { users: [greedy] }
limits: { cpu: 64 }
`,
  "envy.yaml": `name: envy
appliesTo: { users: [envy] }
limits: { cpu: 0.2 }
environments:
  - { name: pinned, displayName: Pinned to Linux nodes, command: [jupyter, server], cpu: 0.15, nodeSelector: { kubernetes.io/os: linux } }
`,
};

const kubernetesConfig = (overrides: Record<string, unknown> = {}) => ({
  kubeconfig: clusterKubeconfig(),
  namespace: namespace.name,
  image,
  command: ["jupyter", "server"],
  namePrefix: prefix,
  ...overrides,
});

const hubConfig = () => ({
  spawner: { backend: "kubernetes" as const, slowSpawnTimeout: "0s", startTimeout: "40s", stopGrace: "2s", kubernetes: kubernetesConfig() },
});

beforeAll(async () => {
  namespace = await testNamespace();
  image = await clusterServerImage();
  t = await startTestHub({ config: hubConfig(), policies: POLICIES });
  alice = await t.addUser("alice");
}, 900_000);

afterAll(async () => {
  const dataDir = t?.dataDir;
  await t?.close();
  // A hub started again on the same data leaves its folder to the test that made it.
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await namespace?.remove();
});

const pods = async (): Promise<V1Pod[]> => (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: hubSelector(prefix) })).items;
const claim = (name: string) => namespace.core.readNamespacedPersistentVolumeClaim({ name, namespace: namespace.name }).catch(() => undefined);

describe("a named server as a pod", () => {
  it("starts through the REST API, with the policy's limits in the pod and its cgroup, its claim bound, and runs a kernel through the proxy", async () => {
    const hub = t!;
    expect((await hub.api("POST", "users/alice/servers/work", { token: alice })).status).toBe(202);
    const events = await readEvents(hub.url, "/hub/api/users/alice/servers/work/progress", alice, 120_000);
    expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true, url: "/user/alice/work/" });
    const messages = events.map((e) => String(e.message));
    // The hub's own steps, then the pod's own Kubernetes events.
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Storage claimed: 64 MiB/),
      expect.stringMatching(/^Pod ghub-\w+-alice--work requested/),
      expect.stringMatching(/^Scheduled: /),
      expect.stringMatching(/^Started: /),
    ]));

    const [pod] = await pods();
    expect(pod?.metadata?.name).toBe(`${prefix}-alice--work`);
    const container = pod!.spec!.containers[0]!;
    expect(container.resources).toEqual({ requests: { cpu: "100m", memory: String(256 * 2 ** 20) }, limits: { cpu: "100m", memory: String(256 * 2 ** 20) } });
    expect(pod!.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod!.spec!.automountServiceAccountToken).toBe(false);
    expect((await claim(`${prefix}-alice--work`))?.status?.phase).toBe("Bound");

    const serverUrl = `${hub.url}/user/alice/work/`;
    const target = { serverUrl, headers: { authorization: `token ${alice}` } };
    const kernel = await startKernel(target);
    // What the kernel sees: its cgroup's limits (cgroup v1 here; v2 has cpu.max and memory.max instead), its uid and
    // that its home is the claim (writable, and not the image's folder).
    const seen = await execute(
      target,
      kernel,
      [
        "import os",
        "def read(p):",
        "    try: return open(p).read().strip()",
        "    except OSError: return '-'",
        "print(read('/sys/fs/cgroup/memory/memory.limit_in_bytes'), read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'), read('/sys/fs/cgroup/memory.max'), read('/sys/fs/cgroup/cpu.max'))",
        "print(os.getuid(), os.getcwd())",
        "open('kept.txt', 'w').write('on the claim')",
        "open('three-mib.bin', 'wb').write(os.urandom(3 * 2**20))",
      ].join("\n"),
    );
    const [limits, who] = seen.trim().split("\n");
    const [memoryV1, quota, period, memoryV2, cpuV2] = limits!.split(" ");
    if (memoryV1 !== "-") {
      expect(Number(memoryV1)).toBe(256 * 2 ** 20);
      expect(Number(quota) / Number(period)).toBeCloseTo(0.1);
    } else {
      expect(Number(memoryV2)).toBe(256 * 2 ** 20);
      expect(cpuV2).toMatch(/^10000 100000$/);
    }
    expect(who).toBe("1000 /home/jovyan");

    const model = await hub.api("GET", "users/alice", { token: alice });
    expect(model.body.servers.work.enforcement).toMatchObject({ cpu: { enforced: true, by: expect.stringContaining("Kubernetes") } });
    // Storage used, measured on the claim in the pod: the 3 MiB just written and little else.
    expect(model.body.servers.work.storage_used_bytes).toBeGreaterThanOrEqual(3 * 2 ** 20);
    expect(model.body.servers.work.storage_used_bytes).toBeLessThan(16 * 2 ** 20);
  });

  it("keeps the claim (and what is on it) across a stop, and deletes it with the server", async () => {
    const hub = t!;
    const name = `${prefix}-alice--work`;
    expect([202, 204]).toContain((await hub.api("DELETE", "users/alice/servers/work", { token: alice })).status);
    await waitFor(async () => (await pods()).length === 0, 60_000);
    // The pod can be gone a moment before the hub has recorded the stop; a start until then is refused as pending.
    await waitFor(async () => (await hub.api("GET", "users/alice?include_stopped_servers", { token: alice })).body.servers.work.pending === null, 30_000);
    expect((await claim(name))?.status?.phase).toBe("Bound");
    // While stopped, the last measure stands (nothing writes to the claim then).
    const stopped = await hub.api("GET", "users/alice?include_stopped_servers", { token: alice });
    expect(stopped.body.servers.work.storage_used_bytes).toBeGreaterThanOrEqual(3 * 2 ** 20);

    expect((await hub.api("POST", "users/alice/servers/work", { token: alice })).status).toBe(202);
    expect((await readEvents(hub.url, "/hub/api/users/alice/servers/work/progress", alice, 120_000)).at(-1)).toMatchObject({ ready: true });
    const file = await fetch(`${hub.url}/user/alice/work/api/contents/kept.txt?content=1`, { headers: { authorization: `token ${alice}` } });
    expect(((await file.json()) as { content: string }).content).toBe("on the claim");

    expect([202, 204]).toContain((await hub.api("DELETE", "users/alice/servers/work", { token: alice, body: { remove: true } })).status);
    await waitFor(async () => (await claim(name)) === undefined, 60_000);
    expect(await clusterLeftovers(namespace.core, namespace.name, prefix)).toEqual([]);
  });
});

describe("refusals and failures, in the cluster's words, leaving nothing behind", () => {
  it("refuses a sixth named server before any object is made", async () => {
    const hub = t!;
    const bob = await hub.addUser("bob");
    const names = ["s1", "s2", "s3", "s4", "s5"];
    const claimsOnly = names.map((name) => `claim ${prefix}-bob--${name}`);
    try {
      // Five named servers exist (made, then stopped: a stopped server still counts).
      for (const name of names) expect((await hub.api("POST", `users/bob/servers/${name}`, { token: bob })).status).toBe(202);
      for (const name of names) {
        expect((await readEvents(hub.url, `/hub/api/users/bob/servers/${name}/progress`, bob, 120_000)).at(-1)).toMatchObject({ ready: true });
        await hub.api("DELETE", `users/bob/servers/${name}`, { token: bob });
      }
      // Stopped for good: pods and Secrets gone, the claims kept.
      await waitFor(async () => JSON.stringify(await clusterLeftovers(namespace.core, namespace.name, prefix)) === JSON.stringify(claimsOnly), 60_000);

      const sixth = await hub.api("POST", "users/bob/servers/s6", { token: bob });
      expect(sixth.status).toBe(400);
      expect(sixth.body).toMatchObject({ error: "policy_denied" });
      expect(sixth.body.message).toMatch(/bob already has 5 named servers \(s1, s2, s3, s4, s5\); policy `default` allows 5/);
      expect(await clusterLeftovers(namespace.core, namespace.name, prefix)).toEqual(claimsOnly);
    } finally {
      for (const name of names) await hub.api("DELETE", `users/bob/servers/${name}`, { token: bob, body: { remove: true } });
      await waitFor(async () => (await clusterLeftovers(namespace.core, namespace.name, prefix)).length === 0, 60_000);
    }
  }, 600_000);

  it("fails a pod no node can take with the scheduler's message when the start times out", async () => {
    const hub = t!;
    const greedy = await hub.addUser("greedy");
    expect((await hub.api("POST", "users/greedy/servers/big", { token: greedy })).status).toBe(202);
    const events = await readEvents(hub.url, "/hub/api/users/greedy/servers/big/progress", greedy, 120_000);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ failed: true });
    expect(String(last.message)).toMatch(/did not start in time: no node can take it: 0\/1 nodes are available: 1 Insufficient cpu/);
    expect(events.map((e) => String(e.message))).toEqual(expect.arrayContaining([expect.stringMatching(/^FailedScheduling: /)]));
    // A server created by that start: nothing of it stays (pod, Secret, claim), nor its row.
    expect(await clusterLeftovers(namespace.core, namespace.name, prefix)).toEqual([]);
    expect((await hub.api("GET", "users/greedy", { token: greedy })).body.servers).toEqual({});
  }, 180_000);

  it("fails an image that does not exist at once, with the pull error", async () => {
    const hub = t!;
    await hub.hub.close();
    const dataDir = hub.dataDir;
    t = await startTestHub({
      dataDir,
      policies: POLICIES,
      config: { spawner: { ...hubConfig().spawner, kubernetes: kubernetesConfig({ image: "ganymede-test/no-such-image:1", imagePullPolicy: "Never" }) } },
    });
    const started = performance.now();
    expect((await t.api("POST", "users/alice/servers/nope", { token: alice })).status).toBe(202);
    const last = (await readEvents(t.url, "/hub/api/users/alice/servers/nope/progress", alice, 60_000)).at(-1)!;
    expect(last).toMatchObject({ failed: true });
    expect(String(last.message)).toMatch(/The image ganymede-test\/no-such-image:1 could not be pulled \(ErrImageNeverPull\)/);
    expect(performance.now() - started).toBeLessThan(30_000); // not the start timeout
    expect(await clusterLeftovers(namespace.core, namespace.name, prefix)).toEqual([]);
    await t.hub.close();
    t = await startTestHub({ dataDir, policies: POLICIES, config: hubConfig() });
  }, 180_000);
});

describe("more failures, in the cluster's words", () => {
  it("reports a server that exits during its start with its exit code and last log lines", async () => {
    const hub = t!;
    const dataDir = hub.dataDir;
    await hub.hub.close();
    t = await startTestHub({
      dataDir,
      policies: POLICIES,
      config: { spawner: { ...hubConfig().spawner, kubernetes: kubernetesConfig({ command: ["sh", "-c", "echo cannot start: broken config >&2; exit 3"] }) } },
    });
    expect((await t.api("POST", "users/alice/servers/broken", { token: alice })).status).toBe(202);
    const last = (await readEvents(t.url, "/hub/api/users/alice/servers/broken/progress", alice, 60_000)).at(-1)!;
    expect(last).toMatchObject({ failed: true });
    expect(String(last.message)).toMatch(/exited during its start \(exit code 3\)[\s\S]*cannot start: broken config/);
    expect(await clusterLeftovers(namespace.core, namespace.name, prefix)).toEqual([]);
    await t.hub.close();
    t = await startTestHub({ dataDir, policies: POLICIES, config: hubConfig() });
  }, 180_000);

  it("passes on the API server's refusal (a quota) and leaves nothing behind", async () => {
    await namespace.core.createNamespacedResourceQuota({ namespace: namespace.name, body: { metadata: { name: "no-pods" }, spec: { hard: { pods: "0" } } } });
    try {
      const res = await t!.api("POST", "users/alice/servers/quota", { token: alice });
      const last = res.status === 202 ? (await readEvents(t!.url, "/hub/api/users/alice/servers/quota/progress", alice, 60_000)).at(-1)! : { failed: true, message: res.body.message };
      expect(last).toMatchObject({ failed: true });
      expect(String(last.message)).toMatch(/the cluster refused the server: .*forbidden: exceeded quota: no-pods/);
      expect(await clusterLeftovers(namespace.core, namespace.name, prefix)).toEqual([]);
    } finally {
      await namespace.core.deleteNamespacedResourceQuota({ name: "no-pods", namespace: namespace.name });
    }
  }, 120_000);

  it("reports, after a restart, a pod of its own no server row knows, and leaves it running", async () => {
    const stray = `${prefix}-nobody--stray`;
    await namespace.core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: { name: stray, labels: serverLabels(prefix, { user: "nobody", serverName: "stray" }), annotations: serverAnnotations({ user: "nobody", serverName: "stray" }) },
        spec: { containers: [{ name: "notebook", image, imagePullPolicy: "IfNotPresent", command: ["sleep", "600"] }], terminationGracePeriodSeconds: 0 },
      },
    });
    const dataDir = t!.dataDir;
    await t!.hub.close();
    const logLines: string[] = [];
    t = await startTestHub({ dataDir, policies: POLICIES, logLines, config: { ...hubConfig(), logging: { level: "warn" } } });
    const warning = logLines.find((line) => line.includes("runs servers this hub has no record of"));
    expect(warning).toContain(`pod ${stray}`);
    expect((await namespace.core.readNamespacedPod({ name: stray, namespace: namespace.name })).metadata?.deletionTimestamp).toBeUndefined();
    await namespace.core.deleteNamespacedPod({ name: stray, namespace: namespace.name, gracePeriodSeconds: 0 });
  }, 120_000);
});

describe("environments", () => {
  it("starts a pod as the environment chosen: its command, resources and node labels", async () => {
    const hub = t!;
    const envy = await hub.addUser("envy");
    expect((await hub.api("POST", "users/envy/servers/e", { token: envy, body: { profile: "pinned" } })).status).toBe(202);
    expect((await readEvents(hub.url, "/hub/api/users/envy/servers/e/progress", envy, 120_000)).at(-1)).toMatchObject({ ready: true });
    const pod = (await pods()).find((p) => p.metadata?.name === `${prefix}-envy--e`)!;
    expect(pod.spec!.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(pod.spec!.containers[0]!.command!.slice(0, 2)).toEqual(["jupyter", "server"]);
    expect(pod.spec!.containers[0]!.resources!.limits).toMatchObject({ cpu: "150m" });
    expect((await fetch(`${hub.url}/user/envy/e/api/status`, { headers: { authorization: `token ${envy}` } })).status).toBe(200);
    expect([202, 204]).toContain((await hub.api("DELETE", "users/envy/servers/e", { token: envy, body: { remove: true } })).status);
    await waitFor(async () => (await clusterLeftovers(namespace.core, namespace.name, prefix)).length === 0, 60_000);
  }, 180_000);
});

describe("a hub killed and started again", () => {
  it("loses no running server: the new hub process reattaches to the pod", async () => {
    const dataDir = makeDataDir();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const configFile = path.join(dataDir, "ganymede.yaml");
    const policiesDir = path.join(dataDir, "policies");
    mkdirSync(policiesDir);
    for (const [name, text] of Object.entries(POLICIES)) writeFileSync(path.join(policiesDir, name), text);
    writeFileSync(
      configFile,
      YAML.stringify({
        hub: { bind: base, dataDir },
        policies: { dir: policiesDir },
        spawner: { ...hubConfig().spawner, kubernetes: kubernetesConfig({ namePrefix: `${prefix}k` }) },
        culler: { enabled: false },
      }),
    );
    let hub = spawnHubProcess(configFile);
    try {
      await waitForHealth(base, 60_000);
      const token = await adminTokenOf(dataDir);
      expect((await fetch(`${base}/hub/api/users/admin/servers/kept`, { method: "POST", headers: { authorization: `token ${token}` } })).status).toBe(202);
      expect((await readEvents(base, "/hub/api/users/admin/servers/kept/progress", token, 120_000)).at(-1)).toMatchObject({ ready: true });
      const podBefore = (await namespace.core.readNamespacedPod({ name: `${prefix}k-admin--kept`, namespace: namespace.name })).metadata?.uid;

      hub.kill("SIGKILL");
      await new Promise((r) => hub.once("exit", r));
      hub = spawnHubProcess(configFile);
      await waitForHealth(base, 60_000);
      const status = await fetch(`${base}/user/admin/kept/api/status`, { headers: { authorization: `token ${token}` } });
      expect(status.status).toBe(200);
      const model = (await (await fetch(`${base}/hub/api/users/admin`, { headers: { authorization: `token ${token}` } })).json()) as { servers: Record<string, { ready: boolean }> };
      expect(model.servers.kept?.ready).toBe(true);
      expect((await namespace.core.readNamespacedPod({ name: `${prefix}k-admin--kept`, namespace: namespace.name })).metadata?.uid).toBe(podBefore);

      await fetch(`${base}/hub/api/users/admin/servers/kept`, { method: "DELETE", headers: { authorization: `token ${token}`, "content-type": "application/json" }, body: JSON.stringify({ remove: true }) });
      await waitFor(async () => (await clusterLeftovers(namespace.core, namespace.name, `${prefix}k`)).length === 0, 60_000);
    } finally {
      hub.kill("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
