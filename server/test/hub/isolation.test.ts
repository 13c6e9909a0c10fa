/**
 * Users are kept apart from each other and from the hub on the local spawner, proven from the inside: two ordinary
 * users (alice, and "7of9", whose hub name is no valid Unix name) each run a real Jupyter server through the hub; a
 * kernel of alice's server, reached through the hub's proxy, tries to read the hub's key and database, read and
 * write 7of9's files, read 7of9's server's environment, signal and ptrace 7of9's server and the hub, and connect to
 * 7of9's server directly. Every attempt must fail — with the bubblewrap sandbox (the default here: the paths and
 * processes are not even visible) and without it (Unix permissions alone: PermissionError). A fork bomb ends at the
 * pids limit while 7of9's server keeps answering.
 */
import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectCgroups } from "../../src/spawners/local/cgroups.js";
import { identityOf, runProbes, startForkBomb, type Probe } from "../support/isolation-probes.js";
import { startKernel, type KernelTarget } from "../support/kernel.js";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";

const PIDS_LIMIT = 128;
const B = "7of9";

/** The processes of the machine running as `uid` (real uid). */
function processesOf(uid: number): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const status = readFileSync(`/proc/${n}/status`, "utf8");
        return new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(status) && !/^State:\s+Z/m.test(status);
      } catch {
        return false;
      }
    })
    .map(Number);
}

interface Running {
  token: string;
  target: KernelTarget;
  uid: number;
  pid: number;
  socketPath: string;
  home: string;
}

async function startDefaultServer(t: TestHub, user: string, token: string): Promise<Running> {
  const started = await t.api("POST", `users/${user}/server`, { token });
  expect([201, 202], JSON.stringify(started.body)).toContain(started.status);
  const events = await readEvents(t.url, `/hub/api/users/${user}/server/progress`, token);
  expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true });
  const row = await t.hub.ctx.db.server.findFirstOrThrow({ where: { name: "", user: { name: user } } });
  const state = (JSON.parse(row.backendState!) as { backend: { pid: number; socketPath: string; runAs: { uid: number } } }).backend;
  return {
    token,
    target: { serverUrl: `${t.url}/user/${user}/`, headers: { authorization: `token ${token}` } },
    uid: state.runAs.uid,
    pid: state.pid,
    socketPath: state.socketPath,
    home: path.join(t.dataDir, "servers", user, "_default", "home"),
  };
}

/** What alice's code tries against 7of9 and the hub. */
function probesAgainst(t: TestHub, b: Running): Record<string, Probe> {
  return {
    "read the hub's secret key": { kind: "read", path: path.join(t.dataDir, "secret-key") },
    "read the hub's database": { kind: "read", path: path.join(t.dataDir, "ganymede.sqlite") },
    "list the hub's data directory": { kind: "list", path: t.dataDir },
    "write into the hub's data directory": { kind: "write", path: path.join(t.dataDir, "intruder") },
    "list 7of9's home": { kind: "list", path: b.home },
    "read 7of9's file": { kind: "read", path: path.join(b.home, "secret.txt") },
    "write into 7of9's home": { kind: "write", path: path.join(b.home, "intruder") },
    "read 7of9's server log": { kind: "read", path: path.join(path.dirname(b.home), "server.log") },
    "read 7of9's volume image": { kind: "read", path: path.join(path.dirname(b.home), "volume.img") },
    "list 7of9's socket folder": { kind: "list", path: path.dirname(b.socketPath) },
    "connect to 7of9's server": { kind: "unix", path: b.socketPath },
    "read 7of9's server's environment": { kind: "read", path: `/proc/${b.pid}/environ` },
    "read the hub's environment": { kind: "read", path: `/proc/${process.pid}/environ` },
    "signal 7of9's server": { kind: "kill", pid: b.pid },
    "signal the hub": { kind: "kill", pid: process.pid },
    "ptrace 7of9's server": { kind: "ptrace", pid: b.pid },
    "ptrace the hub": { kind: "ptrace", pid: process.pid },
  };
}

/** How each probe must fail: hidden (sandbox) or forbidden (permissions alone). */
function expectedOutcomes(sandboxed: boolean): Record<string, string> {
  const hidden = (what: string) => (sandboxed ? what : "PermissionError");
  return {
    "read the hub's secret key": hidden("FileNotFoundError"),
    "read the hub's database": hidden("FileNotFoundError"),
    // The sandbox shows an empty, read-only folder where the data directory is.
    "list the hub's data directory": sandboxed ? "allowed: []" : "PermissionError",
    "write into the hub's data directory": hidden("OSError:EROFS"),
    "list 7of9's home": hidden("FileNotFoundError"),
    "read 7of9's file": hidden("FileNotFoundError"),
    "write into 7of9's home": hidden("FileNotFoundError"),
    "read 7of9's server log": hidden("FileNotFoundError"),
    "read 7of9's volume image": hidden("FileNotFoundError"),
    "list 7of9's socket folder": hidden("FileNotFoundError"),
    "connect to 7of9's server": hidden("FileNotFoundError"),
    "read 7of9's server's environment": hidden("FileNotFoundError"),
    "read the hub's environment": hidden("FileNotFoundError"),
    "signal 7of9's server": hidden("ProcessLookupError"),
    "signal the hub": hidden("ProcessLookupError"),
    "ptrace 7of9's server": hidden("ProcessLookupError"),
    "ptrace the hub": hidden("ProcessLookupError"),
  };
}

