/**
 * A hub restart with thousands of servers running (issue 15): Ganymede vs JupyterHub 5 + CHP, one hub at a time, in
 * one run. Run through `bench/run.sh restart`; the method is in docs/benchmarks.md ("Restart at scale").
 *
 * Per hub: create BENCH_USERS users (100 per request), start BENCH_SERVERS servers (the stand-in, ~10 MB each,
 * BENCH_START_CONCURRENCY at a time), weigh the hub (and CHP) at each step; then kill -9 the hub process alone (its
 * servers, and JupyterHub's CHP, run on) and start it again with the same configuration. Timed from that start: the
 * first 200 of the REST API, the first 200 through the proxy of SAMPLE servers spread over the running ones, and the
 * moment all of those sampled servers are shown ready in the API again. Then the hub is weighed once more.
 *
 * Knobs (environment): BENCH_USERS (10000), BENCH_SERVERS (2000), BENCH_START_CONCURRENCY (16), BENCH_SAMPLE (20),
 * BENCH_HUBS (ganymede,jupyterhub), BENCH_SETTLE seconds (10), BENCH_KEEP=1 keeps the temp directory (hub logs).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { machine, versions } from "./context.mjs";
import { CACHE, STAND_IN, startGanymede, startJupyterHub } from "./hubs.mjs";
import { availableMiB, pool, probe, processesWithArg, rssMiB, sleep, sweep } from "./lib.mjs";

const knob = (name, fallback) => Number(process.env[name] ?? fallback);
const params = {
  USERS: knob("BENCH_USERS", 10_000),
  SERVERS: knob("BENCH_SERVERS", 2_000),
  START_CONCURRENCY: knob("BENCH_START_CONCURRENCY", 16),
  SAMPLE: knob("BENCH_SAMPLE", 20),
  SETTLE_S: knob("BENCH_SETTLE", 10),
};
const HUBS = (process.env.BENCH_HUBS ?? "ganymede,jupyterhub").split(",");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ganymede-bench-"));
chmodSync(tmp, 0o711);
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const results = { versions: versions(), machine: { ...machine(), availableMiB: availableMiB() }, params, hubs: {} };

try {
  for (const which of HUBS) {
    const dir = path.join(tmp, which);
    const hub = which === "ganymede" ? await startGanymede(dir, { command: STAND_IN }) : await startJupyterHub(dir, { singleUser: STAND_IN });
    const r = (results.hubs[hub.label] = {});
    try {
      await measure(hub, r);
    } finally {
      await hub.close();
      r.leftoverServers = killStandIns();
    }
  }
  results.machine.loadAfter = os.loadavg()[0];
  process.stdout.write("\n" + render(results) + "\n");
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  writeFileSync(path.join(CACHE, "last-restart-run.json"), JSON.stringify(results, null, 2));
  await sweep(tmp);
  killStandIns();
  if (process.env.BENCH_KEEP === "1") log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

async function measure(hub, r) {
  const names = Array.from({ length: params.USERS }, (_, i) => `u${String(i + 1).padStart(5, "0")}`);
  await sleep(params.SETTLE_S * 1000);
  r.rssIdle = weigh(hub);
  let t0 = performance.now();
  for (let i = 0; i < names.length; i += 100) await hub.api("POST", "/users", { usernames: names.slice(i, i + 100) }, { expect: [201] });
  r.createUsersS = (performance.now() - t0) / 1000;
  await sleep(params.SETTLE_S * 1000);
  r.rssUsers = weigh(hub);
  log(`${hub.label}: ${names.length} users in ${r.createUsersS.toFixed(1)} s; RSS ${total(r.rssUsers).toFixed(0)} MiB`);

  t0 = performance.now();
  const ready = [];
  await pool(names.slice(0, params.SERVERS), params.START_CONCURRENCY, async (name) => {
    try {
      await hub.startServer(name);
      await hub.waitReady(name);
      ready.push(name);
    } catch (err) {
      log(`${hub.label}: ${name} did not start: ${String(err.message ?? err).slice(0, 200)}`);
    }
  });
  r.startS = (performance.now() - t0) / 1000;
  r.running = ready.length;
  await sleep(params.SETTLE_S * 1000);
  r.rssRunning = weigh(hub);
  log(`${hub.label}: ${ready.length} servers ready in ${r.startS.toFixed(1)} s; RSS ${total(r.rssRunning).toFixed(0)} MiB`);

  // Sampled servers and a token of each one's owner (the proxy lets the owner in).
  const sample = Array.from({ length: Math.min(params.SAMPLE, ready.length) }, (_, i) => ready.sort()[Math.floor((i * ready.length) / params.SAMPLE)]);
  const tokens = Object.fromEntries(await Promise.all(sample.map(async (name) => [name, await hub.userToken(name)])));
  for (const name of sample) if ((await probe(`${hub.url}/user/${name}/api/status`, { authorization: `token ${tokens[name]}` })) !== 200) throw new Error(`${hub.label}: ${name} not proxied before the restart`);

  // kill -9 of the hub process alone, then the same hub started again.
  process.kill(hub.child.pid, "SIGKILL");
  await hub.child.exited;
  const started = performance.now();
  const child = hub.relaunch();
  let exited = false;
  child.exited.then(() => (exited = true));
  const firstApi = poll(async () => (await probe(`${hub.url}/hub/api/`, { authorization: `token ${hub.adminToken}` })) === 200);
  const proxied = Promise.all(sample.map((name) => poll(async () => (await probe(`${hub.url}/user/${name}/api/status`, { authorization: `token ${tokens[name]}` })) === 200)));
  r.restart = { apiMs: (await firstApi) - started };
  const proxyTimes = await proxied;
  r.restart.firstProxyMs = Math.min(...proxyTimes) - started;
  r.restart.allSampledProxyMs = Math.max(...proxyTimes) - started;
  const readyAgain = await Promise.all(sample.map((name) => poll(async () => (await hub.server(name).catch(() => undefined))?.ready === true)));
  r.restart.allSampledReadyMs = Math.max(...readyAgain) - started;
  if (exited) throw new Error(`${hub.label} exited after its restart`);
  log(`${hub.label}: restarted: API after ${r.restart.apiMs.toFixed(0)} ms, proxy after ${r.restart.firstProxyMs.toFixed(0)}–${r.restart.allSampledProxyMs.toFixed(0)} ms`);
  await sleep(params.SETTLE_S * 1000);
  r.rssAfterRestart = weigh(hub);
  const stillReady = await Promise.all(sample.map(async (name) => (await hub.server(name))?.ready === true));
  r.restart.sampledStillReady = stillReady.filter(Boolean).length;
}

/** Resolves performance.now() once `check` is true, checking every 10 ms (up to 5 minutes). */
async function poll(check) {
  const deadline = performance.now() + 300_000;
  for (;;) {
    if (await check().catch(() => false)) return performance.now();
    if (performance.now() > deadline) throw new Error("not within 5 minutes");
    await sleep(10);
  }
}

