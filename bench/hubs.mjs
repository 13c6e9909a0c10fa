/**
 * The three things being compared, started the same way: Ganymede (one process: hub + proxy), JupyterHub 5 (hub
 * process + configurable-http-proxy process), and a bare `jupyter server` (the floor for spawn, the ceiling for proxy).
 * All of them use the Jupyter server from the benchmark's venv.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { apiClient, firstOk, freePort, startProcess, stopProcess, waitUntil } from "./lib.mjs";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const CACHE = path.join(ROOT, "bench", ".cache");
export const VENV = path.join(CACHE, "venv");
export const CHP = path.join(CACHE, "chp", "node_modules", ".bin", "configurable-http-proxy");
const CLI = path.join(ROOT, "server", "dist", "cli.js");
/** The hub as it is deployed: its launcher runs the CLI with the hub's memory settings. */
const LAUNCHER = path.join(ROOT, "server", "bin", "ganymede");
const JUPYTER_SERVER = [path.join(VENV, "bin", "jupyter"), "server"];
/** bench/stand-in-server.py as a single-user server argv, for either hub (the system Python: readable by every uid). */
export const STAND_IN = ["/usr/bin/python3", path.join(ROOT, "bench", "stand-in-server.py")];

/** What a hub looks like to the benchmark. */
class Hub {
  constructor(label, url, adminToken, child) {
    Object.assign(this, { label, url, adminToken, child, api: apiClient(url, adminToken) });
  }
  /** Processes to weigh: { hub: pid, proxy?: pid }. */
  pids() {
    return { hub: this.child.pid };
  }
  /** Creates a user (if new) and an API token of that user's own. */
  async userToken(name) {
    await this.api("POST", `/users/${name}`, undefined, { expect: [201, 409] });
    const { body } = await this.api("POST", `/users/${name}/tokens`, { note: "bench" }, { expect: [200, 201] });
    return body.token;
  }
  async server(name) {
    const { body } = await this.api("GET", `/users/${name}`, undefined, { expect: [200] });
    return body.servers?.[""];
  }
  async startServer(name, token = this.adminToken) {
    const res = await fetch(`${this.url}/hub/api/users/${name}/server`, { method: "POST", headers: { authorization: `token ${token}` } });
    if (res.status !== 201 && res.status !== 202) throw new Error(`${this.label}: start ${name} → ${res.status}: ${await res.text()}`);
  }
  async waitReady(name) {
    await waitUntil(`${this.label} ${name} ready`, async () => (await this.server(name))?.ready === true, { intervalMs: 200, timeoutMs: 180_000 });
  }
  /** POST …/server with the user's token, then poll /user/<name>/api/status through the public port until 200; stop. */
  async timedSpawn(name, token) {
    const t0 = performance.now();
    await this.startServer(name, token);
    const t1 = await firstOk(`${this.url}/user/${name}/api/status`, { authorization: `token ${token}` });
    await this.stopServer(name);
    return t1 - t0;
  }
  async stopServer(name) {
    await this.api("DELETE", `/users/${name}/server`, undefined, { expect: [202, 204] });
    await waitUntil(`${this.label} ${name} stopped`, async () => !(await this.server(name)), { intervalMs: 100, timeoutMs: 60_000 });
  }
  async close() {
    await stopProcess(this.child, 30_000);
  }
  /** Starts the hub again as it was started (same configuration, ports and admin token); resolves with its process. */
  relaunch() {
    this.child = this.launch();
    return this.child;
  }
}

