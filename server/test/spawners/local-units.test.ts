/** The local spawner's pure parts: storage planning, /proc and mountinfo parsing, names, the cgroup wrapper. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { serverLayout } from "../../src/spawners/host-storage/layout.js";
import { parseMountinfo } from "../../src/spawners/host-storage/mounts.js";
import { parseStat } from "../../src/spawners/local/proc.js";
import { planStorage } from "../../src/spawners/host-storage/storage.js";
import { localStateSchema } from "../../src/spawners/local/state.js";
import { SpawnError } from "../../src/errors.js";

describe("storage plan", () => {
  let root = "";
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "ganymede-plan-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const noLoop = { ok: false as const, reason: "loop volumes need the hub to run as root" };
  const layout = () => serverLayout(root, { user: "alice", serverName: "" });

  it("falls back to a directory under auto and says why", () => {
    expect(planStorage("auto", noLoop, layout())).toEqual({
      kind: "directory",
      reason: "loop volumes need the hub to run as root; usage is measured, not limited",
    });
    expect(planStorage("auto", { ok: true }, layout())).toEqual({ kind: "loop" });
  });

  it("refuses to start when loop is configured but impossible", () => {
    expect(() => planStorage("loop", noLoop, layout())).toThrow(
      "storage: loop is configured but loop volumes are impossible: loop volumes need the hub to run as root.",
    );
    expect(() => planStorage("loop", noLoop, layout())).toThrow(SpawnError);
  });

  it("never hides existing files: a volume stays a volume, a filled directory stays a directory", () => {
    const l = layout();
    mkdirSync(l.workdir, { recursive: true });
    writeFileSync(path.join(l.workdir, "notes.txt"), "x");
    expect(planStorage("auto", { ok: true }, l)).toMatchObject({ kind: "directory", reason: expect.stringContaining("predate") });
    writeFileSync(l.image, "");
    expect(planStorage("auto", { ok: true }, l)).toEqual({ kind: "loop" });
    expect(() => planStorage("auto", noLoop, l)).toThrow(/on a volume that cannot be mounted here/);
  });
});

describe("parsers", () => {
  it("reads /proc/<pid>/stat even when the command name has spaces and parentheses", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = "S"; // state
    fields[19] = "123456"; // starttime (field 22)
    const parsed = parseStat(`4242 (evil ) (name) ${fields.join(" ")}`);
    expect(parsed).toEqual({ state: "S", ppid: 4, pgrp: 5, session: 6, startTime: "123456" });
  });

  it("reads mountinfo with escaped paths and optional fields", () => {
    const text = [
      "36 25 7:0 / /srv/my\\040dir/home rw,nosuid,nodev shared:5 - ext4 /dev/loop0 rw",
      "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid master:3 - cgroup cgroup rw,memory",
    ].join("\n");
    expect(parseMountinfo(text)).toEqual([
      { root: "/", mountPoint: "/srv/my dir/home", fsType: "ext4", source: "/dev/loop0", superOptions: ["rw"] },
      { root: "/", mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup", source: "cgroup", superOptions: ["rw", "memory"] },
    ]);
  });
});

describe("names and layout", () => {
  it("puts each server in <root>/<user>/<server or _default>", () => {
    expect(serverLayout("/data", { user: "alice", serverName: "" }).workdir).toBe("/data/alice/_default/home");
    expect(serverLayout("/data", { user: "john.doe", serverName: "gpu-1" }).image).toBe("/data/john.doe/gpu-1/volume.img");
  });

  it.each(["..", ".", "a/b", "../etc", "x..y", ""])("refuses the user name %j", (user) => {
    expect(() => serverLayout("/data", { user, serverName: "" })).toThrow(/invalid user name/);
  });

  it.each(["_default", "../x", "A", "a/b"])("refuses the server name %j", (serverName) => {
    expect(() => serverLayout("/data", { user: "alice", serverName })).toThrow(/invalid server name/);
  });
});

describe("state of servers started before identities", () => {
  it("still restores: a TCP port instead of a socket, no uid, no process limit", () => {
    const v1 = {
      version: 1,
      pid: 4242,
      pgid: 4242,
      startTime: "123",
      bootId: "b",
      spawnId: "s",
      port: 41234,
      startedAt: "2026-11-30T10:00:00.000Z",
      paths: { dir: "/d/alice/work", workdir: "/d/alice/work/home", log: "/d/alice/work/server.log" },
      storage: { kind: "directory" },
      cgroup: null,
      enforcement: { cpu: { enforced: false, reason: "x" }, memory: { enforced: false, reason: "x" }, storage: { enforced: false, reason: "x" } },
    };
    const parsed = localStateSchema.parse(v1);
    expect(parsed).toMatchObject({ port: 41234, sandboxed: false, enforcement: { processes: { enforced: false } } });
    expect(parsed.runAs).toBeUndefined();
  });
});