describe.each([
  { sandbox: "on" as const, sandboxed: true },
  { sandbox: "off" as const, sandboxed: false },
])("two users on the local spawner, sandbox $sandbox", ({ sandbox, sandboxed }) => {
  let t: TestHub;
  let a: Running;
  let b: Running;
  let kernel: string;

  beforeAll(async () => {
    // Where a real installation keeps its data (/tmp would be the server's own, private /tmp in the sandbox).
    const dataDir = mkdtempSync("/var/lib/ganymede-test-");
    // Size-limited volumes: the images are files of the hub's in the users' folders, and must stay the hub's.
    t = await startTestHub({ dataDir, config: { spawner: { pidsLimit: PIDS_LIMIT, local: { sandbox, storage: "loop" } } } });
    const [aliceToken, bToken] = [await t.addUser("alice"), await t.addUser(B)];
    [a, b] = await Promise.all([startDefaultServer(t, "alice", aliceToken), startDefaultServer(t, B, bToken)]);
    const put = await fetch(`${t.url}/user/${B}/api/contents/secret.txt`, {
      method: "PUT",
      headers: { ...b.target.headers, "content-type": "application/json" },
      body: JSON.stringify({ type: "file", format: "text", content: "7of9's secret" }),
    });
    expect(put.status).toBe(201);
    kernel = await startKernel(a.target);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    if (t) rmSync(t.dataDir, { recursive: true, force: true });
  });

  it("runs each user's server as their own unprivileged uid, allocated once and recorded", async () => {
    const identities = await t.hub.ctx.db.unixIdentity.findMany({ include: { user: true }, orderBy: { uid: "asc" } });
    expect(identities.map((i) => [i.user?.name, i.uid])).toEqual(expect.arrayContaining([["alice", a.uid], [B, b.uid]]));
    expect(a.uid).not.toBe(b.uid);
    for (const uid of [a.uid, b.uid]) expect(uid).toBeGreaterThanOrEqual(1_000_000);

    const inside = await identityOf(a.target, kernel);
    expect(inside.uid).toBe(a.uid);
    expect(inside.gid).toBe(a.uid);
    expect(inside.groups.filter((g) => g !== a.uid)).toEqual([]);
    expect(inside.home).toBe(sandboxed ? "/home/alice" : a.home);
    // Seen from the machine: every process of the server (Jupyter, its kernel) runs as alice's uid, none as root.
    expect(processesOf(a.uid).length).toBeGreaterThanOrEqual(2);

    const info = await t.api("GET", "info");
    expect(info.body.spawner.isolation).toMatchObject({ separated: true, warnings: [] });
    expect(info.body.spawner.isolation.summary).toMatch(sandboxed ? /in a bubblewrap sandbox/ : /own unprivileged uid/);
  });

  it("keeps the hub's files and each server's folders private on disk", () => {
    // Nothing of the hub's can be read or listed by other uids, but what servers are meant to read.
    const public_ = new Set(["passwd", "group", ".jupyter-config", "jupyter_server_config.py"]);
    const exposed: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        const s = lstatSync(p);
        if (s.uid !== 0) continue; // the users' own homes (what is in them is theirs to share or not)
        if ((s.mode & 0o006) !== 0 && !s.isSymbolicLink() && !public_.has(name)) exposed.push(`${p} ${(s.mode & 0o777).toString(8)}`);
        if (s.isDirectory()) walk(p);
      }
    };
    walk(t.dataDir);
    expect(exposed).toEqual([]);
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(t.dataDir)).toBe(0o711);
    for (const name of readdirSync(t.dataDir)) {
      if (name === "servers" || name === "policies") continue;
      expect([name, mode(path.join(t.dataDir, name)) & 0o077]).toEqual([name, 0]);
    }
    for (const [user, running] of [["alice", a], [B, b]] as const) {
      const serverDir = path.dirname(running.home);
      expect([user, statSync(serverDir).uid, mode(serverDir)]).toEqual([user, 0, 0o711]);
      expect([user, statSync(running.home).uid, mode(running.home)]).toEqual([user, running.uid, 0o700]);
      expect([user, statSync(path.dirname(running.socketPath)).uid, mode(path.dirname(running.socketPath))]).toEqual([user, running.uid, 0o700]);
      expect(mode(path.join(serverDir, "server.log"))).toBe(0o600);
    }
    // The Jupyter configuration the hub injects: readable by every server, writable by none.
    const config = path.join(t.dataDir, "servers", ".jupyter-config", "jupyter_server_config.py");
    expect([statSync(config).uid, mode(config), mode(path.dirname(config))]).toEqual([0, 0o644, 0o755]);
    expect(lstatSync(path.join(b.home, "secret.txt")).uid).toBe(b.uid);
  });

  it("lets alice's code reach neither 7of9 nor the hub", async () => {
    const results = await runProbes(a.target, kernel, probesAgainst(t, b));
    const outcomes = Object.fromEntries(
      Object.entries(results).map(([label, r]) => [label, r.outcome === "allowed" ? `allowed: ${r.detail}` : r.outcome]),
    );
    expect(outcomes, JSON.stringify(results, null, 1)).toEqual(expectedOutcomes(sandboxed));
    expect(readdirSync(t.dataDir)).not.toContain("intruder");
    expect(readdirSync(b.home)).not.toContain("intruder");
    // 7of9's server is unharmed.
    expect((await fetch(`${t.url}/user/${B}/api/status`, { headers: b.target.headers })).status).toBe(200);
  });

  // Once is enough: the pids limit does not depend on the sandbox.
  if (sandboxed) it("stops a fork bomb at the pids limit while 7of9's server keeps answering", async () => {
    const support = detectCgroups();
    if (!support.available) throw new Error(`this test needs cgroups: ${support.reason}`);
    const pidsRoot = support.version === 2 ? support.root : support.pidsRoot;
    if (!pidsRoot) throw new Error("this test needs the cgroup pids controller");
    const group = path.join(pidsRoot, path.basename(t.dataDir), "alice._default");
    const current = () => Number(readFileSync(path.join(group, "pids.current"), "utf8"));
    expect(readFileSync(path.join(group, "pids.max"), "utf8").trim()).toBe(String(PIDS_LIMIT));

    await startForkBomb(a.target, kernel);
    await waitFor(() => current() >= PIDS_LIMIT - 2, 30_000, 50);
    const samples: number[] = [];
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push(current());
      answers.push((await fetch(`${t.url}/user/${B}/api/status`, { headers: b.target.headers, signal: AbortSignal.timeout(5000) })).status);
      answers.push((await t.api("GET", "")).status);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Math.max(...samples)).toBeLessThanOrEqual(PIDS_LIMIT);
    expect(answers.every((s) => s === 200), String(answers)).toBe(true);
    // The kernel saw fork fail: the limit was hit, not merely approached.
    expect(readFileSync(path.join(group, "pids.events"), "utf8")).toMatch(/max [1-9]/);

    const stop = await t.api("DELETE", "users/alice/server", { token: a.token });
    expect([202, 204]).toContain(stop.status);
    const db = t.hub.ctx.db;
    await waitFor(async () => (await db.server.findFirst({ where: { name: "", user: { name: "alice" } } }))?.status === "stopped", 30_000, 200);
    expect(processesOf(a.uid)).toEqual([]);
  });
});

