/**
 * The local spawner with real Jupyter servers, plain directory storage and no cgroups (the path every machine
 * supports). Limits (cgroups, loop volumes) are in local-limits.test.ts.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { SpawnProgress } from "../../src/spawners/types.js";
import { isAlive, processGroupMembers, processesMentioning } from "../support/host-processes.js";
import { alice, contextFor, median, request, startReady, startTimings, useLocalSpawnerHarness } from "../support/local-spawner-harness.js";
import { waitForOk } from "../support/http-probe.js";
import { jupyterCommand } from "../support/paths.js";

const hubScript = fileURLToPath(new URL("../support/local-hub-process.ts", import.meta.url));

const h = useLocalSpawnerHarness();

afterAll(() => {
  console.log(`local spawner start→ready (ms): ${startTimings.join(", ")}; median ${median(startTimings)}`);
});

async function createKernel(api: (p: string) => string, headers: Record<string, string>): Promise<number> {
  const res = await request(api("kernels"), { method: "POST", headers, body: { name: "python3" }, timeoutMs: 20_000 });
  expect(res.status).toBe(201);
  const { id } = JSON.parse(res.body) as { id: string };
  for (let i = 0; i < 100; i++) {
    const [kernel] = processesMentioning(`kernel-${id}.json`);
    if (kernel) return kernel.pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no process for kernel ${id}`);
}

describe("local spawner", () => {
  it("starts a Jupyter server, keeps its files across restarts, and removes its storage", async () => {
    const spawner = h.spawner(h.factory());
    const ctx = contextFor(alice);
    const progress: SpawnProgress[] = [];
    const { url, api, headers } = await startReady(spawner, ctx, progress);

    expect(url).toMatch(/^http\+unix:\/\/%2F.*jupyter\.sock$/);
    const state = spawner.state() as { pid: number; pgid: number; socketPath: string; runAs: { uid: number } };
    expect(url).toBe(`http+unix://${encodeURIComponent(state.socketPath)}`);
    expect(progress.map((p) => p.message)).toEqual(
      expect.arrayContaining(["Preparing storage (directory)", expect.stringMatching(/^Starting Jupyter server as uid \d+/)]),
    );
    expect((await request(api("status"))).status).toBe(403); // the token from the environment is required

    expect(JSON.stringify(state)).not.toContain(ctx.token);
    expect(state.runAs.uid).toBeGreaterThanOrEqual(1_500_000);
    expect(readFileSync(`/proc/${state.pid}/cmdline`, "latin1")).not.toContain(ctx.token);
    expect(await spawner.poll()).toEqual({ running: true });
    expect(spawner.enforcement()).toMatchObject({
      cpu: { enforced: false, reason: expect.stringContaining("cgroups: off") },
      storage: { enforced: false, reason: expect.stringContaining("plain directory") },
    });

    const put = await request(api("contents/hello.txt"), {
      method: "PUT",
      headers,
      body: { type: "file", format: "text", content: "hello from alice" },
    });
    expect(put.status).toBe(201);
    expect(await spawner.storageUsed()).toBeGreaterThan(0);
    await expect(spawner.removeStorage()).rejects.toThrow(/still running: stop it before removing its storage/);

    await spawner.stop();
    expect(processGroupMembers(state.pgid)).toEqual([]);
    expect(await spawner.poll()).toMatchObject({ running: false });
    expect(spawner.state()).toEqual({});
    const file = path.join(h.rootDir, "alice/work/home/hello.txt");
    expect(readFileSync(file, "utf8")).toBe("hello from alice");
    await spawner.stop(); // idempotent

    const again = await startReady(spawner, contextFor(alice));
    const get = await request(again.api("contents/hello.txt"), { headers: again.headers });
    expect(JSON.parse(get.body)).toMatchObject({ content: "hello from alice" });
    await spawner.stop({ now: true });

    await spawner.removeStorage();
    expect(existsSync(path.join(h.rootDir, "alice"))).toBe(false);
    await spawner.removeStorage(); // idempotent
  });

  it("reattaches from state() in a new factory, and never signals a reused PID", async () => {
    const first = h.spawner(h.factory());
    await startReady(first, contextFor(alice));
    const saved = JSON.parse(JSON.stringify(first.state())) as Record<string, unknown> & { pid: number; pgid: number };

    // What a reused PID looks like: same number, another start time, not carrying this server's spawn id.
    const impostor = h.factory().create(alice);
    impostor.restore({ ...saved, startTime: "1", spawnId: "00000000-0000-4000-8000-000000000000" });
    expect(await impostor.poll()).toEqual({ running: false, exitCode: null });
    await impostor.stop({ now: true });
    expect(isAlive(saved.pid)).toBe(true);

    const restored = h.spawner(h.factory());
    restored.restore(saved);
    expect(await restored.poll()).toEqual({ running: true });
    expect(restored.state()).toEqual(saved);
    await restored.stop();
    expect(processGroupMembers(saved.pgid)).toEqual([]);
    expect(await restored.poll()).toMatchObject({ running: false });
    expect(() => restored.restore({ pid: "nope" })).toThrow(/invalid local spawner state/);
  });

  it("keeps the server running when its hub is killed with SIGKILL", async () => {
    const ctx = contextFor(alice);
    const options = {
      rootDir: h.rootDir,
      command: jupyterCommand,
      args: [],
      env: {},
      storage: "directory" as const,
      cgroups: "off" as const,
      pidsLimit: 256,
      isolation: "users" as const,
      sandbox: "auto" as const,
      stopGraceMs: 3000,
    };
    const hub = spawn(process.execPath, ["--import", "tsx", hubScript, JSON.stringify({ options, identity: alice, ctx })], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      hub.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      hub.once("exit", (code) => reject(new Error(`hub exited with ${code}`)));
    });
    const { endpoint, state } = JSON.parse(line) as { endpoint: { url: string }; state: Record<string, unknown> };
    const adopted = h.spawner(h.factory()); // cleans up even if an assertion fails
    adopted.restore(state);
    hub.kill("SIGKILL");
    await new Promise((r) => hub.once("exit", r));

    // The server neither died with its hub nor of a broken pipe when it logs afterwards.
    const headers = { authorization: `token ${ctx.token}` };
    await waitForOk(`${endpoint.url}${ctx.baseUrl}api/status`, { headers });
    expect((await request(`${endpoint.url}${ctx.baseUrl}api/contents/nope`, { headers })).status).toBe(404);
    expect(await adopted.poll()).toEqual({ running: true });
    await adopted.stop();
    expect(processesMentioning(h.rootDir)).toEqual([]);
  });

  it("kills kernels, which Jupyter runs in sessions of their own, on an immediate stop", async () => {
    const spawner = h.spawner(h.factory());
    const { api, headers } = await startReady(spawner, contextFor(alice));
    const kernelPid = await createKernel(api, headers);
    expect(isAlive(kernelPid)).toBe(true);
    await spawner.stop({ now: true });
    expect(isAlive(kernelPid)).toBe(false);
  });

  it("stops a server whose first process its user killed, leaving nothing behind", async () => {
    // Without cgroups a stop follows the server's process tree; a user can kill the top of it (the sandbox's outer
    // process, or Jupyter itself), orphaning the rest. The stop must still find and end every process.
    const spawner = h.spawner(h.factory());
    const { api, headers } = await startReady(spawner, contextFor(alice));
    const kernelPid = await createKernel(api, headers);
    const { pid } = spawner.state() as { pid: number };
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(processesMentioning(h.rootDir).length).toBeGreaterThan(0); // the orphans are still running
    await spawner.stop();
    expect(isAlive(kernelPid)).toBe(false);
    expect(processesMentioning(h.rootDir)).toEqual([]);
  });

  it("rejects with the last log lines when the command exits at once", async () => {
    const talker = h.spawner(h.factory({ command: ["sh", "-c", "echo boom-from-the-server >&2; exit 3"] }));
    const error = await talker.start(contextFor(alice), new AbortController().signal, () => {}).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/\(exit code 3\)/);
    expect((error as Error).message).toContain("[server log] boom-from-the-server");
    expect(await talker.poll()).toEqual({ running: false, exitCode: 3 });

    const silent = h.spawner(h.factory({ command: ["false"] }), { user: "bob", serverName: "" });
    await expect(silent.start(contextFor({ user: "bob", serverName: "" }), new AbortController().signal, () => {})).rejects.toThrow(
      /exited during its start \(exit code 1\)\.\nIt wrote nothing to its log/,
    );
  });

  it("rejects a missing binary with “command not found”", async () => {
    const spawner = h.spawner(h.factory({ command: ["no-such-jupyter-here", "lab"] }));
    await expect(spawner.start(contextFor(alice), new AbortController().signal, () => {})).rejects.toThrow(
      "command not found: no-such-jupyter-here",
    );
    expect(await spawner.poll()).toEqual({ running: false, exitCode: null });
  });

  it("stops what it started when the start is aborted", async () => {
    const spawner = h.spawner(h.factory());
    const abort = new AbortController();
    const starting = spawner.start(contextFor(alice), abort.signal, (p) => {
      if (p.message.startsWith("Waiting for the server")) setTimeout(() => abort.abort(new Error("start timed out")), 200);
    });
    await expect(starting).rejects.toThrow("start timed out");
    expect(processesMentioning(h.rootDir)).toEqual([]);
    expect(await spawner.poll()).toMatchObject({ running: false });
  });
});
