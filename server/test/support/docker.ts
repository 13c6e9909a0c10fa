/**
 * A real Docker engine, a real registry and Ganymede's base image, for the Docker spawner and builder tests.
 *
 * - `startDockerEngine()`: the engine answering at /var/run/docker.sock is reused; otherwise Debian's
 *   `/usr/sbin/dockerd` is started (its init script fails here: it raises a ulimit root may not raise).
 * - `startRegistry()`: Debian's `docker-registry serve` on 127.0.0.1:<free port>, filesystem storage in a temp dir,
 *   no auth (the engine trusts plain HTTP on 127.0.0.0/8).
 * - `ensureBaseImage()`: scripts/make-base-image.sh (debootstrap, ~45 s once per machine: the engine's data root
 *   persists), then pushed to the registry when it is not there yet.
 *
 * Lifetime: both services belong to the test *run*, not to one test file. vitest runs each file in its own fork, one
 * after the other; the fork's parent is the run. Every user writes a lease named after the run's PID; a small shell
 * watchdog (detached, so it outlives the fork) stops the service once no leased process is alive for a few seconds
 * — dockerd stopping its containers on the way — and removes its directory. So a run pays once for the engine's
 * start (~0.3 s) and the base image's push (~6 s), and leaves nothing running behind; a concurrent run reuses the
 * same engine and registry and keeps them alive with its own lease.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { createDockerSpawnerFactory, type DockerSpawnerOptions } from "../../src/spawners/docker/index.js";
import { API_VERSION } from "../../src/engines/docker.js";
import type { SpawnerFactory } from "../../src/spawners/types.js";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import { repoRoot } from "./paths.js";
import { freePort, runTool } from "./service-process.js";

export const DOCKER_SOCKET = "/var/run/docker.sock";
/** The base image every built image starts FROM (scripts/make-base-image.sh builds it). */
export const BASE_IMAGE = "ganymede/base:bookworm";

/** Run-scoped services: `<SERVICES>/<name>/{leases/<pid>, service.log, state.json, <instance dirs>}`. */
const SERVICES = path.join(os.tmpdir(), "ganymede-test-services");

/**
 * Who holds the services: the test run (vitest's main process when this is one of its forks, else this process), or
 * the process named by GANYMEDE_SERVICES_OWNER (a benchmark that prepares the engine in a helper process).
 */
function runPid(): number {
  const owner = Number(process.env.GANYMEDE_SERVICES_OWNER);
  if (owner > 0) return owner;
  return process.env.VITEST && process.ppid > 1 ? process.ppid : process.pid;
}

export interface DockerEngine {
  docker: Docker;
  socketPath: string;
  /** True when this call started dockerd (it stops when the test run ends). */
  started: boolean;
}

/** The engine at /var/run/docker.sock, started if it does not answer. */
export async function startDockerEngine(): Promise<DockerEngine> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET, version: API_VERSION });
  const lease = takeLease("dockerd");
  if (await ping(DOCKER_SOCKET)) return { docker, socketPath: DOCKER_SOCKET, started: false };
  if (!existsSync("/usr/sbin/dockerd")) {
    throw new Error("/usr/sbin/dockerd not found: run scripts/setup.sh --for-tests, which installs Debian's docker.io");
  }
  const started = await withLock("dockerd", async () => {
    for (let attempt = 1; ; attempt++) {
      if (await ping(DOCKER_SOCKET)) return false; // another fork or run was faster
      // An engine still shutting down (the end of the previous run) holds its PID file: let it finish.
      await waitUntil(async () => !runningDockerd() || (await ping(DOCKER_SOCKET)), 90_000, () => "a dockerd neither answers nor exits");
      if (await ping(DOCKER_SOCKET)) return false;
      const instance = mkdtempSync(path.join(lease.dir, "run-"));
      // Its log is kept (appended) next to the leases, for the engine outlives any one test.
      startService(lease.dir, instance, lease.log, ["/usr/sbin/dockerd", "--host", `unix://${DOCKER_SOCKET}`]);
      // The watchdog removes `instance` when dockerd exits: then it failed to start (or lost a race): try again.
      await waitUntil(async () => (await ping(DOCKER_SOCKET)) || !existsSync(instance), 60_000, () => `dockerd did not answer:\n${tail(lease.log)}`);
      if (await ping(DOCKER_SOCKET)) return true;
      if (attempt >= 3) throw new Error(`dockerd exited at start:\n${tail(lease.log)}`);
    }
  });
  return { docker, socketPath: DOCKER_SOCKET, started };
}

