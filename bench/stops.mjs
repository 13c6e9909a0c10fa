/**
 * Stopping many servers at once (issue 10): Ganymede vs JupyterHub 5 + CHP, one hub at a time, in one run. Run
 * through `bench/run.sh stops`; the method is in docs/benchmarks.md ("Stopping many servers at once").
 *
 * Both hubs run the same minimal single-user server (bench/stand-in-server.py, ~10 MB), so what is measured is the
 * hub. Per hub: create the users; start the servers (bounded concurrency) until every one is `ready`; settle; stop a
 * few one at a time with the rest running; start those again; then the wave: every server stopped by CLIENTS
 * concurrent clients, each sending `DELETE …/server` and following that stop in the user model until the server is
 * gone (or `stopped: true`) before taking the next, while a prober times the API and a sampler weighs the hub; then
 * the smaller wave, WAVE servers with only those running. A stop not seen finished within STOP_TIMEOUT counts as
 * never finished, and the run goes on.
 *
 * Knobs (environment): BENCH_USERS (10000), BENCH_SERVERS (2000), BENCH_CLIENTS (32), BENCH_WAVE (200; 0 skips it),
 * BENCH_ONE_BY_ONE (20), BENCH_START_CONCURRENCY (16), BENCH_STOP_TIMEOUT seconds (900), BENCH_SETTLE seconds (15),
 * BENCH_MIN_AVAILABLE_MIB (2048: no more servers are started below this much available memory), BENCH_HUBS
 * (ganymede,jupyterhub), BENCH_LOG_LEVEL (Ganymede's, warn), BENCH_KEEP=1 keeps the temp directory (hub logs).
 *
 * BENCH_BACKEND=docker: Ganymede's Docker backend instead (servers as containers of the engine the tests use, their
 * Jupyter server image running the stand-in; BENCH_SERVERS defaults to 500, BENCH_HUBS to ganymede). The engine's
 * own processes (dockerd, containerd) are weighed with the hub, and each container's runc shim with its server.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { machine, versions } from "./context.mjs";
import { CACHE, ROOT, STAND_IN, startGanymede, startJupyterHub } from "./hubs.mjs";
import { availableMiB, cpuMs, openFiles, pool, processesNamed, processesWithArg, pssMiB, rssMiB, sleep, sweep } from "./lib.mjs";
import { renderStops } from "./stops-report.mjs";

const knob = (name, fallback) => Number(process.env[name] ?? fallback);
const BACKEND = process.env.BENCH_BACKEND ?? "local";
if (!["local", "docker"].includes(BACKEND)) throw new Error(`BENCH_BACKEND must be local or docker, not ${BACKEND}`);
const params = {
  BACKEND,
  USERS: knob("BENCH_USERS", 10_000),
  SERVERS: knob("BENCH_SERVERS", BACKEND === "docker" ? 500 : 2_000),
  CLIENTS: knob("BENCH_CLIENTS", 32),
  WAVE: knob("BENCH_WAVE", 200),
  ONE_BY_ONE: knob("BENCH_ONE_BY_ONE", 20),
  START_CONCURRENCY: knob("BENCH_START_CONCURRENCY", 16),
  STOP_TIMEOUT_S: knob("BENCH_STOP_TIMEOUT", 900),
  SETTLE_S: knob("BENCH_SETTLE", 15),
  MIN_AVAILABLE_MIB: knob("BENCH_MIN_AVAILABLE_MIB", 2048),
  FOLLOW_MS: 200, // how often a client asks for the user model while following its stop
  PROBE_MS: 100, // how often the prober starts a GET /hub/api/users/<user> during a wave
};
if (params.USERS <= params.SERVERS) throw new Error("BENCH_USERS must exceed BENCH_SERVERS: the prober's user has no server");
const HUBS = (process.env.BENCH_HUBS ?? (BACKEND === "docker" ? "ganymede" : "ganymede,jupyterhub")).split(",");
if (BACKEND === "docker" && HUBS.includes("jupyterhub")) throw new Error("BENCH_BACKEND=docker measures Ganymede only (JupyterHub's DockerSpawner is not set up here)");
const SETTLE_MS = params.SETTLE_S * 1000;

const tmp = mkdtempSync(path.join(os.tmpdir(), "ganymede-bench-"));
chmodSync(tmp, 0o711); // servers run as their users' own uids, which must pass through to their folders
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
let cleaning = null;
async function cleanup() {
  cleaning ??= (async () => {
    const left = (await sweep(tmp)) + killStandIns() + (docker ? removeContainers(docker.namePrefix) : 0);
    if (left) log(`swept ${left} leftover process(es) of this run`);
    if (process.env.BENCH_KEEP === "1") log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => void cleanup().then(() => process.exit(130)));

const results = { versions: versions(), machine: { ...machine(), availableMiB: availableMiB() }, params, hubs: {} };
/** The Docker backend's image and object prefix (BENCH_BACKEND=docker). */
let docker;
/** What a server runs, and the argument that finds its processes. */
let serverCommand = STAND_IN;
let serverArg = STAND_IN[1];
try {
  if (BACKEND === "docker") {
    log("preparing the Docker engine and the server image (bench/docker-image.ts)");
    const image = execFileSync(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "docker-image.ts")], {
      cwd: path.join(ROOT, "server"),
      env: { ...process.env, GANYMEDE_SERVICES_OWNER: String(process.pid) },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    docker = { image, namePrefix: `gbench-${process.pid}` };
    serverArg = readFileSync(STAND_IN[1], "utf8"); // python3 -c <source>: the image's Python runs the stand-in
    serverCommand = ["python3", "-c", serverArg];
    results.versions.docker = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim();
  }
  log(`temp dir ${tmp}; ${results.machine.availableMiB.toFixed(0)} MiB available, load ${results.machine.loadBefore}`);
  for (const which of HUBS) {
    const dir = path.join(tmp, which);
    const hub =
      which === "ganymede"
        ? withEngine(await startGanymede(dir, { command: serverCommand, docker, logLevel: process.env.BENCH_LOG_LEVEL ?? "warn" }))
        : await startJupyterHub(dir, { singleUser: STAND_IN });
    const r = (results.hubs[hub.label] = {});
    try {
      await measure(hub, r);
    } finally {
      await hub.close();
      // Servers a hub left running (Ganymede's survive the hub by design; a stuck stop's may too): ours by path.
      r.leftoverServerProcesses = killStandIns();
      if (r.leftoverServerProcesses) log(`${hub.label}: killed ${r.leftoverServerProcesses} server process(es) left after the hub`);
      if (docker) {
        r.leftoverContainers = removeContainers(docker.namePrefix);
        if (r.leftoverContainers) log(`${hub.label}: removed ${r.leftoverContainers} container(s) left after the hub`);
      }
    }
  }
  results.machine.loadAfter = os.loadavg()[0];
  process.stdout.write("\n" + renderStops(results) + "\n");
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  writeFileSync(path.join(CACHE, "last-stops-run.json"), JSON.stringify(results, null, 2));
  await cleanup();
}

