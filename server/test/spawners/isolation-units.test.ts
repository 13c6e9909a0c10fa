/**
 * The pure parts of server isolation: uid allocation around the machine's own ids, Unix names, the launch chain
 * (cgroups → umask → setpriv → sandbox → Jupyter), the sandbox's mounts, path reachability for other uids and the
 * Unix socket length budget.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { socketDirFor, socketPathProblem } from "../../src/spawners/local/sockets.js";
import { launchArgv, SETPRIV } from "../../src/spawners/local/privileges.js";
import { unusableByOthers } from "../../src/spawners/local/reachable.js";
import { sandboxArgv, type SandboxPlan } from "../../src/spawners/local/sandbox.js";
import { accountNames, groupWith, passwdWith, unixUserFor } from "../../src/spawners/local/unix-user.js";
import { firstFreeId, idsFromDatabase, rangesFromSubordinate } from "../../src/users/system-ids.js";

describe("uid allocation", () => {
  it("skips the machine's accounts, groups and subordinate ranges", () => {
    const taken = [[1000, 1000], [100000, 165535], [1_000_001, 1_000_001]] as const;
    expect(firstFreeId(1_000_000, 1_999_999, taken)).toBe(1_000_000);
    expect(firstFreeId(1_000_001, 1_999_999, taken)).toBe(1_000_002);
    expect(firstFreeId(100500, 200000, taken)).toBe(165536);
    expect(firstFreeId(5, 5, [[5, 5]])).toBeUndefined();
  });

  it("reads ids from passwd, group, subuid and subgid lines", () => {
    expect(idsFromDatabase("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n\n# no\n")).toEqual([0, 1000]);
    expect(rangesFromSubordinate("alice:100000:65536\nbob:165536:0\nbad\n")).toEqual([[100000, 165535]]);
  });
});

describe("Unix names", () => {
  const machine = accountNames("root:x:0:0::/root:/bin/sh\ndaemon:x:1:1::/:/bin/sh\n");

  it("keeps valid, free hub names and labels the others by uid", () => {
    expect(unixUserFor("alice", 1_000_000, machine)).toEqual({ uid: 1_000_000, gid: 1_000_000, name: "alice" });
    expect(unixUserFor("john.doe", 1_000_001, machine).name).toBe("john.doe");
    expect(unixUserFor("7of9", 1_000_002, machine).name).toBe("u1000002");
    expect(unixUserFor("root", 1_000_003, machine).name).toBe("u1000003");
    expect(unixUserFor("a".repeat(33), 1_000_004, machine).name).toBe("u1000004");
  });

  it("adds the server's own account and group to the machine's files", () => {
    const user = { uid: 1_000_000, gid: 1_000_000, name: "alice" };
    expect(passwdWith("root:x:0:0::/root:/bin/sh", user, "/home/alice", "/bin/bash")).toBe(
      "root:x:0:0::/root:/bin/sh\nalice:x:1000000:1000000:Ganymede user:/home/alice:/bin/bash\n",
    );
    expect(groupWith("root:x:0:\n", user)).toBe("root:x:0:\nalice:x:1000000:\n");
  });
});

describe("launch chain", () => {
  it("joins the cgroups as root, then drops every privilege before the command", () => {
    const argv = launchArgv({ cgroupProcs: ["/cg/memory/g/a.w/cgroup.procs", "/cg/pids/g/a.w/cgroup.procs"], switchTo: { uid: 1_000_000, gid: 1_000_000 }, command: ["/bin/jupyter", "lab", "--x=1 2"] });
    expect(argv.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(argv[2]).toContain("umask 077; exec");
    expect(argv.slice(3)).toEqual([
      "ganymede-launch",
      "/cg/memory/g/a.w/cgroup.procs",
      "/cg/pids/g/a.w/cgroup.procs",
      "--",
      SETPRIV,
      "--reuid=1000000",
      "--regid=1000000",
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "--",
      "/bin/jupyter",
      "lab",
      "--x=1 2",
    ]);
  });

  it("runs the command as the hub itself when it cannot switch", () => {
    expect(launchArgv({ cgroupProcs: [], command: ["jupyter"] }).slice(3)).toEqual(["ganymede-launch", "--", "jupyter"]);
  });
});

describe("sandbox", () => {
  const plan: SandboxPlan = {
    bwrap: "/usr/bin/bwrap",
    home: { outside: "/data/servers/alice/_default/home", inside: "/home/alice" },
    run: { outside: "/data/servers/.run/0123456789ab", inside: "/run/user/1000000" },
    config: { outside: "/data/servers/.jupyter-config", inside: "/run/ganymede/jupyter" },
    passwd: "/data/servers/alice/_default/passwd",
    group: "/data/servers/alice/_default/group",
    hide: ["/data", "/data/servers", "/run/ganymede/0123abcd", "/tmp/elsewhere"],
    expose: ["/home/op/ganymede/.venv", "/opt/conda"],
  };
  const argv = sandboxArgv(plan, ["/opt/conda/bin/jupyter", "lab"]);
  const pairs = (flag: string): string[][] =>
    argv.flatMap((a, i) => (a === flag ? [[argv[i + 1]!, ...(flag.includes("bind") ? [argv[i + 2]!] : [])]] : []));

  it("gives a read-only system, private /tmp and its own process list", () => {
    expect(argv.slice(0, 4)).toEqual(["/usr/bin/bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-cgroup-try"]);
    expect(pairs("--ro-bind")[0]).toEqual(["/", "/"]);
    expect(pairs("--tmpfs").map((p) => p[0])).toEqual(["/tmp", "/var/tmp", "/run", "/home", "/root", "/sys/fs/cgroup", "/data"]);
    expect(argv.slice(-5)).toEqual(["--chdir", "/home/alice", "--", "/opt/conda/bin/jupyter", "lab"]);
  });

  it("hides the hub's data, other homes and the cgroup tree, read-only, and binds only the server's own folders", () => {
    expect(pairs("--remount-ro").map((p) => p[0])).toEqual(["/home", "/root", "/sys/fs/cgroup", "/data"]);
    expect(pairs("--bind")).toEqual([
      ["/data/servers/alice/_default/home", "/home/alice"],
      ["/data/servers/.run/0123456789ab", "/run/user/1000000"],
    ]);
    expect(pairs("--ro-bind")).toEqual(
      expect.arrayContaining([
        ["/data/servers/alice/_default/passwd", "/etc/passwd"],
        ["/data/servers/.jupyter-config", "/run/ganymede/jupyter"],
        // The command's installation stays visible when it lies in a hidden folder, and only then.
        ["/home/op/ganymede/.venv", "/home/op/ganymede/.venv"],
      ]),
    );
    expect(pairs("--ro-bind").map((p) => p[0])).not.toContain("/opt/conda");
    // Every mount comes before the remounts, which come before the command.
    expect(argv.lastIndexOf("--bind")).toBeLessThan(argv.indexOf("--remount-ro"));
  });
});

describe("reachability by other uids", () => {
  let root = "";
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "ganymede-reach-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("names the folder that other uids cannot enter, or the file they cannot read or run", () => {
    mkdirSync(path.join(root, "closed/venv/bin"), { recursive: true });
    chmodSync(root, 0o711);
    chmodSync(path.join(root, "closed"), 0o700);
    writeFileSync(path.join(root, "closed/venv/bin/jupyter"), "#!/bin/sh\n", { mode: 0o755 });
    expect(unusableByOthers(path.join(root, "closed/venv/bin/jupyter"), { read: true, execute: true })).toBe(
      `${path.join(root, "closed")} is mode 0700: other users cannot enter it`,
    );
    chmodSync(path.join(root, "closed"), 0o755);
    expect(unusableByOthers(path.join(root, "closed/venv/bin/jupyter"), { read: true, execute: true })).toBeUndefined();
    chmodSync(path.join(root, "closed/venv/bin/jupyter"), 0o750);
    expect(unusableByOthers(path.join(root, "closed/venv/bin/jupyter"), { execute: true })).toMatch(/mode 0750: other users cannot run it/);
    expect(unusableByOthers(path.join(root, "missing"), {})).toMatch(/does not exist \(ENOENT\)/);
  });
});

describe("socket paths", () => {
  it("stay within the 107 bytes of a Unix socket address", () => {
    expect(socketPathProblem("/var/lib/ganymede/servers/.run", 49)).toBeUndefined();
    expect(socketPathProblem(`/${"x".repeat(60)}`, 49)).toMatch(/more than the 107 a Unix socket allows: set spawner.local.runDir/);
    const dir = socketDirFor("/run/g", { user: "alice", serverName: "" });
    expect(dir).toMatch(/^\/run\/g\/[0-9a-f]{12}$/);
    expect(socketDirFor("/run/g", { user: "alice", serverName: "x" })).not.toBe(dir);
  });
});