describe("taking over what earlier versions left", () => {
  let t: TestHub;
  afterAll(async () => {
    await t?.close();
  });

  it("gives a root-owned server folder to its user at the next start, losing nothing", async () => {
    t = await startTestHub();
    const token = await t.addUser("carol");
    // What a server folder looked like before servers had their own uid: root's, readable by all.
    const serverDir = path.join(t.dataDir, "servers", "carol", "_default");
    execFileSync("sh", ["-c", `mkdir -p ${serverDir}/home/notes && echo kept > ${serverDir}/home/notes/old.txt && chmod 755 ${serverDir} ${serverDir}/home && chmod 700 ${path.dirname(serverDir)}`]);
    expect(statSync(path.join(serverDir, "home/notes/old.txt")).uid).toBe(0);

    const carol = await startDefaultServer(t, "carol", token);
    for (const p of ["home", "home/notes", "home/notes/old.txt"]) expect([p, statSync(path.join(serverDir, p)).uid]).toEqual([p, carol.uid]);
    expect(statSync(path.join(serverDir, "home")).mode & 0o777).toBe(0o700);
    expect(statSync(serverDir).mode & 0o777).toBe(0o711);
    const file = await fetch(`${t.url}/user/carol/api/contents/notes/old.txt`, { headers: carol.target.headers });
    expect(await file.json()).toMatchObject({ content: "kept\n" });
  });
});

describe("configuration that would run user code as root", () => {
  it("refuses isolation: none on a root hub", async () => {
    await expect(startTestHub({ config: { spawner: { local: { isolation: "none" } } } })).rejects.toThrow(
      /isolation: none would run every user's code as root/,
    );
  });
});