// ---------------------------------------------------------------- one hub

async function measure(hub, r) {
  const names = Array.from({ length: params.USERS }, (_, i) => `u${String(i + 1).padStart(5, "0")}`);
  const prober = names.at(-1); // never has a server

  let t0 = performance.now();
  for (let i = 0; i < names.length; i += 100) await hub.api("POST", "/users", { usernames: names.slice(i, i + 100) }, { expect: [201] });
  r.createUsersS = (performance.now() - t0) / 1000;
  await sleep(SETTLE_MS);
  r.rssIdle = weigh(hub);
  log(`${hub.label}: ${params.USERS} users in ${r.createUsersS.toFixed(1)} s; RSS ${total(r.rssIdle).toFixed(0)} MiB`);

  r.start = await startServers(hub, names.slice(0, params.SERVERS));
  let running = r.start.ready;
  log(`${hub.label}: ${running.length} servers ready after ${r.start.seconds.toFixed(1)} s (${r.start.failed.length} failed${r.start.memoryCapped ? ", capped by memory" : ""}); ${availableMiB().toFixed(0)} MiB available`);
  const cpu0 = cpu(hub);
  await sleep(SETTLE_MS);
  r.idleCpuMsPerS = (total(cpu(hub)) - total(cpu0)) / params.SETTLE_S;
  r.rssRunning = weigh(hub);
  r.availableMiBRunning = availableMiB();
  // The stand-ins, and their sandbox (bwrap) processes or container shims.
  const serverPids = [...processesWithArg(serverArg), ...(docker ? processesNamed(/^containerd-shim/) : [])];
  r.serverProcesses = { n: serverPids.length, pssMiB: serverPids.reduce((sum, pid) => sum + pssMiB(pid), 0) };
  log(`${hub.label}: ${serverPids.length} server processes, PSS ${r.serverProcesses.pssMiB.toFixed(0)} MiB; ${r.availableMiBRunning.toFixed(0)} MiB available`);

  // One stop at a time with the others running, spread over the running servers; then those started again.
  const picks = Array.from({ length: Math.min(params.ONE_BY_ONE, running.length) }, (_, i) => running[Math.floor((i * running.length) / params.ONE_BY_ONE)]);
  const cpu1 = cpu(hub);
  t0 = performance.now();
  const ones = [];
  for (const name of picks) ones.push(await stopOne(hub, name, t0));
  r.oneByOne = { n: picks.length, running: running.length, stops: ones, cpuMs: diff(cpu(hub), cpu1) };
  log(`${hub.label}: ${picks.length} stops one at a time: ${ones.map((s) => (s.ms === null ? s.outcome : (s.ms / 1000).toFixed(2))).join(", ")} s`);
  const restart = await startServers(hub, ones.filter(finished).map((s) => s.name));
  running = running.filter((n) => !picks.includes(n) || restart.ready.includes(n));
  await sleep(SETTLE_MS);

  r.wave = await wave(hub, running, prober);
  await sleep(2 * SETTLE_MS);
  r.wave.rss.after = weigh(hub);
  r.wave.heap.after = await heapOf(hub);
  log(`${hub.label}: after the wave, RSS ${total(r.wave.rss.after).toFixed(0)} MiB`);

  if (params.WAVE > 0) {
    const again = r.wave.stops.filter(finished).map((s) => s.name).slice(0, params.WAVE);
    const small = await startServers(hub, again);
    await sleep(SETTLE_MS);
    r.smallWave = { start: small, ...(await wave(hub, small.ready, prober)) };
  }
}