/** Whether the dockerd named in /var/run/docker.pid is alive. */
function runningDockerd(): boolean {
  try {
    const pid = Number(readFileSync("/var/run/docker.pid", "utf8").trim());
    return pid > 0 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "dockerd";
  } catch {
    return false;
  }
}

export interface Registry {
  /** "127.0.0.1:<port>": the prefix of image names pushed to it. */
  host: string;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Whether `<host>/<repository>:<tag>` exists in the registry. */
  hasImage(repository: string, tag: string): Promise<boolean>;
}

/** Debian's docker-registry on a loopback port, shared by the test runs alive (like the engine). */
export async function startRegistry(): Promise<Registry> {
  if (!existsSync("/usr/bin/docker-registry")) {
    throw new Error("/usr/bin/docker-registry not found: run scripts/setup.sh --for-tests, which installs it");
  }
  const lease = takeLease("registry");
  const stateFile = path.join(lease.dir, "state.json");
  const port = await withLock("registry", async () => {
    const known = readState(stateFile);
    if (known && (await httpStatus(`http://127.0.0.1:${known.port}/v2/`)) === 200) return known.port;
    const instance = mkdtempSync(path.join(lease.dir, "run-"));
    const port = await freePort();
    writeFileSync(path.join(instance, "config.yml"), registryConfig(path.join(instance, "data"), port));
    // Its log (every 404 of a "do you have this layer?" check at level error) goes with its storage.
    const log = path.join(instance, "registry.log");
    startService(lease.dir, instance, log, ["/usr/bin/docker-registry", "serve", path.join(instance, "config.yml")]);
    const url = `http://127.0.0.1:${port}/v2/`;
    await waitUntil(async () => (await httpStatus(url)) === 200, 15_000, () => `docker-registry did not answer:\n${tail(log)}`);
    writeFileSync(stateFile, JSON.stringify({ port }));
    return port;
  });
  const host = `127.0.0.1:${port}`;
  return {
    host,
    url: `http://${host}`,
    async hasImage(repository, tag) {
      const status = await httpStatus(`http://${host}/v2/${repository}/manifests/${tag}`, "HEAD", {
        accept: "application/vnd.docker.distribution.manifest.v2+json",
      });
      return status === 200;
    },
  };
}

/** distribution 2.8's configuration: filesystem storage, loopback only, no auth, deletes allowed. */
function registryConfig(storage: string, port: number): string {
  return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: ganymede-test-registry
`;
}

/**
 * Makes sure the base image is on the engine (building it with scripts/make-base-image.sh when missing) and, with a
 * registry, pushed there. Returns the local name and the registry's name.
 */
export async function ensureBaseImage(engine: DockerEngine, registry?: Registry): Promise<{ image: string; pushed?: string }> {
  if (!(await hasLocalImage(engine.docker, BASE_IMAGE))) {
    await withLock("base-image", async () => {
      if (await hasLocalImage(engine.docker, BASE_IMAGE)) return;
      const env = { PATH: `${process.env.PATH}:/usr/sbin:/sbin`, DOCKER_HOST: `unix://${engine.socketPath}` };
      await runTool(["bash", path.join(repoRoot, "scripts/make-base-image.sh"), BASE_IMAGE], { env, dieWithTest: true });
    }, 600_000);
  }
  if (!registry) return { image: BASE_IMAGE };
  const [repository, tag] = BASE_IMAGE.split(":") as [string, string];
  const pushed = `${registry.host}/${repository}:${tag}`;
  if (!(await registry.hasImage(repository, tag))) await pushImage(engine.docker, BASE_IMAGE, pushed);
  return { image: BASE_IMAGE, pushed };
}

