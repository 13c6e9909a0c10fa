/**
 * The Kubernetes backend at work (issue 12), one run on the real test cluster (scripts/test-cluster.sh), the hub as
 * its own process (the CLI) with `spawner.backend: kubernetes`, servers running the stand-in server
 * (bench/stand-in-server.py with the test image's Python): what is measured is the hub, not Jupyter.
 *
 *   bench/run.sh kubernetes       (starts the test cluster, runs this from server/, stops the cluster)
 *
 * - Spawn overhead: POST …/server → the progress stream's `ready`, minus the pod's own start (the bench's own watch
 *   sees the pod created, then its container running: both with millisecond times, unlike events' timestamps). These
 *   servers get a whole CPU and are deleted after each sample: with the few millicores the 100 below get, the
 *   stand-in's own start is throttled to seconds, which would be counted as the hub's.
 * - The shared watches' API requests (`ganymede_backend_requests_total` at /hub/metrics) over an idle window with
 *   10 servers running, then with 100: what they cost must not grow with the servers.
 * - The hub's memory (RSS) with 10 and with 100 pods running.
 *
 * Knobs: BENCH_K8S_SERVERS (100), BENCH_K8S_SPAWNS (10, the overhead's sample), BENCH_K8S_WINDOW seconds (120).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hubSelector } from "../server/src/spawners/kubernetes/naming.js";
import { adminTokenOf, makeDataDir, readEvents, request, spawnHubProcess, waitForHealth } from "../server/test/support/hub.js";
import { clusterClient, clusterKubeconfig, clusterServerImage, watchPods } from "../server/test/support/kubernetes.js";
import { standInServer } from "../server/test/support/paths.js";
import { freePort } from "../server/test/support/service-process.js";

const SERVERS = Number(process.env.BENCH_K8S_SERVERS ?? 100);
const SPAWNS = Number(process.env.BENCH_K8S_SPAWNS ?? 10);
const WINDOW_S = Number(process.env.BENCH_K8S_WINDOW ?? 120);

const POLICY = `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 16MiB, cpu: 0.01, memory: 32MiB, concurrentBuilds: 1, buildTimeout: 10m }
`;
/** The overhead's samples: one CPU each, one at a time. */
const WHOLE_CPU = `name: whole-cpu
appliesTo: { groups: [overhead] }
priority: 10
limits: { cpu: 1, memory: 256MiB }
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function backendRequests(base: string, token: string): Promise<number> {
  const text = (await request(base, "GET", "/hub/metrics", { token })).body as string;
  return [...text.matchAll(/^ganymede_backend_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

async function main() {
  const namespace = `gkbench-${randomBytes(3).toString("hex")}`;
  const kubeconfig = clusterKubeconfig();
  const { core } = clusterClient();
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const image = await clusterServerImage();
  const prefix = "gbench";

  // The pod's own start, seen by the bench's watch: created → container running (ms times on this machine's clock).
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  const stopWatching = await watchPods(namespace, hubSelector(prefix), (type, pod) => {
    const name = pod.metadata!.name!;
    if (type === "ADDED" && !created.has(name)) created.set(name, performance.now());
    if (pod.status?.containerStatuses?.[0]?.state?.running && !running.has(name)) running.set(name, performance.now());
  });

  const dataDir = makeDataDir();
  const policies = path.join(dataDir, "policies");
  mkdirSync(policies);
  writeFileSync(path.join(policies, "default.yaml"), POLICY);
  writeFileSync(path.join(policies, "whole-cpu.yaml"), WHOLE_CPU);
  const base = `http://127.0.0.1:${await freePort()}`;
  const configFile = path.join(dataDir, "ganymede.yaml");
  // JSON is YAML: the configuration file without a YAML library here.
  writeFileSync(
    configFile,
    JSON.stringify({
      hub: { bind: base, dataDir },
      policies: { dir: policies },
      spawner: {
        backend: "kubernetes",
        startTimeout: "300s",
        stopGrace: "1s",
        kubernetes: { kubeconfig, namespace, image, command: ["python3", "-c", readFileSync(standInServer[1]!, "utf8")], namePrefix: prefix },
      },
      culler: { enabled: false },
    }),
  );
  const hub = spawnHubProcess(configFile);
  const rows: string[][] = [];
  try {
    await waitForHealth(base, 60_000);
    const token = await adminTokenOf(dataDir);
    const users = Array.from({ length: SERVERS }, (_, i) => `kb${String(i).padStart(3, "0")}`);
    if ((await request(base, "POST", "users", { token, body: { usernames: users } })).status !== 201) throw new Error("could not create the users");

    const samplers = Array.from({ length: SPAWNS }, (_, i) => `ov${i}`);
    for (const user of samplers) {
      const made = await request(base, "POST", `users/${user}`, { token, body: { groups: ["overhead"] } });
      if (made.status !== 201) throw new Error(`could not create ${user}: ${made.status} ${JSON.stringify(made.body)}`);
    }

    const start = async (user: string): Promise<{ total: number; pod: number; ready: number }> => {
      const t0 = performance.now();
      const res = await request(base, "POST", `users/${user}/server`, { token });
      if (![201, 202].includes(res.status)) throw new Error(`start of ${user}: ${res.status} ${JSON.stringify(res.body)}`);
      const last = (await readEvents(base, `/hub/api/users/${user}/server/progress`, token, 300_000)).at(-1)!;
      if (!last.ready) throw new Error(`start of ${user} failed: ${String(last.message)}`);
      const total = performance.now() - t0;
      const pod = `${prefix}-${user}`;
      return { total, pod: running.get(pod)! - created.get(pod)!, ready: t0 + total - running.get(pod)! };
    };

    // One at a time, each deleted after: the overhead of a spawn, without queueing behind others.
    const samples: Array<{ total: number; pod: number; ready: number }> = [];
    for (const user of samplers) {
      samples.push(await start(user));
      await request(base, "DELETE", `users/${user}/server`, { token });
      while ((await core.listNamespacedPod({ namespace, labelSelector: hubSelector(prefix) })).items.length) await sleep(500);
    }
    const overheads = samples.map((s) => s.total - s.pod);
    rows.push([
      `Spawn, one at a time (${SPAWNS}): POST → ready, median`,
      `${(median(samples.map((s) => s.total)) / 1000).toFixed(2)} s (the pod's own start, created → running: ${(median(samples.map((s) => s.pod)) / 1000).toFixed(2)} s)`,
    ]);
    rows.push(["Spawn overhead (POST → ready minus the pod's own start), median / max", `${Math.round(median(overheads))} ms / ${Math.round(Math.max(...overheads))} ms`]);
    rows.push(["… of which: container running → the hub's `ready` (the stand-in's start, the watch, the readiness check), median", `${Math.round(median(samples.map((s) => s.ready)))} ms`]);

    const idle = async (label: string) => {
      await sleep(5000);
      const before = await backendRequests(base, token);
      await sleep(WINDOW_S * 1000);
      const after = await backendRequests(base, token);
      rows.push([`Shared watches' API requests in ${WINDOW_S} s idle with ${label} running`, `${after - before}`]);
      rows.push([`Hub RSS with ${label} running`, `${Math.round(rssMiB(hub.pid!))} MiB`]);
    };
    for (let i = 0; i < 10; i += 5) await Promise.all(users.slice(i, i + 5).map(start));
    await idle("10 servers");

    const rest = users.slice(10);
    const t0 = performance.now();
    for (let i = 0; i < rest.length; i += 10) await Promise.all(rest.slice(i, i + 10).map(start));
    rows.push([`Starting ${rest.length} more (a hundredth of a CPU each), 10 at a time, until all ready`, `${((performance.now() - t0) / 1000).toFixed(0)} s`]);
    await idle(`${SERVERS} servers`);
    rows.push(["Shared watches' API requests in the whole run (lists + watches, both watches)", `${await backendRequests(base, token)}`]);

    for (let i = 0; i < users.length; i += 20) {
      await Promise.all(users.slice(i, i + 20).map((user) => request(base, "DELETE", `users/${user}/server`, { token, body: { remove: false } })));
    }
    while ((await core.listNamespacedPod({ namespace, labelSelector: hubSelector(prefix) })).items.length) await sleep(1000);
  } finally {
    hub.kill("SIGTERM");
    stopWatching();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`\n| Measure (Kubernetes backend, one run) | Ganymede |\n| --- | ---: |`);
  for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
}

await main();
process.exit(0);
