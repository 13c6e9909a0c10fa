/**
 * Binder launches on a one-machine install (issue 11), through the set-up path of `scripts/start.sh --binder`:
 * scripts/binder-services.sh installs and starts what is missing (the Docker engine, a registry on 127.0.0.1), makes
 * the images once and writes the hub's settings; the real hub CLI runs with them. In Chromium an administrator pastes
 * a repository served by `git http-backend` into Home's Binder form and lands in JupyterLab; a kernel of that server
 * imports the repository's dependency. `down` then stops what `up` started.
 *
 * Test-only settings on top of what the script writes: the hub's port and data directory, a name prefix for its
 * containers (cleaned up here), http:// repositories and private hosts (the git server is on 127.0.0.1).
 */
import { execFile, execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { Browser } from "playwright-core";
import YAML from "yaml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { API_VERSION } from "../../src/engines/docker.js";
import { BINDER_DEFAULT_POLICY } from "../support/binder-hub.js";
import { launchBrowser, signIn } from "../support/browser.js";
import { DOCKER_SOCKET, removeHubObjects } from "../support/docker.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { spawnHubProcess, waitFor, waitForHealth } from "../support/hub.js";
import { execute, startKernel } from "../support/kernel.js";
import { repoRoot } from "../support/paths.js";
import { freePort } from "../support/service-process.js";

const TIMEOUT = 900_000;
const services = path.join(repoRoot, "scripts/binder-services.sh");
const state = mkdtempSync(path.join(tmpdir(), "ganymede-binder-services-"));
const dataDir = mkdtempSync(path.join(tmpdir(), "ganymede-binder-hub-"));
const prefix = `gbom-${process.pid}`;
let servicesEnv: Record<string, string>;
let hub: ChildProcess | undefined;
let hubUrl: string;
let git: GitServer;
let browser: Browser;
let upSeconds: number;
let token: string | undefined;

function runServices(command: "up" | "down"): { status: number | null; output: string } {
  const run = spawnSync("bash", [services, command], { env: { ...process.env, ...servicesEnv }, encoding: "utf8", timeout: TIMEOUT });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The settings `up` wrote, read the way start.sh reads them (sourced by the shell). */
function hubSettings(): Record<string, string> {
  const file = path.join(state, "hub.env");
  const names = [...readFileSync(file, "utf8").matchAll(/^(GANYMEDE_[A-Z_]+)=/gm)].map((m) => m[1]!);
  const printed = execFileSync("bash", ["-c", 'set -a; . "$1"; for n in "${@:2}"; do printf "%s=%s\\0" "$n" "${!n}"; done', "env", file, ...names], { encoding: "utf8" });
  return Object.fromEntries(printed.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

beforeAll(async () => {
  servicesEnv = { GANYMEDE_BINDER_DIR: state, GANYMEDE_BINDER_REGISTRY_PORT: String(await freePort()) };
  const started = Date.now();
  const up = runServices("up");
  upSeconds = (Date.now() - started) / 1000;
  expect(up.status, up.output).toBe(0);
  console.log(`binder-services.sh up: ${upSeconds.toFixed(1)} s`);

  const settings = hubSettings();
  expect(settings).toMatchObject({ GANYMEDE_SPAWNER__BACKEND: "docker", GANYMEDE_BUILDER__ENABLED: "true" });
  const policies = path.join(dataDir, "policies");
  cpSync(path.join(repoRoot, "policies"), policies, { recursive: true, filter: (src) => !src.includes("examples") });
  writeFileSync(path.join(policies, "default.yaml"), BINDER_DEFAULT_POLICY);
  const port = await freePort();
  hubUrl = `http://127.0.0.1:${port}`;
  const config = path.join(dataDir, "ganymede.yaml");
  writeFileSync(
    config,
    YAML.stringify({
      hub: { bind: hubUrl, dataDir },
      policies: { dir: policies },
      spawner: { startTimeout: "120s", docker: { namePrefix: prefix, network: `${prefix}-net` } },
      builder: { allowHttp: true },
      culler: { enabled: false },
    }),
  );
  [git, browser] = await Promise.all([startGitServer(), launchBrowser()]);
  hub = spawnHubProcess(config, { env: settings });
  await waitForHealth(hubUrl, 60_000);
  // Asynchronously: a CLI run blocking the event loop would leave the health check's keep-alive socket, closed by the
  // hub meanwhile, looking usable to the next request.
  const created = await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(repoRoot, "server/src/cli.ts"), "--config", config, "token", "create", "--user", "admin"], {
    cwd: path.join(repoRoot, "server"),
    encoding: "utf8",
  });
  token = created.stdout.trim();
}, TIMEOUT);

/** Stops every server of the hub through its API (servers outlive their hub by design), until none runs. */
async function stopServers(): Promise<void> {
  const headers = { authorization: `token ${token}` };
  const res = await fetch(`${hubUrl}/hub/api/users/admin`, { headers });
  const servers = Object.keys(((await res.json()) as { servers?: Record<string, unknown> }).servers ?? {});
  for (const name of servers) await fetch(`${hubUrl}/hub/api/users/admin/servers/${name}`, { method: "DELETE", headers });
  await waitFor(async () => {
    const user = (await (await fetch(`${hubUrl}/hub/api/users/admin`, { headers })).json()) as { servers?: Record<string, unknown> };
    return Object.keys(user.servers ?? {}).length === 0;
  }, 120_000, 500);
}

afterAll(async () => {
  await browser?.close();
  await git?.close();
  if (hub && hub.exitCode === null) {
    if (token) await stopServers();
    hub.kill("SIGTERM");
    await new Promise((r) => hub!.once("exit", r));
  }
  await removeHubObjects({ docker: new Docker({ socketPath: DOCKER_SOCKET, version: API_VERSION }), socketPath: DOCKER_SOCKET, started: false }, prefix, `${prefix}-net`).catch(() => []);
  const down = runServices("down");
  expect(down.status, down.output).toBe(0);
  rmSync(state, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}, 300_000);

it("launches a repository from Home's Binder form right after the set-up, into a kernel that has its dependency", async () => {
  const { url } = await git.createRepo("tables", {
    "requirements.txt": "tabulate==0.9.0\n",
    "README.md": "A repository with one dependency.\n",
  });
  const password = readFileSync(path.join(dataDir, "initial-admin-password"), "utf8").trim();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, hubUrl, "admin", password);
  const form = page.locator("form.binder");
  await form.getByLabel("Git repository URL").fill(url);
  await form.getByLabel("Branch, tag or commit").fill("main");
  await form.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL((u) => u.pathname.startsWith("/user/admin/binder-tables/"), { timeout: TIMEOUT });
  await page.locator(".jp-LabShell").waitFor({ timeout: 120_000 });

  const target = { serverUrl: `${hubUrl}/user/admin/binder-tables/`, headers: { authorization: `token ${token}` } };
  const kernel = await startKernel(target);
  expect(await execute(target, kernel, "import tabulate; print(tabulate.__version__)", 60_000)).toBe("0.9.0\n");
}, TIMEOUT);

it("reuses the engine, the registry and the images on the next run", () => {
  const started = Date.now();
  const again = runServices("up");
  const seconds = (Date.now() - started) / 1000;
  expect(again.status, again.output).toBe(0);
  expect(again.output).toMatch(/Docker engine: reusing/);
  expect(again.output).toMatch(/registry: reusing/);
  expect(again.output).not.toMatch(/building the server image|making the base image/);
  console.log(`binder-services.sh up, again: ${seconds.toFixed(1)} s (first: ${upSeconds.toFixed(1)} s)`);
});

it("stops with the reason and what to do when it cannot run the engine (not root)", () => {
  // An ordinary uid: setpriv drops root for this one run of the script (it needs no file of the checkout's but itself).
  const run = spawnSync("setpriv", ["--reuid=1399001", "--regid=1399001", "--clear-groups", "bash", services, "up"], {
    env: { ...process.env, ...servicesEnv, GANYMEDE_BINDER_DIR: path.join(tmpdir(), "ganymede-binder-not-root") },
    encoding: "utf8",
  });
  const said = run.stderr.replace(/\x1b\[[0-9;]*m/g, ""); // without its colours
  expect(run.status).toBe(1);
  expect(said).toMatch(/cannot set up Binder launches: the Docker engine and the size-limited volumes of servers need root \(this is uid 1399001\)/);
  expect(said).toMatch(/use plain scripts\/start\.sh/);
});