async function waitForApi(label, url, child, logFile) {
  let exited = false;
  child.exited.then(() => (exited = true));
  await waitUntil(`${label} to answer`, async () => {
    if (exited) throw new Error(`${label} exited during start; see ${logFile}:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
    const res = await fetch(`${url}/hub/api/`).catch(() => null);
    return res?.status === 200;
  }, { timeoutMs: 60_000 });
}

/**
 * Starts a Ganymede hub. `cli` runs another build (a checkout's server/dist/cli.js, for comparisons between builds);
 * `local` adds lines under spawner.local (e.g. `sandbox: "off"`); `docker` ({ image, namePrefix }) runs servers as
 * containers of the Docker backend instead of local processes; `label` names it in reports; `command` is the
 * single-user server's argv (default: the venv's `jupyter server`); `logLevel` the hub's (default `warn`).
 */
export async function startGanymede(dir, { cli = CLI, local = [], docker, label = "Ganymede", command = JUPYTER_SERVER, logLevel = "warn" } = {}) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = path.join(dir, "ganymede.yaml");
  // Like for like with JupyterHub's simple local spawner: plain directories, no cgroups, no culler.
  writeFileSync(
    configFile,
    [
      "hub:",
      `  bind: ${url}`,
      `  dataDir: ${path.join(dir, "data")}`,
      "policies:",
      `  dir: ${path.join(ROOT, "policies")}`,
      "spawner:",
      "  startTimeout: 120s",
      // `docker` ({ image, namePrefix }): servers as containers of the Docker backend instead, running `command`.
      ...(docker
        ? ["  backend: docker", "  docker:", `    image: ${docker.image}`, `    namePrefix: ${docker.namePrefix}`, `    network: ${docker.namePrefix}-net`, `    command: ${JSON.stringify(command)}`]
        : []),
      "  local:",
      "    storage: directory",
      '    cgroups: "off"',
      `    cgroupParent: ganymede-bench-${path.basename(dir).replace(/[^a-zA-Z0-9_.-]/g, "")}`,
      ...local.map((line) => `    ${line}`),
      "culler:",
      "  enabled: false",
      "",
    ].join("\n"),
  );
  const env = {
    ...process.env,
    GANYMEDE_LOGGING__LEVEL: logLevel,
    GANYMEDE_SPAWNER__LOCAL__COMMAND: JSON.stringify(command),
  };
  const logFile = path.join(dir, "hub.log");
  // BENCH_HUB_NODE_ARGS: Node options for the hub alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // This checkout's hub through its launcher; another build (`cli`) as that build ran.
  const launch = () =>
    cli === CLI
      ? startProcess(LAUNCHER, ["--config", configFile, "start"], { cwd: dir, env: { ...env, NODE_OPTIONS: nodeArgs.join(" ") }, logFile })
      : startProcess(process.execPath, [...nodeArgs, cli, "--config", configFile, "start"], { cwd: dir, env, logFile });
  const child = launch();
  await waitForApi(label, url, child, logFile);
  // The admin exists from the first start on; its token comes from the CLI, as an operator would get it.
  const token = execFileSync(process.execPath, [cli, "--config", configFile, "token", "create", "--user", "admin"], { cwd: dir, env, encoding: "utf8" }).trim();
  return Object.assign(new Hub(label, url, token, child), { launch });
}

class JupyterHub extends Hub {
  constructor(url, token, child, dir) {
    super("JupyterHub", url, token, child);
    this.dir = dir;
  }
  pids() {
    return { hub: this.child.pid, proxy: Number(readFileSync(path.join(this.dir, "proxy.pid"), "utf8").trim()) };
  }
}

/**
 * Starts JupyterHub 5 + CHP; `singleUser` is the single-user server's argv (default: the venv's jupyterhub-singleuser).
 * `kubernetes` ({ venv, kubeconfig, namespace, image, command, cpu, memory, storage }) runs servers as pods with
 * KubeSpawner instead, from a venv that has it (bench/kubernetes.ts).
 */
export async function startJupyterHub(dir, { singleUser = [path.join(VENV, "bin", "jupyterhub-singleuser")], kubernetes } = {}) {
  mkdirSync(dir, { recursive: true });
  const [port, hubPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(32).toString("hex");
  const env = {
    ...process.env,
    BENCH_JH_DIR: dir,
    BENCH_JH_PORT: String(port),
    BENCH_JH_HUB_PORT: String(hubPort),
    BENCH_JH_PROXY_API_PORT: String(apiPort),
    BENCH_JH_ADMIN_TOKEN: token,
    BENCH_CHP: CHP,
    BENCH_SINGLEUSER: JSON.stringify(singleUser),
    CONFIGPROXY_AUTH_TOKEN: randomBytes(32).toString("hex"),
    ...(kubernetes ? { BENCH_JH_KUBERNETES: JSON.stringify(kubernetes), KUBECONFIG: kubernetes.kubeconfig } : {}),
  };
  const logFile = path.join(dir, "hub.log");
  const launch = () => startProcess(path.join(kubernetes?.venv ?? VENV, "bin", "jupyterhub"), ["-f", path.join(ROOT, "bench", "jupyterhub_config.py")], { cwd: dir, env, logFile });
  const child = launch();
  const url = `http://127.0.0.1:${port}`; // CHP's public port: every request goes through the proxy
  await waitForApi("JupyterHub", url, child, logFile);
  return Object.assign(new JupyterHub(url, token, child, dir), { launch });
}

/**
 * A bare `jupyter server` with the options Ganymede's spawner gives it (server/src/spawners/local/launch.ts) and a
 * token; resolves once /api/status answers 200, with the time that took.
 */
export async function startBareServer(dir) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const token = randomBytes(24).toString("hex");
  const args = [
    "server",
    "--ServerApp.ip=127.0.0.1",
    `--ServerApp.port=${port}`,
    "--ServerApp.port_retries=0",
    `--ServerApp.root_dir=${dir}`,
    "--ServerApp.allow_remote_access=True",
    "--no-browser",
    ...(process.getuid() === 0 ? ["--allow-root"] : []),
  ];
  const env = { ...process.env, HOME: dir, JUPYTER_TOKEN: token };
  const t0 = performance.now();
  const child = startProcess(path.join(VENV, "bin", "jupyter"), args, { cwd: dir, env, logFile: path.join(dir, "server.log") });
  const url = `http://127.0.0.1:${port}`;
  const t1 = await firstOk(`${url}/api/status`, { authorization: `token ${token}` });
  return { url, token, child, startMs: t1 - t0, stop: () => stopProcess(child) };
}

/** Launches a bare Jupyter server in `dir`, times its first 200 on /api/status, stops it. */
export async function timedBareStart(dir) {
  const s = await startBareServer(dir);
  await s.stop();
  return s.startMs;
}
