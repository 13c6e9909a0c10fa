/**
 * Idle servers are stopped (storage kept): by the hub's own culler with a policy idle timeout of seconds, and by the
 * stock `jupyterhub-idle-culler` (from PyPI) driving the hub's JupyterHub-compatible API.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { execute, startKernel } from "../support/kernel.js";
import { repoRoot } from "../support/paths.js";

let t: TestHub | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

const SHORT_IDLE = `name: default
appliesTo: { default: true }
limits:
  namedServers: 5
  serverNameMaxLength: 20
  idleTimeout: 3s
  storage: 2GiB
  cpu: 1
  memory: 2GB
  concurrentBuilds: 2
  buildTimeout: 30m
`;

async function startAndWait(hub: TestHub, user: string, serverName: string, token: string) {
  const res = await hub.api("POST", `users/${user}/servers/${serverName}`, { token });
  expect([201, 202]).toContain(res.status);
  const events = await readEvents(hub.url, `/hub/api/users/${user}/servers/${serverName}/progress`, token);
  expect(events.at(-1)).toMatchObject({ ready: true });
}

async function serverModel(hub: TestHub, user: string, serverName: string) {
  return (await hub.api("GET", `users/${user}?include_stopped_servers=1`)).body.servers?.[serverName];
}

describe("the hub's culler", () => {
  it("stops a server idle past its policy's timeout and keeps its storage; traffic keeps it alive", async () => {
    t = await startTestHub({ policies: { "default.yaml": SHORT_IDLE }, config: { culler: { enabled: true, interval: "1s" } } });
    const token = await t.addUser("idle");
    await startAndWait(t, "idle", "nap", token);

    // Traffic through the proxy for ~5 s (longer than the 3 s timeout) keeps it running.
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${t.url}/user/idle/nap/api/contents`, { headers: { authorization: `token ${token}` } })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await serverModel(t, "idle", "nap")).ready).toBe(true);

    await waitFor(async () => (await serverModel(t!, "idle", "nap"))?.stopped === true, 20_000, 250);
    expect(existsSync(path.join(t.dataDir, "servers", "idle", "nap"))).toBe(true);
    const metrics = await fetch(`${t.url}/hub/metrics`, { headers: { authorization: `token ${t.adminToken}` } });
    expect(await metrics.text()).toMatch(/^ganymede_culls_total 1$/m);
  });
});

describe("kernel activity", () => {
  it("keeps a server computing with nobody connected, then lets it be culled", async () => {
    t = await startTestHub({ policies: { "default.yaml": SHORT_IDLE }, config: { culler: { enabled: true, interval: "1s" } } });
    const token = await t.addUser("kai");
    await startAndWait(t, "kai", "compute", token);
    const target = { serverUrl: `${t.url}/user/kai/compute/`, headers: { authorization: `token ${token}` } };
    const kernel = await startKernel(target);
    // A background thread prints for ~7 s after the request returns: kernel output, but no traffic through the hub.
    const code = "import threading, time\ndef work():\n    for i in range(14):\n        print(i, flush=True)\n        time.sleep(0.5)\nthreading.Thread(target=work).start()";
    await execute(target, kernel, code);
    const quietSince = Date.now();
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await serverModel(t, "kai", "compute")).ready).toBe(true); // 6 s without traffic, timeout 3 s
    await waitFor(async () => (await serverModel(t!, "kai", "compute"))?.stopped === true, 20_000, 250);
    expect(Date.now() - quietSince).toBeGreaterThan(9_000); // ~7 s of computing + the 3 s timeout
  });
});

describe("the stock jupyterhub-idle-culler", () => {
  it("culls through the JupyterHub-compatible API", async () => {
    t = await startTestHub();
    const token = await t.addUser("grace");
    await startAndWait(t, "grace", "old", token);
    const culler = spawn(
      path.join(repoRoot, ".venv/bin/python"),
      ["-m", "jupyterhub_idle_culler", `--url=${t.url}/hub/api`, "--timeout=2", "--cull-every=1", "--concurrency=1"],
      { env: { ...process.env, JUPYTERHUB_API_TOKEN: t.adminToken }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    culler.stdout.on("data", (d: Buffer) => (output += d.toString()));
    culler.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await waitFor(async () => (await serverModel(t!, "grace", "old"))?.stopped === true, 30_000, 250);
    } catch (err) {
      throw new Error(`the idle culler did not stop the server; its output:\n${output}`, { cause: err });
    } finally {
      culler.kill();
    }
    expect(output).toMatch(/Culling server grace\/old|culling/i);
  });
});
