/**
 * "User servers must never run as root", with `spawner.backend: docker`, end to end and from the inside: two ordinary
 * users, alice and bob, each with a server started through the REST API. Code in a kernel of alice's server, reached
 * through the hub's proxy, tries what it must not manage, with the probes every backend shares
 * (test/support/isolation-probes.ts): to be root or in another group, to read the hub's secrets, to read or write
 * bob's files, to signal or trace bob's server or the hub, to reach bob's server around the proxy, and to starve
 * everyone with a fork bomb. Both containers are inspected for the settings that make it so. Real engine, real
 * containers, real Jupyter and kernel: nothing here is a fake.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { objectName } from "../../src/spawners/docker/naming.js";
import {
  ensureBaseImage,
  ensureTestServerImage,
  pidsCount,
  removeHubObjects,
  startDockerEngine,
  type DockerEngine,
} from "../support/docker.js";
import { isAlive } from "../support/host-processes.js";
import { request } from "../support/http-probe.js";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { identityOf, notRefused, runProbes, startForkBomb, type Probe } from "../support/isolation-probes.js";
import { startKernel, type KernelTarget } from "../support/kernel.js";
import { repoRoot } from "../support/paths.js";

const prefix = `giso-${randomBytes(3).toString("hex")}`;
const network = `${prefix}-net`;
// Low, so that the fork bomb reaches it within a second; the hub's default is 1024.
const PIDS_LIMIT = 128;
const UID = 1000;
const GID = 1000;
const USERS = ["alice", "bob"] as const;
type User = (typeof USERS)[number];

let engine: DockerEngine;
let t: TestHub;
const tokens = {} as Record<User, string>;
let aliceKernel: string;

const containerName = (user: User) => objectName(prefix, { user, serverName: "" });
const inspect = (user: User) => engine.docker.getContainer(containerName(user)).inspect();
const target = (user: User): KernelTarget => ({ serverUrl: `${t.url}/user/${user}/`, headers: { authorization: `token ${tokens[user]}` } });

async function startServer(user: User): Promise<void> {
  const started = await t.api("POST", `users/${user}/server`, { token: tokens[user] });
  expect(started.status).toBe(202);
  const events = await readEvents(t.url, `/hub/api/users/${user}/server/progress`, tokens[user]);
  expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true, url: `/user/${user}/` });
}

beforeAll(async () => {
  engine = await startDockerEngine();
  await ensureBaseImage(engine);
  const image = await ensureTestServerImage(engine);
  t = await startTestHub({
    config: {
      spawner: {
        backend: "docker",
        slowSpawnTimeout: "0s",
        stopGrace: "2s",
        pidsLimit: PIDS_LIMIT,
        docker: { image, command: ["jupyter", "server"], namePrefix: prefix, network, uid: UID, gid: GID },
      },
    },
  });
  for (const user of USERS) tokens[user] = await t.addUser(user);
  await Promise.all(USERS.map(startServer));
  aliceKernel = await startKernel(target("alice"));
}, 900_000);

afterAll(async () => {
  await t?.close();
  if (engine) expect(await removeHubObjects(engine, prefix, network)).toEqual([]);
});

it("runs both containers as the configured uid:gid, without capabilities, with the pids limit and only their own volume", async () => {
  for (const user of USERS) {
    const info = await inspect(user);
    expect(info.Config.User).toBe(`${UID}:${GID}`);
    expect(info.HostConfig).toMatchObject({ CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges"], PidsLimit: PIDS_LIMIT, Privileged: false });
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.Binds ?? []).toEqual([]);
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: containerName(user), Destination: "/home/jovyan" })]);
    const exposed = JSON.stringify([info.Mounts, info.HostConfig, info.Config.Env]);
    for (const hubPath of [t.dataDir, repoRoot, "docker.sock"]) expect(exposed).not.toContain(hubPath);
    const root = statSync((await engine.docker.getVolume(containerName(user)).inspect()).Mountpoint);
    expect({ uid: root.uid, gid: root.gid, mode: root.mode & 0o7777 }).toEqual({ uid: UID, gid: GID, mode: 0o700 });
  }
  // What administrators and users are told.
  const model = await t.api("GET", "users/alice", { token: tokens.alice });
  expect(model.body.servers[""].enforcement.processes).toEqual({ enforced: true, by: `Docker engine (PidsLimit ${PIDS_LIMIT})` });
  const info = await t.api("GET", "info");
  expect(info.body.spawner.isolation).toMatchObject({ separated: true, warnings: [], summary: expect.stringContaining(`uid ${UID}:${GID}`) });
});

describe("code in alice's server", () => {
  it("runs as the configured uid, not root, with no group but the configured one", async () => {
    const id = await identityOf(target("alice"), aliceKernel);
    expect(id).toMatchObject({ uid: UID, gid: GID, home: "/home/jovyan" });
    expect(id.uid).not.toBe(0);
    // The engine lists the primary group as the only supplementary one: nothing from the image's /etc/group.
    expect(id.groups.filter((g) => g !== GID)).toEqual([]);
  });

  it("cannot reach the hub's files, bob's files, bob's server or the hub's process", async () => {
    const put = await request(`${t.url}/user/bob/api/contents/secret.txt`, {
      method: "PUT",
      headers: target("bob").headers,
      body: { type: "file", format: "text", content: "bob's secret" },
    });
    expect(put.status).toBe(201);
    const bob = await inspect("bob");
    const { Mountpoint: bobVolume } = await engine.docker.getVolume(containerName("bob")).inspect();
    // What the probes aim at is there on the host: a refusal is not a wrong path.
    for (const file of ["secret-key", "ganymede.sqlite"]) expect(existsSync(path.join(t.dataDir, file))).toBe(true);
    expect(isAlive(bob.State.Pid)).toBe(true);
    const bobNet = bob.NetworkSettings.Networks[network]!;
    const bobPort = Number(bob.NetworkSettings.Ports["8888/tcp"]![0]!.HostPort);
    const bobRoot = `/proc/${bob.State.Pid}/root/home/jovyan`;

    const refused: Record<string, Probe> = {
      "read the hub's secret key": { kind: "read", path: path.join(t.dataDir, "secret-key") },
      "read the hub's database": { kind: "read", path: path.join(t.dataDir, "ganymede.sqlite") },
      "list the hub's data folder": { kind: "list", path: t.dataDir },
      "change the hub's Jupyter configuration": { kind: "write", path: "/etc/ganymede/jupyter/jupyter_server_config.py" },
      "read bob's file in his volume on the host": { kind: "read", path: path.join(bobVolume, "secret.txt") },
      "list bob's volume on the host": { kind: "list", path: bobVolume },
      "write into bob's volume on the host": { kind: "write", path: path.join(bobVolume, "from-alice.txt") },
      "read bob's file through his container's root": { kind: "read", path: `${bobRoot}/secret.txt` },
      "write into bob's home through his container's root": { kind: "write", path: `${bobRoot}/from-alice.txt` },
      "read bob's file where bob sees it": { kind: "read", path: "/home/jovyan/secret.txt" },
      "signal bob's server": { kind: "kill", pid: bob.State.Pid },
      "trace bob's server": { kind: "ptrace", pid: bob.State.Pid },
      // The test hub runs in this process.
      "signal the hub": { kind: "kill", pid: process.pid },
      "trace the hub": { kind: "ptrace", pid: process.pid },
      "connect to the engine's socket": { kind: "unix", path: "/var/run/docker.sock" },
      "connect to bob's server on the servers' network": { kind: "tcp", host: bobNet.IPAddress, port: 8888 },
      "connect to bob's published port through the gateway": { kind: "tcp", host: bobNet.Gateway, port: bobPort },
    };
    // The same kinds of operation on alice's own things succeed: the refusals above are about whose things they are.
    const allowed: Record<string, Probe> = {
      "write in her own home": { kind: "write", path: "/home/jovyan/mine.txt" },
      "read the hub's Jupyter configuration": { kind: "read", path: "/etc/ganymede/jupyter/jupyter_server_config.py" },
      "connect to her own server": { kind: "tcp", host: "127.0.0.1", port: 8888 },
    };
    expect(notRefused(await runProbes(target("alice"), aliceKernel, refused))).toEqual({});
    const controls = await runProbes(target("alice"), aliceKernel, allowed);
    for (const [label, result] of Object.entries(controls)) expect(result, label).toEqual({ outcome: "allowed", detail: "" });
    expect(existsSync(path.join(bobVolume, "from-alice.txt"))).toBe(false);
    expect(readFileSync(path.join(bobVolume, "secret.txt"), "utf8")).toBe("bob's secret");
  });

  it("stops a fork bomb at the pids limit while bob's server and the hub keep answering", async () => {
    const alice = await inspect("alice");
    await startForkBomb(target("alice"), aliceKernel, 60);
    await waitFor(async () => (await pidsCount(engine, alice.Id)) >= PIDS_LIMIT, 20_000);
    for (let round = 0; round < 5; round++) {
      expect(await pidsCount(engine, alice.Id)).toBeLessThanOrEqual(PIDS_LIMIT);
      const bobStatus = await request(`${t.url}/user/bob/api/status`, { headers: target("bob").headers, timeoutMs: 5000 });
      expect(bobStatus.status).toBe(200);
      expect((await t.api("GET", "users/bob", { token: tokens.bob })).status).toBe(200);
    }
  });
});

it("stops alice's server, fork bomb and all, leaving no container; bob's keeps running", async () => {
  const stopped = await t.api("DELETE", "users/alice/server", { token: tokens.alice });
  expect([202, 204]).toContain(stopped.status);
  const alice = () => t.api("GET", "users/alice?include_stopped_servers", { token: tokens.alice });
  await waitFor(async () => (await alice()).body.servers[""]?.stopped === true, 30_000);
  const left = await engine.docker.listContainers({ all: true, filters: JSON.stringify({ name: [`^/${containerName("alice")}$`] }) });
  expect(left.map((c) => c.Names[0])).toEqual([]);
  expect((await request(`${t.url}/user/bob/api/status`, { headers: target("bob").headers, timeoutMs: 5000 })).status).toBe(200);
});