/** Starts servers START_CONCURRENCY at a time, each until `ready`; stops starting when memory runs short. */
async function startServers(hub, names) {
  const ready = [];
  const failed = [];
  let memoryCapped = false;
  const t0 = performance.now();
  await pool(names, params.START_CONCURRENCY, async (name) => {
    if (memoryCapped || availableMiB() < params.MIN_AVAILABLE_MIB) {
      memoryCapped = true;
      return;
    }
    try {
      await hub.startServer(name);
      await hub.waitReady(name);
      ready.push(name);
    } catch (err) {
      failed.push({ name, error: String(err.message ?? err).slice(0, 300) });
    }
  });
  return { asked: names.length, ready: names.filter((n) => ready.includes(n)), failed, memoryCapped, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Every server in `names` stopped by CLIENTS concurrent clients (each following its stop before the next), with the
 * API timed by a prober and the hub's RSS sampled every second.
 */
async function wave(hub, names, proberUser) {
  const rss = { before: weigh(hub), peak: 0 };
  const heap = { before: await heapOf(hub) };
  const openFilesPeak = {}; // by role: Ganymede's stops open /proc files by the thousand
  const sampler = setInterval(() => {
    rss.peak = Math.max(rss.peak, total(weigh(hub)));
    for (const [role, pid] of Object.entries(hub.pids())) openFilesPeak[role] = Math.max(openFilesPeak[role] ?? 0, openFiles(pid) || 0);
  }, 1_000);
  const api = startProber(hub, proberUser);
  const cpu0 = cpu(hub);
  const t0 = performance.now();
  const stops = new Array(names.length);
  let done = 0;
  const progress = setInterval(() => log(`${hub.label}: wave of ${names.length}: ${done} followed to the end after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 60_000);
  await pool(names, params.CLIENTS, async (name, i) => {
    stops[i] = await stopOne(hub, name, t0);
    done++;
  });
  const wallMs = performance.now() - t0;
  const cpuUsed = diff(cpu(hub), cpu0);
  clearInterval(progress);
  clearInterval(sampler);
  rss.peak = Math.max(rss.peak, total(weigh(hub)));
  const latencies = await api.stop();
  const ok = stops.filter(finished);
  const w = { n: names.length, wallMs, lastStoppedMs: Math.max(0, ...ok.map((s) => s.startMs + s.ms)), stops, cpuMs: cpuUsed, rss, heap, openFilesPeak, api: latencies };
  log(`${hub.label}: wave of ${names.length}: ${ok.length} stopped, last after ${(w.lastStoppedMs / 1000).toFixed(1)} s; ${names.length - ok.length} not; hub CPU ${(total(cpuUsed) / 1000).toFixed(1)} s`);
  return w;
}

/**
 * One client's stop: DELETE …/server, then the user model every FOLLOW_MS until the server is gone from `servers`
 * (both hubs list only active servers) or shows `stopped: true`. Times from the DELETE; gives up after STOP_TIMEOUT.
 */
async function stopOne(hub, name, t0) {
  const start = performance.now();
  const deadline = start + params.STOP_TIMEOUT_S * 1000;
  const stop = { name, startMs: start - t0, ms: null, outcome: "timeout", deleteStatus: null, last: null, pollErrors: 0 };
  try {
    stop.deleteStatus = (await hub.api("DELETE", `/users/${name}/server`)).status;
  } catch (err) {
    stop.deleteStatus = `error: ${describeError(err)}`;
  }
  for (;;) {
    try {
      const { status, body } = await hub.api("GET", `/users/${name}`);
      const server = body?.servers?.[""];
      if (status === 200 && (!server || server.stopped === true)) {
        stop.ms = performance.now() - start;
        stop.outcome = stop.deleteStatus === 202 || stop.deleteStatus === 204 ? "stopped" : "stopped after an error";
        return stop;
      }
      stop.last = status === 200 ? `${server.status ?? "(no status)"}, pending: ${server.pending}, ready: ${server.ready}` : `GET → ${status}`;
    } catch (err) {
      stop.pollErrors++;
      stop.last = `GET failed: ${describeError(err)}`;
    }
    if (performance.now() > deadline) return stop;
    await sleep(params.FOLLOW_MS);
  }
}

/** fetch() says "fetch failed"; what failed is in its cause (e.g. ECONNRESET, UND_ERR_SOCKET "other side closed"). */
function describeError(err) {
  const cause = err.cause ? ` (${[err.cause.code, err.cause.message].filter(Boolean).join(": ")})` : "";
  return `${err.name === "TimeoutError" ? "no answer within the client's timeout" : err.message ?? err}${cause}`;
}

/** A stop that ended with the server stopped and a DELETE answered as it should be (202/204). */
function finished(s) {
  return s.outcome === "stopped";
}

/**
 * GET /hub/api/users/<user> every PROBE_MS on a fresh connection, not waiting for the previous answer (a slow hub must
 * not thin out its own samples). stop() resolves { ms: [...], failures }.
 */
function startProber(hub, user) {
  const ms = [];
  const failures = [];
  const inFlight = new Set();
  const url = `${hub.url}/hub/api/users/${user}`;
  const headers = { authorization: `token ${hub.adminToken}` };
  const once = async () => {
    const t = performance.now();
    const outcome = await get(url, headers, 60_000);
    if (outcome === 200) ms.push(performance.now() - t);
    else failures.push(String(outcome));
  };
  const timer = setInterval(() => {
    const p = once().finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, params.PROBE_MS);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      return { ms, failures };
    },
  };
}

/** One GET on a fresh connection: the status code, or why there was none ("no answer in 60 s", "ECONNRESET", …). */
function get(url, headers, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", (err) => resolve(err.code ?? err.message));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("error", (err) => resolve(err.code ?? err.message));
  });
}

// ---------------------------------------------------------------- the hub's processes

/**
 * Ganymede's own view of its memory, from its metrics (MiB): V8's heap (used, and reserved), memory outside it
 * (Buffers), and RSS — to tell memory the hub still holds from memory freed but not yet given back. Null elsewhere.
 */
async function heapOf(hub) {
  if (hub.label !== "Ganymede") return null;
  const res = await fetch(`${hub.url}/hub/metrics`, { headers: { authorization: `token ${hub.adminToken}` } }).catch(() => null);
  if (res?.status !== 200) return null;
  const text = await res.text();
  const metric = (name) => Number(new RegExp(`^ganymede_process_${name} (\\S+)$`, "m").exec(text)?.[1]) / 2 ** 20;
  return { heapUsed: metric("nodejs_heap_size_used_bytes"), heapTotal: metric("nodejs_heap_size_total_bytes"), external: metric("nodejs_external_memory_bytes"), rss: metric("process_resident_memory_bytes") };
}

/** RSS of the hub's processes (Ganymede: the hub; JupyterHub: hub and CHP), MiB by role. */
function weigh(hub) {
  return Object.fromEntries(Object.entries(hub.pids()).map(([role, pid]) => [role, rssMiB(pid)]));
}

/** CPU time (user + system) the hub's processes have used so far, ms by role. */
function cpu(hub) {
  return Object.fromEntries(Object.entries(hub.pids()).map(([role, pid]) => [role, cpuMs(pid)]));
}

function diff(after, before) {
  return Object.fromEntries(Object.keys(after).map((role) => [role, after[role] - before[role]]));
}

function total(byRole) {
  return Object.values(byRole).reduce((a, b) => a + b, 0);
}

/** With the Docker backend, the engine's processes are weighed with the hub: they do the stops' work. */
function withEngine(hub) {
  if (!docker) return hub;
  const own = hub.pids.bind(hub);
  const engine = Object.fromEntries(["dockerd", "containerd"].map((name) => [name, processesNamed(new RegExp(`^${name}$`))[0]]).filter(([, pid]) => pid));
  hub.pids = () => ({ ...own(), ...engine });
  return hub;
}

/** Removes the benchmark's containers, volumes and network (`docker` CLI); returns how many containers there were. */
function removeContainers(prefix) {
  const list = (what) => execFileSync("docker", [...what, "-q", "--filter", `label=ganymede.hub=${prefix}`], { encoding: "utf8" }).split("\n").filter(Boolean);
  try {
    const containers = list(["ps", "-a"]);
    if (containers.length) execFileSync("docker", ["rm", "-f", ...containers], { stdio: "ignore" });
    const volumes = list(["volume", "ls"]);
    if (volumes.length) execFileSync("docker", ["volume", "rm", "-f", ...volumes], { stdio: "ignore" });
    execFileSync("docker", ["network", "rm", "-f", `${prefix}-net`], { stdio: "ignore" });
    return containers.length;
  } catch (err) {
    log(`could not clean up Docker objects ${prefix}-*: ${err.message}`);
    return 0;
  }
}

/** Kills stand-in servers of this checkout still running (and their sandbox processes); returns how many. */
function killStandIns() {
  const pids = processesWithArg(serverArg);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  return pids.length;
}
