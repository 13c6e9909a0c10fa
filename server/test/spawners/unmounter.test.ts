/** The unmount helper (host-storage/unmounter.ts), on real mounts: one process for the hub's every unmount. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isMountPoint, mountAt, mountedDevice } from "../../src/spawners/host-storage/mounts.js";
import { mountVolume, prepareVolume, unmountVolume } from "../../src/spawners/host-storage/volume.js";
import { Unmounter } from "../../src/spawners/host-storage/unmounter.js";

const root = mkdtempSync(path.join(tmpdir(), "ganymede-unmounter-"));
const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` };

function tmpfsAt(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { env });
  return dir;
}

afterAll(() => {
  for (const name of ["a", "b", "c with space", "d"]) {
    try {
      execFileSync("umount", [path.join(root, name)], { env, stdio: "ignore" });
    } catch {
      /* not mounted */
    }
  }
  rmSync(root, { recursive: true, force: true });
});

describe("Unmounter", () => {
  it("unmounts many mount points through one helper, and says why one could not be", async () => {
    const unmounter = new Unmounter(env);
    const dirs = ["a", "b", "c with space"].map(tmpfsAt);
    const results = await Promise.all([...dirs, dirs[0]!].map((dir) => unmounter.unmount(dir)));
    expect(results.slice(0, 3)).toEqual([{ ok: true, message: "" }, { ok: true, message: "" }, { ok: true, message: "" }]);
    for (const dir of dirs) expect(await mountAt(dir)).toBeUndefined();
    const notMounted = await unmounter.unmount(dirs[1]!);
    expect(notMounted.ok).toBe(false);
    expect(notMounted.message).toContain("not mounted");
  });

  it("answers the waiting callers when the helper dies, and starts a new one for the next unmount", async () => {
    const unmounter = new Unmounter(env);
    const dir = tmpfsAt("d");
    const helper = (unmounter as unknown as { running(): { kill(): void } }).running();
    helper.kill();
    await new Promise((r) => setTimeout(r, 200));
    expect(await unmounter.unmount(dir)).toEqual({ ok: true, message: "" });
  });
});

describe("looking at one mount point without the mount table", () => {
  it("agrees with /proc/self/mountinfo for a loop volume: mounted, its device, and unmounted", async () => {
    const image = path.join(root, "volume.img");
    const dir = path.join(root, "loop");
    await prepareVolume(image, 16 * 2 ** 20);
    const device = await mountVolume(image, dir, true);
    expect(await isMountPoint(dir)).toBe(true);
    expect(await mountedDevice(dir)).toBe(device);
    expect((await mountAt(dir))?.source).toBe(device);
    expect(await unmountVolume(dir)).toBe(device);
    expect(await isMountPoint(dir)).toBe(false);
    expect(await mountedDevice(dir)).toBeUndefined();
    expect(await isMountPoint(path.join(root, "missing"))).toBe(false);
  });
});
