/**
 * Plumbing for bench.mjs: processes we own (and only those), ports, HTTP, RSS, statistics. Nothing here measures.
 */
import { spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import http from "node:http";
import net from "node:net";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Every process the benchmark starts runs with its working directory under one temp root, so the final sweep can
 * find (by cwd) exactly ours — hubs, CHP, Jupyter servers — and never another engineer's processes.
 */
const started = new Set();

/** Starts a process in its own process group, output appended to `logFile`. */
export function startProcess(cmd, args, { cwd, env, logFile }) {
  const fd = openSync(logFile, "a");
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", fd, fd] });
  child.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.once("error", () => {});
  started.add(child);
  child.exited.then(() => started.delete(child));
  return child;
}

/** SIGTERM to the process group, SIGKILL after `graceMs`. */
export async function stopProcess(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const signal = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal("SIGTERM");
  const timedOut = await Promise.race([child.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    signal("SIGKILL");
    await child.exited;
  }
}

/** Pids of live processes whose working directory is under `root` (ours: see above). */
export function processesUnder(root) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === root || cwd.startsWith(root + "/")) pids.push(Number(entry));
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  return pids;
}

/** Pids of live processes with `arg` among their command-line arguments (e.g. this checkout's stand-in server). */
export function processesWithArg(arg) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(arg)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** Pids of live processes whose name (/proc/<pid>/comm, at most 15 characters) matches `pattern`. */
export function processesNamed(pattern) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim().match(pattern)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** Last resort at exit: everything of ours still alive gets SIGTERM, then SIGKILL. Returns how many were left. */
export async function sweep(root) {
  for (const child of started) await stopProcess(child, 5_000);
  let left = processesUnder(root);
  const found = left.length;
  for (const sig of ["SIGTERM", "SIGKILL"]) {
    for (const pid of left) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
    await sleep(2_000);
    left = processesUnder(root);
    if (left.length === 0) break;
  }
  return found;
}

/** VmRSS of a process in MiB (from /proc, as `ps` would show it). */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Proportional set size of a process in MiB (its own pages plus its share of shared ones); 0 when it is gone. */
export function pssMiB(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** How many file descriptors a process has open; NaN when it is gone. */
export function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

const TICKS_PER_S = 100; // USER_HZ: 100 on every Linux architecture that matters here (`getconf CLK_TCK`)

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid) {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

/**
 * One GET on a fresh connection (no keep-alive pool, so each poll is what a new client sees), resolving the status
 * code, or 0 on a connection error/timeout. Used to catch the first 200 of a just-started server.
 */
export function probe(url, headers = {}, timeoutMs = 2_000) {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", () => resolve(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/** Polls until `url` answers 200; resolves performance.now() at that moment. */
export async function firstOk(url, headers, { intervalMs = 10, timeoutMs = 120_000 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await probe(url, headers)) === 200) return performance.now();
    if (performance.now() > deadline) throw new Error(`no 200 from ${url} within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** A small JSON REST client for both hubs' /hub/api. */
export function apiClient(base, token) {
  return async function api(method, path, body, { expect } = {}) {
    const res = await fetch(`${base}/hub/api${path}`, {
      method,
      headers: { authorization: `token ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(180_000),
    });
    const text = await res.text();
    if (expect && !expect.includes(res.status)) throw new Error(`${method} ${base}/hub/api${path} → ${res.status}: ${text.slice(0, 300)}`);
    return { status: res.status, body: text ? safeJson(text) : null };
  };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Polls `check` until it is true. */
export async function waitUntil(what, check, { intervalMs = 100, timeoutMs = 120_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Runs `fn` over `items`, at most `n` at a time. */
export async function pool(items, n, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** The p-th percentile (0–100) by nearest rank; NaN for no values. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;
}

/** MemAvailable from /proc/meminfo, in MiB: what `free` shows as "available". */
export function availableMiB() {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"))[1]) / 1024;
}

export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1), n: sorted.length };
}
