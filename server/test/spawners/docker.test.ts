/**
 * The Docker spawner against a real engine (Debian's dockerd, started by the test setup), with a real Jupyter server
 * image built on Ganymede's base image, and a real registry for the pull path. Every test must leave no container,
 * volume or mount of its own behind: afterEach checks, cleans up and fails the test if it found any.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SpawnError } from "../../src/errors.js";
import type { DockerSpawnerOptions } from "../../src/spawners/docker/index.js";
import { demuxLogs } from "../../src/engines/docker.js";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import type { SpawnContext, Spawner, SpawnProgress } from "../../src/spawners/types.js";
import { unmountVolume } from "../../src/spawners/host-storage/volume.js";
import {
  ensureBaseImage,
  ensureTestServerImage,
  pushImage,
  startDockerEngine,
  startRegistry,
  testDockerFactory,
  type DockerEngine,
  type Registry,
} from "../support/docker.js";
import { mountsBelow } from "../support/host-processes.js";
import { request } from "../support/http-probe.js";
import { alice, contextFor, median, startReady } from "../support/local-spawner-harness.js";
import { repoRoot } from "../support/paths.js";

let engine: DockerEngine;
let registry: Registry;
let image: string;
const prefix = `gtest-${randomBytes(3).toString("hex")}`;
const network = `${prefix}-net`;
let storageRoot: string;
const timings: number[] = [];

beforeAll(async () => {
  storageRoot = mkdtempSync(path.join(tmpdir(), "ganymede-docker-storage-"));
  const t0 = performance.now();
  engine = await startDockerEngine();
  const t1 = performance.now();
  registry = await startRegistry();
  await ensureBaseImage(engine, registry);
  image = await ensureTestServerImage(engine);
  const t2 = performance.now();
  console.log(`docker test setup: engine ${Math.round(t1 - t0)} ms (started: ${engine.started}), registry + images ${Math.round(t2 - t1)} ms`);
}, 900_000);

afterEach(async () => {
  const leftovers = await cleanUp();
  expect(leftovers, "containers, volumes or mounts left behind").toEqual([]);
});

afterAll(async () => {
  console.log(`docker spawner start→ready (ms): ${timings.join(", ")}; median ${median(timings)}`);
  if (engine) await cleanUp();
  await engine?.docker.getNetwork(network).remove().catch(() => undefined);
  if (storageRoot) rmSync(storageRoot, { recursive: true, force: true });
});

/** Removes every container, volume and mount of this file's prefix; returns what it found. */
async function cleanUp(): Promise<string[]> {
  const { docker } = engine;
  const found: string[] = [];
  const filters = JSON.stringify({ label: [`${LABEL_HUB}=${prefix}`] });
  for (const c of await docker.listContainers({ all: true, filters })) {
    found.push(`container ${c.Names[0]}`);
    await docker.getContainer(c.Id).remove({ force: true });
  }
  for (const mount of mountsBelow(storageRoot)) {
    found.push(`mount ${mount}`);
    await unmountVolume(mount);
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    found.push(`volume ${v.Name}`);
    await docker.getVolume(v.Name).remove();
  }
  for (const user of readdirSync(storageRoot)) {
    found.push(`storage ${user}`);
    rmSync(path.join(storageRoot, user), { recursive: true, force: true });
  }
  return found;
}

function factory(overrides: Partial<DockerSpawnerOptions> = {}) {
  return testDockerFactory(engine, { image, prefix, storageRoot }, overrides);
}

const limits = { cpu: 0.5, memoryBytes: 512 * 2 ** 20, storageBytes: 64 * 2 ** 20 };
const ctxFor = (overrides: Partial<SpawnContext> = {}) => contextFor(alice, { limits, ...overrides });

async function ready(spawner: Spawner, ctx: SpawnContext, progress: SpawnProgress[] = []) {
  const started = await startReady(spawner, ctx, progress);
  timings.push(started.ms);
  return started;
}

