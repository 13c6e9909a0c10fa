/**
 * Ganymede vs JupyterHub 5 + configurable-http-proxy, side by side in one run: spawn latency, proxy throughput,
 * hub memory. Run through bench/run.sh (which installs what this needs); see docs/benchmarks.md for the method.
 *
 * Knobs (environment): BENCH_SPAWNS (10), BENCH_DURATION seconds per load run (10), BENCH_REPEATS load runs per
 * target and concurrency (3), BENCH_USERS (1000), BENCH_SERVERS (100); smaller values make a quick smoke run.
 * BENCH_KEEP=1 keeps the temp directory (logs), BENCH_WRITE_DOCS=0 leaves docs/benchmarks.md alone.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { machine, versions } from "./context.mjs";
import { CACHE, ROOT, startBareServer, startGanymede, startJupyterHub, timedBareStart } from "./hubs.mjs";
import { cpuMs, pool, rssMiB, sleep, stats, sweep } from "./lib.mjs";
import { renderMarkdown, writeDocs } from "./report.mjs";

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 10);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const SERVERS = Number(process.env.BENCH_SERVERS ?? 100);
const START_CONCURRENCY = 4; // 100 Python servers starting at once on 2 cores would measure the CPU, not the hub
const SETTLE_MS = 5_000; // let each process finish its burst (GC, allocator) before reading RSS
const AUTOCANNON = path.join(CACHE, "autocannon", "node_modules", "autocannon", "autocannon.js");

const tmp = mkdtempSync(path.join(os.tmpdir(), "ganymede-bench-"));
// Servers run as their users' own uids, which must be able to pass through to their folders.
chmodSync(tmp, 0o711);
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
let cleaning = null;
async function cleanup() {
  cleaning ??= (async () => {
    const left = await sweep(tmp);
    if (left) log(`swept ${left} leftover process(es) of this run`);
    if (process.env.BENCH_KEEP === "1") log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => void cleanup().then(() => process.exit(130)));

const results = { versions: versions(), machine: machine(), params: { SPAWNS, DURATION, REPEATS, USERS, SERVERS, START_CONCURRENCY } };

try {
  log(`temp dir ${tmp}`);
  const ganymede = await startGanymede(path.join(tmp, "ganymede"));
  const jupyterhub = await startJupyterHub(path.join(tmp, "jupyterhub"));
  const hubs = [ganymede, jupyterhub];
  log(`Ganymede at ${ganymede.url}, JupyterHub (CHP) at ${jupyterhub.url}`);

  await sleep(SETTLE_MS);
  results.memory = { idle: weigh(hubs) };

  // ---- 1. Spawn. The order rotates every round (a stop's aftermath, e.g. JupyterHub's bookkeeping, would otherwise
  // always land on the same next contender), with a pause in between.
  const tokens = { Ganymede: await ganymede.userToken("bench"), JupyterHub: await jupyterhub.userToken("bench") };
  const contenders = {
    // One directory for every round, like the hubs' servers, whose home directory survives a stop.
    bare: () => timedBareStart(path.join(tmp, "bare")),
    Ganymede: () => ganymede.timedSpawn("bench", tokens.Ganymede),
    JupyterHub: () => jupyterhub.timedSpawn("bench", tokens.JupyterHub),
  };
  const spawnMs = { bare: [], Ganymede: [], JupyterHub: [] };
  for (let i = 0; i <= SPAWNS; i++) {
    const round = {};
    for (const name of rotate(Object.keys(contenders), i)) {
      await sleep(1_000);
      round[name] = await contenders[name]();
    }
    if (i === 0) {
      log(`warm-up round (not counted): ${fmtRound(round)}`);
      continue; // the first start of each pays for cold caches (Python imports from disk, SQLite pages)
    }
    for (const k of Object.keys(round)) spawnMs[k].push(round[k]);
    log(`spawn ${i}/${SPAWNS}: ${fmtRound(round)}`);
  }
  results.spawn = Object.fromEntries(Object.entries(spawnMs).map(([k, v]) => [k, { ...stats(v), all: v }]));

  // ---- 2. Proxy throughput: one server each, plus a bare server as the ceiling; one load at a time. Other work on
  // a 2-core machine moves a single run by ±25 %, so each target gets REPEATS interleaved runs and the median counts.
  const bare = await startBareServer(path.join(tmp, "bare-proxy"));
  await Promise.all([ganymede.startServer("bench", tokens.Ganymede), jupyterhub.startServer("bench", tokens.JupyterHub)]);
  await Promise.all([ganymede.waitReady("bench"), jupyterhub.waitReady("bench")]);
  const targets = {
    direct: { url: `${bare.url}/api/status`, token: bare.token, pids: {} },
    Ganymede: { url: `${ganymede.url}/user/bench/api/status`, token: tokens.Ganymede, pids: ganymede.pids() },
    JupyterHub: { url: `${jupyterhub.url}/user/bench/api/status`, token: tokens.JupyterHub, pids: jupyterhub.pids() },
  };
  results.proxy = {};
  for (const connections of [10, 100]) {
    const runs = { direct: [], Ganymede: [], JupyterHub: [] };
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const name of rotate(Object.keys(targets), rep)) {
        const r = loadRun(targets[name], connections);
        runs[name].push(r);
        const cpu = Object.entries(r.cpuMsPer1k).map(([role, ms]) => `${role} ${ms.toFixed(0)}`).join(" + ");
        log(`proxy c=${connections} ${name} #${rep + 1}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}${cpu ? `, CPU ms/1k req: ${cpu}` : ""}`);
      }
    }
    results.proxy[connections] = Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, medianRun(rs)]));
  }
  await bare.stop();
  await Promise.all([ganymede.stopServer("bench"), jupyterhub.stopServer("bench")]);

  // ---- 3. Memory: 1,000 users through the REST API in batches, then 100 running servers, one hub at a time.
  const names = Array.from({ length: USERS }, (_, i) => `u${String(i + 1).padStart(4, "0")}`);
  results.createUsersS = {};
  for (const hub of hubs) {
    const t0 = performance.now();
    for (let i = 0; i < names.length; i += 100) await hub.api("POST", "/users", { usernames: names.slice(i, i + 100) }, { expect: [201] });
    results.createUsersS[hub.label] = (performance.now() - t0) / 1000;
    log(`${hub.label}: created ${USERS} users in ${results.createUsersS[hub.label].toFixed(1)} s`);
  }
  await sleep(SETTLE_MS);
  results.memory.users = weigh(hubs);

  results.memory.servers = {};
  results.startServersS = {};
  for (const hub of hubs) {
    const some = names.slice(0, SERVERS);
    const t0 = performance.now();
    await pool(some, START_CONCURRENCY, async (name) => {
      await hub.startServer(name);
      await hub.waitReady(name);
    });
    results.startServersS[hub.label] = (performance.now() - t0) / 1000;
    log(`${hub.label}: ${SERVERS} servers running after ${results.startServersS[hub.label].toFixed(1)} s`);
    await sleep(SETTLE_MS);
    Object.assign(results.memory.servers, weigh([hub]));
    await pool(some, 8, (name) => hub.stopServer(name));
    log(`${hub.label}: all servers stopped`);
  }

  for (const hub of hubs) await hub.close();
  results.machine.loadAfter = os.loadavg()[0];
  const markdown = renderMarkdown(results);
  process.stdout.write("\n" + markdown + "\n");
  writeFileSync(path.join(CACHE, "last-run.json"), JSON.stringify(results, null, 2));
  if (process.env.BENCH_WRITE_DOCS !== "0") writeDocs(path.join(ROOT, "docs", "benchmarks.md"), markdown);
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

// ---------------------------------------------------------------- measurements

/** RSS of each hub's processes (the Jupyter servers are not counted: they are the same for both). */
function weigh(hubs) {
  const out = {};
  for (const hub of hubs) {
    const pids = hub.pids();
    out[hub.label] = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, rssMiB(pid)]));
  }
  return out;
}