/** Builds `tag` from `dockerfile` and the files in `files` (name in the context → source path) unless it exists. */
export async function buildImageOnce(engine: DockerEngine, tag: string, dockerfile: string, files: Record<string, string>): Promise<void> {
  if (await hasLocalImage(engine.docker, tag)) return;
  const context = mkdtempSync(path.join(os.tmpdir(), "ganymede-image-"));
  try {
    writeFileSync(path.join(context, "Dockerfile"), dockerfile);
    for (const [name, source] of Object.entries(files)) cpSync(source, path.join(context, name), { recursive: true, dereference: true });
    const stream = await engine.docker.buildImage({ context, src: ["Dockerfile", ...Object.keys(files)] }, { t: tag, rm: true, forcerm: true });
    const log: string[] = [];
    await followStream(engine.docker, stream, (e) => e.stream && log.push(e.stream)).catch((err: Error) => {
      throw new Error(`building ${tag} failed: ${err.message}\n${log.join("").split("\n").slice(-20).join("\n")}`);
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** Pushes `image` to the registry as `target` (registry/repository:tag); push errors arrive inside a 200 stream. */
export async function pushImage(docker: Docker, image: string, target: string): Promise<void> {
  const colon = target.lastIndexOf(":");
  const [repo, tag] = [target.slice(0, colon), target.slice(colon + 1)];
  await docker.getImage(image).tag({ repo, tag });
  // The engine insists on an X-Registry-Auth header, even empty, for a registry without auth.
  const stream = await docker.getImage(target).push({ authconfig: {} });
  try {
    await followStream(docker, stream);
  } finally {
    // Only the registry needs the name: each run's registry has a new port, whose tags would pile up in the engine.
    await docker.getImage(target).remove({ noprune: true }).catch(() => undefined);
  }
}

/** Waits for a pull/push/build stream to end; rejects with the first error event in it. */
export function followStream(docker: Docker, stream: NodeJS.ReadableStream, onEvent?: (e: { stream?: string }) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err || failure ? reject(new Error(failure ?? err!.message)) : resolve()),
      (event: { error?: string; stream?: string }) => {
        if (event.error) failure = event.error;
        onEvent?.(event);
      },
    );
  });
}

export async function hasLocalImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Removes every container and volume labelled with the hub name `prefix`, and the network; returns the names of the
 * containers it found (a test that stopped its servers expects none).
 */
export async function removeHubObjects(engine: DockerEngine, prefix: string, network: string): Promise<string[]> {
  const { docker } = engine;
  const filters = JSON.stringify({ label: [`${LABEL_HUB}=${prefix}`] });
  const containers = await docker.listContainers({ all: true, filters });
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true });
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
  await docker.getNetwork(network).remove().catch(() => undefined);
  return containers.map((c) => c.Names[0] ?? c.Id);
}

/** How many processes and threads the container has now, as the engine counts them (its cgroup's pids.current). */
export async function pidsCount(engine: DockerEngine, containerId: string): Promise<number> {
  // one-shot: the engine answers at once instead of waiting for a second sample to compute CPU usage.
  const stats = await engine.docker.getContainer(containerId).stats({ stream: false, "one-shot": true });
  const current = stats.pids_stats?.current;
  if (current === undefined) throw new Error(`the engine reports no pids count for ${containerId}`);
  return current;
}

// ---------------------------------------------------------------- run-scoped services

/**
 * Runs the service in the background, with a watchdog that stops it (SIGTERM, then waits: dockerd stops its
 * containers first) once no process named in `<dir>/leases` has been alive for 3 s, then removes `instance`.
 * Detached and in its own session: it outlives the test file that started it.
 */
const WATCHDOG = `
dir=$1; instance=$2; log=$3; shift 3
"$@" >>"$log" 2>&1 </dev/null &
pid=$!
idle=0
while kill -0 "$pid" 2>/dev/null; do
  live=0
  for lease in "$dir"/leases/*; do
    [ -e "$lease" ] || continue
    if kill -0 "\${lease##*/}" 2>/dev/null; then live=1; else rm -f "$lease"; fi
  done
  if [ "$live" = 1 ]; then idle=0; else idle=$((idle + 1)); [ "$idle" -ge 3 ] && break; fi
  sleep 1
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rm -rf "$instance"
`;

function startService(dir: string, instance: string, log: string, argv: string[]): void {
  const watchdog = spawn("sh", ["-c", WATCHDOG, "watchdog", dir, instance, log, ...argv], { detached: true, stdio: "ignore" });
  watchdog.unref();
}

