/**
 * The local spawner's limits on a machine that allows them (root, writable cgroups, loop devices): CPU and memory
 * written to the server's cgroup, storage on a loop-mounted ext4 volume of the granted size.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statfsSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectCgroups } from "../../src/spawners/local/cgroups.js";
import { attachedLoopDevices, loopSupport } from "../../src/spawners/host-storage/volume.js";
import type { SpawnProgress } from "../../src/spawners/types.js";
import { isAlive, mountsBelow, processesMentioning } from "../support/host-processes.js";
import { alice, contextFor, median, request, startReady, startTimings, useLocalSpawnerHarness } from "../support/local-spawner-harness.js";

const cgroups = detectCgroups();
const loop = loopSupport();
const h = useLocalSpawnerHarness({ storage: "auto", cgroups: "auto" });
const MiB = 2 ** 20;

afterAll(() => {
  console.log(`local spawner (limits) start→ready (ms): ${startTimings.join(", ")}; median ${median(startTimings)}`);
});

function read(dir: string, file: string): string {
  return readFileSync(path.join(dir, file), "utf8").trim();
}

interface LimitsState {
  pid: number;
  cgroup: { version: 1 | 2; dirs: string[] } | null;
  storage: { kind: string; image?: string; mountPoint?: string };
}

describe.skipIf(!cgroups.available)("local spawner: cgroups", () => {
  it("writes CPU and memory limits to the server's cgroup, which kernels join too, and removes it on stop", async () => {
    const spawner = h.spawner(h.factory({ storage: "directory" }));
    const ctx = contextFor(alice, { limits: { cpu: 0.5, memoryBytes: 512 * MiB, storageBytes: 256 * MiB } });
    const { api, headers } = await startReady(spawner, ctx);
    const state = spawner.state() as unknown as LimitsState;
    const cg = state.cgroup!;
    expect(cg.dirs[0]).toContain(`${h.cgroupParent}/alice.work`);

    const memoryDir = cg.dirs[0]!;
    const cpuDir = cg.dirs[1] ?? memoryDir;
    if (cg.version === 1) {
      expect(read(memoryDir, "memory.limit_in_bytes")).toBe(String(512 * MiB));
      expect(read(cpuDir, "cpu.cfs_quota_us")).toBe("50000");
      expect(read(cpuDir, "cpu.cfs_period_us")).toBe("100000");
    } else {
      expect(read(memoryDir, "memory.max")).toBe(String(512 * MiB));
      expect(read(cpuDir, "cpu.max")).toBe("50000 100000");
    }
    for (const dir of cg.dirs) expect(read(dir, "cgroup.procs").split("\n")).toContain(String(state.pid));
    expect(spawner.enforcement()).toMatchObject({
      cpu: { enforced: true, by: expect.stringContaining(`cgroup v${cg.version}`) },
      memory: { enforced: true, by: expect.stringContaining("512 MiB") },
    });

    // Kernels run in sessions of their own but inherit the cgroup; a graceful stop lets Jupyter shut them down.
    const created = await request(api("kernels"), { method: "POST", headers, body: { name: "python3" }, timeoutMs: 20_000 });
    expect(created.status).toBe(201);
    const kernelId = (JSON.parse(created.body) as { id: string }).id;
    let kernel = processesMentioning(`kernel-${kernelId}.json`)[0];
    for (let i = 0; !kernel && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      kernel = processesMentioning(`kernel-${kernelId}.json`)[0];
    }
    expect(read(memoryDir, "cgroup.procs").split("\n")).toContain(String(kernel!.pid));

    const t0 = performance.now();
    await spawner.stop();
    console.log(`graceful stop with one kernel: ${Math.round(performance.now() - t0)} ms`);
    expect(isAlive(kernel!.pid)).toBe(false);
    for (const dir of cg.dirs) expect(existsSync(dir)).toBe(false);
  });
});

describe.skipIf(!loop.ok)("local spawner: loop volumes", () => {
  it("mounts a volume of the granted size while running, keeps it across restarts, grows it, and removes it", async () => {
    const factory = h.factory({ cgroups: "off" });
    const spawner = h.spawner(factory);
    const progress: SpawnProgress[] = [];
    const first = await startReady(spawner, contextFor(alice), progress);
    expect(progress[0]?.message).toBe("Preparing storage (256 MiB volume)");
    const workdir = path.join(h.rootDir, "alice/work/home");
    const image = path.join(h.rootDir, "alice/work/volume.img");
    expect(mountsBelow(h.rootDir)).toEqual([workdir]);
    const fs1 = statfsSync(workdir);
    expect(fs1.blocks * fs1.bsize).toBeGreaterThan(0.85 * 256 * MiB);
    expect(fs1.blocks * fs1.bsize).toBeLessThanOrEqual(256 * MiB);
    expect(statSync(image).size).toBe(256 * MiB);
    expect(statSync(image).blocks * 512).toBeLessThan(64 * MiB); // sparse
    expect(spawner.enforcement().storage).toEqual({ enforced: true, by: "ext4 loop volume of 256 MiB" });
    expect(existsSync(path.join(workdir, "lost+found"))).toBe(false);
    // The volume's root is the user's alone; the image it lives in is the hub's alone.
    const uid = (spawner.state() as { runAs: { uid: number } }).runAs.uid;
    expect([statSync(workdir).uid, statSync(workdir).mode & 0o777]).toEqual([uid, 0o700]);
    expect([statSync(image).uid, statSync(image).mode & 0o777]).toEqual([0, 0o600]);
    // The hub reads loop devices from sysfs: it finds what losetup finds.
    const losetup = execFileSync("losetup", ["-j", image], { encoding: "utf8" }).split(":")[0];
    expect(losetup).toMatch(/^\/dev\/loop\d+$/);
    expect(await attachedLoopDevices(image)).toEqual([losetup]);

    const put = await request(first.api("contents/data.txt"), {
      method: "PUT",
      headers: first.headers,
      body: { type: "file", format: "text", content: "x".repeat(100_000) },
    });
    expect(put.status).toBe(201);
    const usedWhileRunning = await spawner.storageUsed();
    expect(usedWhileRunning).toBeGreaterThanOrEqual(100_000);

    // A hub restart: a new factory reattaches and stops the server; the volume is unmounted, the data kept.
    const saved = JSON.parse(JSON.stringify(spawner.state())) as Record<string, unknown>;
    const restored = h.spawner(h.factory({ cgroups: "off" }));
    restored.restore(saved);
    await restored.stop();
    expect(mountsBelow(h.rootDir)).toEqual([]);
    expect(execFileSync("losetup", ["-j", image], { encoding: "utf8" })).toBe("");
    expect(await attachedLoopDevices(image)).toEqual([]);
    // Measured at unmount (Jupyter removes its runtime files on the way out, so a little less).
    const usedStopped = await restored.storageUsed();
    expect(usedStopped).toBeGreaterThanOrEqual(100_000);
    expect(Math.abs(usedStopped! - usedWhileRunning!)).toBeLessThan(64 * 1024);

    // Next start with a larger grant: the same volume, grown.
    const second = await startReady(spawner, contextFor(alice, { limits: { cpu: 1, memoryBytes: 1024 * MiB, storageBytes: 384 * MiB } }));
    const fs2 = statfsSync(workdir);
    expect(fs2.blocks * fs2.bsize).toBeGreaterThan(0.85 * 384 * MiB);
    const get = await request(second.api("contents/data.txt"), { headers: second.headers });
    expect((JSON.parse(get.body) as { content: string }).content).toHaveLength(100_000);
    await spawner.stop({ now: true });
    expect(mountsBelow(h.rootDir)).toEqual([]);

    // A smaller grant keeps the volume as it is (never shrunk) and says so.
    await startReady(spawner, contextFor(alice));
    expect(spawner.enforcement().storage).toMatchObject({ enforced: true, by: expect.stringContaining("never shrink") });
    await spawner.stop();

    await spawner.removeStorage();
    expect(existsSync(path.join(h.rootDir, "alice"))).toBe(false);
  });
});