/** Runs a command in the server's container as its user; resolves its exit code and output. */
async function exec(containerId: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const container = engine.docker.getContainer(containerId);
  const run = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  await new Promise((r) => stream.on("end", r));
  const { ExitCode } = await run.inspect();
  return { code: ExitCode ?? -1, output: demuxLogs(Buffer.concat(chunks)) };
}

const containerOf = (spawner: Spawner) => (spawner.state() as { containerId: string }).containerId;
const volumeName = `${prefix}-alice--work`;

describe("docker spawner", () => {
  it("runs a server in a container: loopback only, token required, limits enforced by the engine", async () => {
    const spawner = factory().create(alice);
    const ctx = ctxFor();
    const progress: SpawnProgress[] = [];
    const { url, api, headers } = await ready(spawner, ctx, progress);

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(progress.map((p) => p.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Preparing storage/), expect.stringMatching(/^Creating container gtest-/), "Starting container"]),
    );
    expect((await request(api("status"))).status).toBe(403);
    expect((await request(api("status"), { headers })).status).toBe(200);

    const info = await engine.docker.getContainer(containerOf(spawner)).inspect();
    expect(info.Name).toBe(`/${prefix}-alice--work`);
    expect(info.Config.Labels).toMatchObject({ [LABEL_HUB]: prefix, "ganymede.user": "alice", "ganymede.server": "work" });
    expect(info.HostConfig).toMatchObject({ NanoCpus: 0.5e9, Memory: 512 * 2 ** 20, MemorySwap: 512 * 2 ** 20, NetworkMode: network });
    expect(info.NetworkSettings.Ports["8888/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: new URL(url).port }]);
    // The volume is the only mount: the hub's configuration is a root-owned copy the server can read, not change.
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: volumeName, Destination: "/home/jovyan" })]);
    const config = "/etc/ganymede/jupyter/jupyter_server_config.py";
    const owners = await exec(containerOf(spawner), ["stat", "-c", "%u:%g %a %n", "/home/jovyan", "/etc/ganymede/jupyter", config]);
    expect(owners.output.trim().split("\n")).toEqual(["1000:1000 700 /home/jovyan", "0:0 755 /etc/ganymede/jupyter", `0:0 644 ${config}`]);
    expect((await exec(containerOf(spawner), ["cat", config])).output).toBe(readFileSync(path.join(repoRoot, "server/jupyter-config/jupyter_server_config.py"), "utf8"));
    expect((await exec(containerOf(spawner), ["sh", "-c", `echo changed >> ${config}`])).code).not.toBe(0);
    // The loop-mounted image behind the volume, seen from the hub's side.
    const root = statSync(path.join(storageRoot, "alice/work/home"));
    expect({ uid: root.uid, gid: root.gid, mode: root.mode & 0o7777 }).toEqual({ uid: 1000, gid: 1000, mode: 0o700 });
    expect(info.Config.Env).toEqual(expect.arrayContaining(["JUPYTER_CONFIG_PATH=/etc/ganymede/jupyter", `JUPYTER_TOKEN=${ctx.token}`]));
    expect(info.Config.Cmd.join(" ")).not.toContain(ctx.token);
    expect(JSON.stringify(spawner.state())).not.toContain(ctx.token);
    const net = await engine.docker.getNetwork(network).inspect();
    expect(net.Options).toMatchObject({ "com.docker.network.bridge.enable_icc": "false" });

    expect(spawner.enforcement()).toMatchObject({
      cpu: { enforced: true, by: expect.stringContaining("Docker engine") },
      memory: { enforced: true, by: expect.stringContaining("Docker engine") },
      storage: { enforced: true, by: expect.stringContaining("ext4 loop volume of 64 MiB") },
    });
    // Memory: an allocation over the limit is killed; storage: writing past the volume's size fails.
    const hog = await exec(containerOf(spawner), ["python3", "-c", "b = b'x' * (700 * 2**20)"]);
    expect(hog.code).toBe(137);
    const fill = await exec(containerOf(spawner), ["dd", "if=/dev/zero", "of=/home/jovyan/big", "bs=1M", "count=100"]);
    expect(fill.code).not.toBe(0);
    expect(fill.output).toMatch(/No space left on device/);
    await exec(containerOf(spawner), ["rm", "/home/jovyan/big"]);
    expect(await spawner.poll()).toEqual({ running: true });
    await spawner.stop({ now: true });
    await spawner.removeStorage();
  });

  it("keeps the volume on stop, finds the files again, and removes the volume with removeStorage()", async () => {
    const spawner = factory().create(alice);
    const first = await ready(spawner, ctxFor());
    const put = await request(first.api("contents/hello.txt"), {
      method: "PUT",
      headers: first.headers,
      body: { type: "file", format: "text", content: "hello from alice" },
    });
    expect(put.status).toBe(201);
    expect(await spawner.storageUsed()).toBeGreaterThan(0);
    await expect(spawner.removeStorage()).rejects.toThrow(/still running/);

    const id = containerOf(spawner);
    await spawner.stop();
    await expect(engine.docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await spawner.poll()).toEqual({ running: false, exitCode: null });
    expect(spawner.state()).toEqual({});
    expect(await engine.docker.getVolume(volumeName).inspect()).toMatchObject({ Name: volumeName });
    expect(mountsBelow(storageRoot)).toEqual([]);
    expect(await spawner.storageUsed()).toBeGreaterThan(0); // noted when the volume was unmounted
    await spawner.stop(); // idempotent

    const again = await ready(spawner, ctxFor());
    const get = await request(again.api("contents/hello.txt"), { headers: again.headers });
    expect(JSON.parse(get.body)).toMatchObject({ content: "hello from alice" });
    await spawner.stop({ now: true });

    await spawner.removeStorage();
    await expect(engine.docker.getVolume(volumeName).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(readdirSync(storageRoot)).toEqual([]);
    await spawner.removeStorage(); // idempotent
  });

  it("reattaches after a hub restart through state()/restore()", async () => {
    const spawner = factory().create(alice);
    const ctx = ctxFor();
    const { api, headers } = await ready(spawner, ctx);
    const state = JSON.parse(JSON.stringify(spawner.state())) as Record<string, unknown>;

    const restored = factory().create(alice); // another factory: a new hub process
    restored.restore(state);
    expect(await restored.poll()).toEqual({ running: true });
    expect(restored.enforcement().storage).toMatchObject({ enforced: true });
    expect((await request(api("status"), { headers })).status).toBe(200);
    await restored.stop({ now: true });
    expect(await restored.poll()).toMatchObject({ running: false });
    expect(await spawner.poll()).toMatchObject({ running: false });
    await restored.removeStorage();
  });

  it("stops and removes a leftover container of the same server before starting (a hub that died mid-start)", async () => {
    const first = factory().create(alice);
    await ready(first, ctxFor());
    const forgotten = containerOf(first);
    const second = factory().create(alice); // knows nothing of the first container
    await ready(second, ctxFor());
    expect(containerOf(second)).not.toBe(forgotten);
    await expect(engine.docker.getContainer(forgotten).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await second.stop({ now: true });
    await second.removeStorage();
  });

  for (const step of [/^Creating container/, "Starting container", "Waiting for the server to listen"]) {
    it(`an abort at "${String(step)}" leaves no container, volume or mount`, async () => {
      const spawner = factory().create(alice);
      const abort = new AbortController();
      const progress: string[] = [];
      const start = spawner.start(ctxFor(), abort.signal, (p) => {
        progress.push(p.message);
        if (typeof step === "string" ? p.message === step : step.test(p.message)) abort.abort(new Error("stop requested"));
      });
      await expect(start).rejects.toThrow("stop requested");
      expect(progress.some((m) => (typeof step === "string" ? m === step : step.test(m)))).toBe(true);
      expect(await cleanUp()).toEqual([]);
    });
  }

  it("fails a start whose server exits at once, with its last log lines, and removes what it created", async () => {
    const spawner = factory({ command: ["python3", "-c", "import sys; print('boom: no jupyter here', file=sys.stderr); sys.exit(3)"] }).create(alice);
    const start = spawner.start(ctxFor(), new AbortController().signal, () => undefined);
    await expect(start).rejects.toBeInstanceOf(SpawnError);
    await expect(start).rejects.toMatchObject({ reason: "exited", message: expect.stringMatching(/\(exit code 3\)[\s\S]*\[server log\] boom: no jupyter here/) });
    expect(await cleanUp()).toEqual([]);
  });

  it("uses plain volumes with storage: volume, and says the size is not limited", async () => {
    const spawner = factory({ storage: "volume" }).create(alice);
    const { api, headers } = await ready(spawner, ctxFor());
    expect(spawner.enforcement().storage).toMatchObject({ enforced: false, reason: expect.stringMatching(/plain Docker volume.*xfs/) });
    const volume = await engine.docker.getVolume(volumeName).inspect();
    expect(volume.Options ?? {}).toEqual({});
    const root = statSync(volume.Mountpoint);
    expect({ uid: root.uid, gid: root.gid, mode: root.mode & 0o7777 }).toEqual({ uid: 1000, gid: 1000, mode: 0o700 });
    const put = await request(api("contents/notes.txt"), {
      method: "PUT",
      headers,
      body: { type: "file", format: "text", content: "x".repeat(10_000) },
    });
    expect(put.status).toBe(201);
    expect(await spawner.storageUsed()).toBeGreaterThanOrEqual(10_000);
    await spawner.stop({ now: true });
    await spawner.removeStorage();
    await expect(engine.docker.getVolume(volumeName).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("runs as the configured uid:gid, owning its volume's root even where the image has no folder (a Binder launch)", async () => {
    // gid 100 (Debian's "users"), not the image's 1000: the configuration decides, not the image.
    const spawner = factory({ gid: 100 }).create(alice);
    const { api, headers } = await ready(spawner, ctxFor({ storageDir: "/home/jovyan/work" }));
    const id = await exec(containerOf(spawner), ["id"]);
    expect(id.output.trim()).toBe("uid=1000(jovyan) gid=100(users) groups=100(users)");
    expect((await exec(containerOf(spawner), ["stat", "-c", "%u:%g %a", "/home/jovyan/work"])).output.trim()).toBe("1000:100 700");
    const put = await request(api("contents/work/notes.txt"), { method: "PUT", headers, body: { type: "file", format: "text", content: "mine" } });
    expect(put.status).toBe(201);
    await spawner.stop({ now: true });
    await spawner.removeStorage();
  });

  it("runs the spawn context's image, pulling it from the registry when the engine does not have it", async () => {
    const pushed = `${registry.host}/ganymede-test/binder-${prefix}:v1`;
    await pushImage(engine.docker, image, pushed); // and untagged: the engine has the layers, not this name
    const spawner = factory({ image: "ganymede-test/not-used:never" }).create(alice);
    const progress: SpawnProgress[] = [];
    try {
      await ready(spawner, ctxFor({ image: pushed }), progress);
      expect(progress.map((p) => p.message)).toContain(`Pulling image ${pushed}`);
      expect((await engine.docker.getContainer(containerOf(spawner)).inspect()).Config.Image).toBe(pushed);
      await spawner.stop({ now: true });
      await spawner.removeStorage();
    } finally {
      await engine.docker.getImage(pushed).remove().catch(() => undefined);
    }
  });

  it("explains an image that is neither on the engine nor pullable", async () => {
    const spawner = factory().create(alice);
    const start = spawner.start(ctxFor({ image: "127.0.0.1:9/ganymede-test/missing:v1" }), new AbortController().signal, () => undefined);
    await expect(start).rejects.toMatchObject({
      reason: "backend",
      message: expect.stringContaining("The image 127.0.0.1:9/ganymede-test/missing:v1 is not on the Docker engine and could not be pulled"),
    });
    expect(await cleanUp()).toEqual([]);
  });
});