function weigh(hub) {
  return Object.fromEntries(Object.entries(hub.pids()).map(([role, pid]) => [role, rssMiB(pid)]));
}

function total(byRole) {
  return Object.values(byRole).reduce((a, b) => a + b, 0);
}

function killStandIns() {
  const pids = processesWithArg(STAND_IN[1]);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  return pids.length;
}

function render({ versions: v, machine: m, params: p, hubs }) {
  const g = hubs.Ganymede;
  const j = hubs.JupyterHub;
  const n = (x, digits = 0) => (x === undefined || Number.isNaN(x) ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  const mem = (byRole) => (byRole ? (byRole.proxy !== undefined ? `${n(byRole.hub, 1)} + CHP ${n(byRole.proxy, 1)} = **${n(total(byRole), 1)} MiB**` : `**${n(total(byRole), 1)} MiB**`) : "–");
  const ratio = (a, b) => (a !== undefined && b ? (a / b).toFixed(2) : "–");
  const row = (label, get, fmt = (x) => n(x)) => `| ${label} | ${g ? fmt(get(g)) : "–"} | ${j ? fmt(get(j)) : "–"} | ${g && j ? ratio(total1(get(g)), total1(get(j))) : "–"} |`;
  const total1 = (x) => (typeof x === "object" ? total(x) : x);
  return [
    `Run of ${m.date} — \`bench/run.sh restart\``,
    "",
    `- Machine: ${m.cores} cores (${m.cpu}), ${m.ramGiB.toFixed(1)} GiB RAM; 1-minute load average ${m.loadBefore.toFixed(2)} before, ${m.loadAfter?.toFixed(2)} after`,
    `- Versions: Node ${v.node}, Ganymede ${v.ganymede}, JupyterHub ${v.jupyterhub}, configurable-http-proxy ${v.chp}`,
    `- Parameters: ${n(p.USERS)} users, ${n(p.SERVERS)} servers (the stand-in), ${p.START_CONCURRENCY} starts at a time, ${p.SAMPLE} sampled servers`,
    "",
    "| Measure | Ganymede | JupyterHub 5 + CHP | Ganymede ÷ JupyterHub |",
    "| --- | ---: | ---: | ---: |",
    row("Creating the users, 100 per request (s)", (h) => h.createUsersS, (x) => n(x, 1)),
    row(`Starting the servers until all ready (s)`, (h) => h.startS, (x) => n(x, 1)),
    row("Servers running", (h) => h.running),
    row("RSS idle after start", (h) => h.rssIdle, mem),
    row(`RSS with ${n(p.USERS)} users`, (h) => h.rssUsers, mem),
    row(`RSS with the users and the servers running`, (h) => h.rssRunning, mem),
    row("**Restart (kill -9, start again): first 200 of the API (ms)**", (h) => h.restart?.apiMs),
    row("Restart: first sampled server proxied (ms)", (h) => h.restart?.firstProxyMs),
    row("Restart: every sampled server proxied (ms)", (h) => h.restart?.allSampledProxyMs),
    row("Restart: every sampled server shown ready by the API (ms)", (h) => h.restart?.allSampledReadyMs),
    row("RSS after the restart, settled", (h) => h.rssAfterRestart, mem),
    row(`Sampled servers still ready after the restart (of ${p.SAMPLE})`, (h) => h.restart?.sampledStillReady),
  ].join("\n");
}
