/**
 * The Kubernetes backend at work (issue 12) beside JupyterHub 5 with KubeSpawner doing the same work, one run on the
 * real test cluster (scripts/test-cluster.sh). Each hub runs as its own process, alone on the cluster, in a namespace
 * of its own; servers are pods with a claim each, running the stand-in server (bench/stand-in-server.py with the test
 * image's Python): what is measured is the hubs, not Jupyter.
 *
 *   bench/run.sh kubernetes       (starts the test cluster, runs this from server/, stops the cluster)
 *
 * - Spawn overhead: POST …/server → the progress stream's `ready` (both hubs have the same stream), minus the pod's
 *   own start (the bench's own watch sees the pod created, then its container running: both with millisecond times,
 *   unlike events' timestamps). These servers get a whole CPU and are deleted after each sample: with the few
 *   millicores the 100 below get, the stand-in's own start is throttled to seconds, which would be counted as the hub's.
 * - What the hub asks of the API server while idle, with 10 servers running, then with 100: the API server's own
 *   counters (apiserver_request_total, apiserver_response_sizes) of namespaced LISTs and WATCHes of pods and events,
 *   the hubs' only namespaced ones (the kubelet and controllers list cluster-wide; the bench's own watch stays open).
 *   Ganymede's own count (`ganymede_backend_requests_total`) is shown beside it.
 * - The hub's memory (RSS; JupyterHub's with configurable-http-proxy's, its proxy) with 10 and with 100 pods running.
 *
 * Knobs: BENCH_K8S_HUBS (ganymede,kubespawner), BENCH_K8S_SERVERS (100), BENCH_K8S_SPAWNS (10, the overhead's sample),
 * BENCH_K8S_WINDOW seconds (120).
 */
import { execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
// @ts-expect-error: the benchmark's own JavaScript helpers (no types)
import { CACHE, startJupyterHub } from "./hubs.mjs";
import { ANNOTATION_USER, hubSelector } from "../server/src/spawners/kubernetes/naming.js";
import { adminTokenOf, makeDataDir, readEvents, request, spawnHubProcess, waitForHealth } from "../server/test/support/hub.js";
import { clusterClient, clusterKubeconfig, clusterServerImage, watchPods } from "../server/test/support/kubernetes.js";
import { standInServer } from "../server/test/support/paths.js";
import { freePort } from "../server/test/support/service-process.js";

const HUBS = (process.env.BENCH_K8S_HUBS ?? "ganymede,kubespawner").split(",");
const SERVERS = Number(process.env.BENCH_K8S_SERVERS ?? 100);
const SPAWNS = Number(process.env.BENCH_K8S_SPAWNS ?? 10);
const WINDOW_S = Number(process.env.BENCH_K8S_WINDOW ?? 120);
const KUBESPAWNER_VENV = path.join(CACHE as string, "kubespawner-venv");

/** What both hubs' servers get: Ganymede's through its policies, KubeSpawner's through its configuration. */
const SMALL = { cpu: 0.01, memory: "32Mi", storage: "16Mi" };

const POLICY = `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 16MiB, cpu: ${SMALL.cpu}, memory: 32MiB, concurrentBuilds: 1, buildTimeout: 10m }
`;
/** The overhead's samples (users ov*): one CPU each, one at a time. */
const WHOLE_CPU = `name: whole-cpu
appliesTo: { groups: [overhead] }
priority: 10
limits: { cpu: 1, memory: 256MiB }
`;

const run = promisify(execFile);
/** A pod as the test support's watch gives it (bench/ has no node_modules of its own to name the client's type). */
type V1Pod = Parameters<Parameters<typeof watchPods>[2]>[1];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

/** One hub as the benchmark drives it: the same REST API and progress stream, its own pods and processes. */
interface HubUnderTest {
  label: string;
  base: string;
  token: string;
  /** The label selector of its server pods, and the user a pod serves. */
  podSelector: string;
  userOf(pod: V1Pod): string | undefined;
  /** Processes weighed for memory: the hub, and its proxy when it has one of its own. */
  pids(): { hub: number; proxy?: number };
  /** The hub's own count of its API requests, when it keeps one. */
  ownRequests?(): Promise<number>;
  close(): Promise<void>;
}

/** The API server's counters of namespaced LISTs and WATCHes of pods and events (requests, and bytes listed). */
async function apiServerCounters(kubeconfig: string): Promise<{ requests: number; listedBytes: number }> {
  const { stdout } = await run("kubectl", ["--kubeconfig", kubeconfig, "get", "--raw", "/metrics"], { maxBuffer: 256 * 2 ** 20 });
  let requests = 0;
  let listedBytes = 0;
  for (const line of stdout.split("\n")) {
    const m = /^(apiserver_request_total|apiserver_response_sizes_sum)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (!["pods", "events"].includes(labels.resource!) || labels.scope !== "namespace" || labels.subresource) continue;
    if (m[1] === "apiserver_request_total" && ["LIST", "WATCH"].includes(labels.verb!)) requests += Number(m[3]);
    if (m[1] === "apiserver_response_sizes_sum" && labels.verb === "LIST") listedBytes += Number(m[3]);
  }
  return { requests, listedBytes };
}

async function startGanymede(namespace: string, kubeconfig: string, image: string, dataDir: string): Promise<HubUnderTest> {
  const policies = path.join(dataDir, "policies");
  mkdirSync(policies);
  writeFileSync(path.join(policies, "default.yaml"), POLICY);
  writeFileSync(path.join(policies, "whole-cpu.yaml"), WHOLE_CPU);
  const base = `http://127.0.0.1:${await freePort()}`;
  const configFile = path.join(dataDir, "ganymede.yaml");
  const prefix = "gbench";
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
  const hub: ChildProcess = spawnHubProcess(configFile);
  await waitForHealth(base, 60_000);
  const token = await adminTokenOf(dataDir);
  for (let i = 0; i < SPAWNS; i++) {
    const made = await request(base, "POST", `users/ov${i}`, { token, body: { groups: ["overhead"] } });
    if (made.status !== 201) throw new Error(`could not create ov${i}: ${made.status} ${JSON.stringify(made.body)}`);
  }
  return {
    label: "Ganymede",
    base,
    token,
    podSelector: hubSelector(prefix),
    userOf: (pod) => pod.metadata?.annotations?.[ANNOTATION_USER],
    pids: () => ({ hub: hub.pid! }),
    ownRequests: async () => {
      const text = (await request(base, "GET", "/hub/metrics", { token })).body as string;
      return [...text.matchAll(/^ganymede_backend_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    },
    close: async () => {
      hub.kill("SIGTERM");
      await new Promise((r) => hub.once("exit", r));
    },
  };
}

async function startKubeSpawnerHub(namespace: string, kubeconfig: string, image: string, dataDir: string): Promise<HubUnderTest> {
  if (!existsSync(path.join(KUBESPAWNER_VENV, "bin", "jupyterhub"))) throw new Error(`no ${KUBESPAWNER_VENV}: run bench/run.sh kubernetes`);
  const hub = await startJupyterHub(path.join(dataDir, "jupyterhub"), {
    kubernetes: {
      venv: KUBESPAWNER_VENV,
      kubeconfig,
      namespace,
      image,
      command: ["python3", "-c", readFileSync(standInServer[1]!, "utf8")],
      cpu: SMALL.cpu,
      // JupyterHub writes memory with binary suffixes without the i (its M is 2^20 bytes).
      memory: SMALL.memory.replace(/i$/, ""),
      storage: SMALL.storage,
    },
  });
  const samplers = Array.from({ length: SPAWNS }, (_, i) => `ov${i}`);
  if ((await request(hub.url, "POST", "users", { token: hub.adminToken, body: { usernames: samplers } })).status !== 201) throw new Error("could not create the samplers");
  return {
    label: "JupyterHub + KubeSpawner",
    base: hub.url,
    token: hub.adminToken,
    podSelector: "component=singleuser-server",
    userOf: (pod) => pod.metadata?.annotations?.["hub.jupyter.org/username"],
    pids: () => hub.pids(),
    close: () => hub.close(),
  };
}

const START = { ganymede: startGanymede, kubespawner: startKubeSpawnerHub } as const;

/** One hub's whole run: the rows of its column. */
async function measure(which: keyof typeof START): Promise<Map<string, string>> {
  const namespace = `gkbench-${randomBytes(3).toString("hex")}`;
  const kubeconfig = clusterKubeconfig();
  const { core } = clusterClient();
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const image = await clusterServerImage();
  const dataDir = makeDataDir();
  const rows = new Map<string, string>();
  let hub: HubUnderTest | undefined;
  let stopWatching = () => {};
  try {
    hub = await START[which](namespace, kubeconfig, image, dataDir);
    const h = hub;
    // The pod's own start, seen by the bench's watch: created → container running (ms times on this machine's clock).
    const created = new Map<string, number>();
    const running = new Map<string, number>();
    stopWatching = await watchPods(namespace, h.podSelector, (type, pod) => {
      const user = h.userOf(pod);
      if (!user) return;
      if (type === "ADDED" && !created.has(user)) created.set(user, performance.now());
      if (pod.status?.containerStatuses?.[0]?.state?.running && !running.has(user)) running.set(user, performance.now());
      if (type === "DELETED") [created, running].forEach((m) => m.delete(user));
    });
    const podsLeft = async () => (await core.listNamespacedPod({ namespace, labelSelector: h.podSelector })).items.length;

    const users = Array.from({ length: SERVERS }, (_, i) => `kb${String(i).padStart(3, "0")}`);
    if ((await request(h.base, "POST", "users", { token: h.token, body: { usernames: users } })).status !== 201) throw new Error("could not create the users");

    const start = async (user: string): Promise<{ total: number; pod: number; ready: number }> => {
      const t0 = performance.now();
      const res = await request(h.base, "POST", `users/${user}/server`, { token: h.token });
      if (![201, 202].includes(res.status)) throw new Error(`start of ${user}: ${res.status} ${JSON.stringify(res.body)}`);
      const last = (await readEvents(h.base, `/hub/api/users/${user}/server/progress`, h.token, 300_000)).at(-1)!;
      if (!last.ready) throw new Error(`start of ${user} failed: ${String(last.message)}`);
      const total = performance.now() - t0;
      return { total, pod: running.get(user)! - created.get(user)!, ready: t0 + total - running.get(user)! };
    };
    const stop = (user: string) => request(h.base, "DELETE", `users/${user}/server`, { token: h.token });

    // One at a time, each deleted after: the overhead of a spawn, without queueing behind others.
    const samples: Array<{ total: number; pod: number; ready: number }> = [];
    for (let i = 0; i < SPAWNS; i++) {
      samples.push(await start(`ov${i}`));
      await stop(`ov${i}`);
      while (await podsLeft()) await sleep(500);
    }
    const overheads = samples.map((s) => s.total - s.pod);
    rows.set(
      `Spawn, one at a time (${SPAWNS}): POST → ready, median (the pod's own start, created → running)`,
      `${(median(samples.map((s) => s.total)) / 1000).toFixed(2)} s (${(median(samples.map((s) => s.pod)) / 1000).toFixed(2)} s)`,
    );
    rows.set("Spawn overhead (POST → ready minus the pod's own start), median / max", `${Math.round(median(overheads))} ms / ${Math.round(Math.max(...overheads))} ms`);
    rows.set("… of which: container running → the hub's `ready`, median", `${Math.round(median(samples.map((s) => s.ready)))} ms`);

    const idle = async (label: string) => {
      await sleep(5000);
      const [before, ownBefore] = [await apiServerCounters(kubeconfig), await h.ownRequests?.()];
      await sleep(WINDOW_S * 1000);
      const [after, ownAfter] = [await apiServerCounters(kubeconfig), await h.ownRequests?.()];
      const own = ownBefore === undefined || ownAfter === undefined ? "" : ` (its own count: ${ownAfter - ownBefore})`;
      rows.set(`API requests in ${WINDOW_S} s idle with ${label} running (LIST + WATCH of pods and events)`, `${after.requests - before.requests}${own}`);
      rows.set(`… bytes the API server sent in answer to LISTs in those ${WINDOW_S} s (${label})`, `${((after.listedBytes - before.listedBytes) / 1024).toFixed(0)} KiB`);
      const { hub: hubPid, proxy } = h.pids();
      rows.set(`Hub RSS with ${label} running${proxy ? " (hub + proxy)" : ""}`, proxy ? `${Math.round(rssMiB(hubPid) + rssMiB(proxy))} MiB (${Math.round(rssMiB(hubPid))} + ${Math.round(rssMiB(proxy))})` : `${Math.round(rssMiB(hubPid))} MiB`);
    };
    for (let i = 0; i < 10; i += 5) await Promise.all(users.slice(i, i + 5).map(start));
    await idle("10 servers");

    const rest = users.slice(10);
    const t0 = performance.now();
    for (let i = 0; i < rest.length; i += 10) await Promise.all(rest.slice(i, i + 10).map(start));
    rows.set(`Starting ${rest.length} more (a hundredth of a CPU each), 10 at a time, until all ready`, `${((performance.now() - t0) / 1000).toFixed(0)} s`);
    await idle(`${SERVERS} servers`);

    for (let i = 0; i < users.length; i += 20) await Promise.all(users.slice(i, i + 20).map(stop));
    while (await podsLeft()) await sleep(1000);
  } catch (err) {
    // What the hub said about it: its log goes with its data folder below.
    const log = path.join(dataDir, "jupyterhub", "hub.log");
    if (existsSync(log)) console.error(readFileSync(log, "utf8").split("\n").slice(-40).join("\n"));
    throw err;
  } finally {
    stopWatching();
    await hub?.close();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    // The next hub's windows must not count this namespace's deletion (the namespace controller lists it).
    while (await core.readNamespace({ name: namespace }).then(() => true, () => false)) await sleep(1000);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function main() {
  const columns = new Map<string, Map<string, string>>();
  const labels = { ganymede: "Ganymede", kubespawner: "JupyterHub + KubeSpawner" } as Record<string, string>;
  for (const which of HUBS) {
    if (!(which in START)) throw new Error(`BENCH_K8S_HUBS: unknown hub ${which} (ganymede, kubespawner)`);
    console.error(`[bench] ${labels[which]}`);
    const column = await measure(which as keyof typeof START);
    // Each column as soon as it is measured: a later hub's failure does not lose it.
    console.error([...column].map(([what, value]) => `[bench] ${labels[which]}: ${what}: ${value}`).join("\n"));
    columns.set(labels[which]!, column);
  }
  const names = [...columns.keys()];
  const measures = [...new Set([...columns.values()].flatMap((c) => [...c.keys()]))];
  console.log(`\n| Measure (one run each, same cluster) | ${names.join(" | ")} |\n| --- |${names.map(() => " ---: |").join("")}`);
  for (const what of measures) console.log(`| ${what} | ${names.map((n) => columns.get(n)!.get(what) ?? "").join(" | ")} |`);
}

await main();
process.exit(0);