function takeLease(name: string): { dir: string; log: string } {
  const dir = path.join(SERVICES, name);
  mkdirSync(path.join(dir, "leases"), { recursive: true });
  writeFileSync(path.join(dir, "leases", String(runPid())), "");
  return { dir, log: path.join(dir, "service.log") };
}

/** A lock between forks and runs: a file created exclusively, holding its owner's PID (stale owners are ignored). */
async function withLock<T>(name: string, body: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  mkdirSync(SERVICES, { recursive: true });
  const file = path.join(SERVICES, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      closeSync(openSync(file, "wx"));
      writeFileSync(file, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(file, "utf8") || "0");
      if (owner && !alive(owner)) rmSync(file, { force: true });
      if (Date.now() > deadline) throw new Error(`${file} stayed locked by PID ${owner}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(file, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(file: string): { port: number } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { port: number };
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, failure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET /_ping on the engine's socket, with a hard timeout. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: "/_ping", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

function httpStatus(url: string, method = "GET", headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers, timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

// ---------------------------------------------------------------- a Jupyter server image for spawner tests

/**
 * A small server image on top of the base image, as the builder's images will be: user jovyan (uid 1000), a venv in
 * /srv/venv with jupyter-server and ipykernel from PyPI (the versions in scripts/requirements.txt; the kernel is for
 * tests that run code in a server). Tagged by a hash of its Dockerfile and the base image's id, so it is built once
 * per machine (~45 s) and rebuilt only when either changes.
 */
export async function ensureTestServerImage(engine: DockerEngine): Promise<string> {
  const base = await engine.docker.getImage(BASE_IMAGE).inspect();
  const requirements = readFileSync(path.join(repoRoot, "scripts/requirements.txt"), "utf8");
  const pins = ["jupyter-server", "ipykernel"].map((name) => {
    const version = new RegExp(`^${name}==(\\S+)`, "m").exec(requirements)?.[1];
    if (!version) throw new Error(`scripts/requirements.txt pins no ${name} version`);
    return `${name}==${version}`;
  });
  const dockerfile = `FROM ${BASE_IMAGE}
RUN useradd --create-home --uid 1000 --shell /bin/bash jovyan \\
 && python3 -m venv /srv/venv \\
 && /srv/venv/bin/pip install --no-cache-dir --disable-pip-version-check ${pins.join(" ")} \\
 && chown -R 1000:1000 /srv/venv
ENV PATH=/srv/venv/bin:$PATH
USER 1000
WORKDIR /home/jovyan
`;
  const hash = createHash("sha256").update(dockerfile).update(base.Id).digest("hex").slice(0, 12);
  const tag = `ganymede-test/jupyter-server:${hash}`;
  if (await hasLocalImage(engine.docker, tag)) return tag;
  await withLock("test-server-image", async () => {
    if (await hasLocalImage(engine.docker, tag)) return;
    const context = mkdtempSync(path.join(os.tmpdir(), "ganymede-image-"));
    try {
      writeFileSync(path.join(context, "Dockerfile"), dockerfile);
      const stream = await engine.docker.buildImage({ context, src: ["Dockerfile"] }, { t: tag, rm: true, forcerm: true });
      const log: string[] = [];
      await followStream(engine.docker, stream, (e) => e.stream && log.push(e.stream)).catch((err: Error) => {
        throw new Error(`building ${tag} failed: ${err.message}\n${log.join("").split("\n").slice(-20).join("\n")}`);
      });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }, 600_000);
  return tag;
}

/**
 * A Docker spawner factory as the spawner tests use it: the tests' server image running `jupyter server`, objects
 * named `<prefix>-…` on the network `<prefix>-net`, loop volumes under `storageRoot` where possible, short grace.
 */
export function testDockerFactory(
  engine: DockerEngine,
  t: { image: string; prefix: string; storageRoot: string },
  overrides: Partial<DockerSpawnerOptions> = {},
): SpawnerFactory {
  return createDockerSpawnerFactory({
    socketPath: engine.socketPath,
    image: t.image,
    command: ["jupyter", "server"],
    args: [],
    env: {},
    homeDir: "/home/jovyan",
    network: `${t.prefix}-net`,
    namePrefix: t.prefix,
    storage: "auto",
    storageRoot: t.storageRoot,
    stopGraceMs: 2000,
    uid: 1000,
    gid: 1000,
    pidsLimit: 256,
    ...overrides,
  });
}
