/**
 * The proxy's own limit (issue 15): Ganymede's user-server proxy and configurable-http-proxy (JupyterHub's default),
 * each alone in a process, in front of the same fast upstream (bench/proxy-upstream.ts: a minimal HTTP server and a
 * WebSocket echo, not Jupyter, which caps both proxies at ~3,000 requests/s here). For 10 and 100 connections:
 * requests/s, the p99 latency added over the upstream alone, and the proxy process's CPU per 1,000 requests (from
 * /proc); then WebSocket echoes/s through each with 10 clients. autocannon generates the load from this process.
 * Both proxies route /user/bench/ (CHP through its REST API, as JupyterHub adds routes); Ganymede's also
 * authenticates each request (one token, constant-time) and stamps activity, which CHP does not do.
 *
 *   bench/run.sh proxy        # cd server && node --import tsx ../bench/proxy.ts
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const serverRequire = createRequire(path.join(here, "../server/package.json"));
const WebSocket = serverRequire("ws") as typeof import("ws").default;
const autocannon = createRequire(path.join(here, ".cache/autocannon/package.json"))("autocannon") as (
  opts: Record<string, unknown>,
) => Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }>;
const chpBin = path.join(here, ".cache/chp/node_modules/.bin/configurable-http-proxy");

const DURATION_S = Number(process.env.BENCH_PROXY_SECONDS ?? 10);
/** The V8 options the hub's launcher gives it (server/bin/ganymede), so that the proxy is measured as it runs. */
const HUB_NODE_ARGS = readFileSync(path.join(here, "../server/bin/ganymede"), "utf8").match(/--max-semi-space-size=\d+/)![0];
const TOKEN = "bench-token-0123456789abcdef";
const PORTS = { upstream: 18_801, ganymede: 18_802, chp: 18_803, chpApi: 18_804 };
const children: ChildProcess[] = [];

function forkTs(script: string, args: string[], nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = fork(path.join(here, script), args, { execArgv: [...nodeArgs, "--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function startChp(upstream: string): Promise<ChildProcess> {
  const child = spawn(chpBin, ["--ip", "127.0.0.1", "--port", String(PORTS.chp), "--api-ip", "127.0.0.1", "--api-port", String(PORTS.chpApi), "--log-level", "warn"], {
    env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`http://127.0.0.1:${PORTS.chpApi}/api/routes/user/bench`, {
      method: "POST",
      headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ target: upstream }),
    }).catch(() => undefined);
    if (res?.status === 201) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("configurable-http-proxy did not start");
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function load(port: number, connections: number, pid?: number) {
  const url = `http://127.0.0.1:${port}/user/bench/api/status`;
  await autocannon({ url, connections, duration: 2, headers: { authorization: `token ${TOKEN}` } }); // warm-up
  const before = pid ? cpuMs(pid) : 0;
  const result = await autocannon({ url, connections, duration: DURATION_S, headers: { authorization: `token ${TOKEN}` } });
  const cpu = pid ? cpuMs(pid) - before : 0;
  if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuPer1000: (cpu / result.requests.total) * 1000 };
}

/** Echoes/s through `port` with `clients` WebSockets, each sending its next message when the last comes back. */
async function echoes(port: number, clients: number): Promise<number> {
  const sockets = await Promise.all(
    Array.from({ length: clients }, () => new Promise<import("ws").default>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/user/bench/api/kernels/x/channels`, { headers: { authorization: `token ${TOKEN}` } });
      ws.once("open", () => resolve(ws));
      ws.once("error", reject);
    })),
  );
  const message = "x".repeat(100);
  let count = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on("message", () => {
      count++;
      if (running) ws.send(message);
    });
    ws.send(message);
  }
  await new Promise((r) => setTimeout(r, 1_000)); // warm-up
  const start = count;
  await new Promise((r) => setTimeout(r, DURATION_S * 1_000));
  const total = count - start;
  running = false;
  for (const ws of sockets) ws.terminate();
  return total / DURATION_S;
}

try {
  const upstream = `http://127.0.0.1:${PORTS.upstream}`;
  await forkTs("proxy-upstream.ts", [String(PORTS.upstream)]);
  // As the hub runs (server/bin/ganymede's V8 setting); BENCH_HUB_NODE_ARGS replaces it, to try another.
  const nodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? HUB_NODE_ARGS).split(" ").filter(Boolean);
  const ganymede = await forkTs("proxy-ganymede.ts", [String(PORTS.ganymede), upstream, TOKEN], nodeArgs);
  const chp = await startChp(upstream);
  const rows: string[] = [];
  const fmt = (n: number, digits = 0) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  for (const connections of [10, 100]) {
    const direct = await load(PORTS.upstream, connections);
    const g = await load(PORTS.ganymede, connections, ganymede.pid);
    const c = await load(PORTS.chp, connections, chp.pid);
    rows.push(`| requests/s, ${connections} connections | ${fmt(g.rps)} | ${fmt(c.rps)} | ${(g.rps / c.rps).toFixed(2)} | upstream alone ${fmt(direct.rps)} |`);
    rows.push(`| p99 latency added over the upstream alone, ${connections} connections | ${g.p99 - direct.p99} ms | ${c.p99 - direct.p99} ms | | upstream alone p99 ${direct.p99} ms |`);
    rows.push(`| proxy CPU per 1,000 requests, ${connections} connections | ${fmt(g.cpuPer1000, 1)} ms | ${fmt(c.cpuPer1000, 1)} ms | ${(g.cpuPer1000 / c.cpuPer1000).toFixed(2)} | |`);
  }
  const wsDirect = await echoes(PORTS.upstream, 10);
  const wsG = await echoes(PORTS.ganymede, 10);
  const wsC = await echoes(PORTS.chp, 10);
  rows.push(`| WebSocket echoes/s, 10 clients | ${fmt(wsG)} | ${fmt(wsC)} | ${(wsG / wsC).toFixed(2)} | upstream alone ${fmt(wsDirect)} |`);
  console.log(`Proxy alone in front of a fast upstream, ${DURATION_S} s per measure (Node ${process.version})\n`);
  console.log("| measure | Ganymede proxy | configurable-http-proxy | ratio | note |");
  console.log("|---|---:|---:|---:|---|");
  for (const row of rows) console.log(row);
} finally {
  for (const child of children) child.kill();
}