/** Warm-up (keep-alive pools, JupyterHub's token cache, JIT), then the measured run. */
function loadRun(t, connections) {
  autocannon(t, connections, 3);
  // The Jupyter server caps throughput on 2 cores, so also record what the hub's side spends per request:
  // CPU of the hub and proxy processes (JupyterHub's hub answers the single-user server's token checks).
  const cpu0 = Object.fromEntries(Object.entries(t.pids).map(([role, pid]) => [role, cpuMs(pid)]));
  const r = autocannon(t, connections, DURATION);
  r.cpuMsPer1k = Object.fromEntries(Object.entries(t.pids).map(([role, pid]) => [role, ((cpuMs(pid) - cpu0[role]) / r.total) * 1000]));
  return r;
}

/** Median of each metric over the repeats (and every run's requests/s, for the report). */
function medianRun(rs) {
  const med = (f) => stats(rs.map(f)).median;
  const roles = Object.keys(rs[0].cpuMsPer1k);
  return {
    rps: med((r) => r.rps),
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    cpuMsPer1k: Object.fromEntries(roles.map((role) => [role, med((r) => r.cpuMsPer1k[role])])),
    total: rs.reduce((a, r) => a + r.total, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    allRps: rs.map((r) => r.rps),
  };
}

function rotate(list, n) {
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

function autocannon(target, connections, seconds) {
  const out = execFileSync(
    process.execPath,
    [AUTOCANNON, "--json", "-c", String(connections), "-d", String(seconds), "-H", `authorization=token ${target.token}`, target.url],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 2 ** 20 },
  );
  const r = JSON.parse(out);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

function fmtRound(r) {
  return Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ");
}
