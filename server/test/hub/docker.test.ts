/**
 * The hub with `spawner.backend: docker`, end to end: a server started through the REST API runs as a container with
 * the policy's limits, answers through the hub's proxy (and only there: its port is on the host's loopback), survives
 * a hub restart, keeps its volume on stop and loses it on delete, and is stopped at its policy's maximum lifetime
 * with the reason kept; an environment's image; a user's quota of servers running at once, and a container shared
 * with another user through the proxy until the share is revoked.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import { ensureBaseImage, ensureTestServerImage, removeHubObjects, startDockerEngine, type DockerEngine } from "../support/docker.js";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";

const prefix = `ghub-${randomBytes(3).toString("hex")}`;
let engine: DockerEngine;
let image: string;
let t: TestHub | undefined;
let alice: string;

/** The shipped default limits, with a maximum lifetime, and an environment running another image (a tag of our own). */
const policies = (otherImage: string) => ({
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 2GiB, cpu: 1, memory: 2GB, concurrentBuilds: 2, buildTimeout: 30m, maxLifetime: 1h, runningServers: 1, shares: 1 }
environments:
  - { name: standard, displayName: Standard, default: true }
  - { name: other, displayName: Another image, image: "${otherImage}", cpu: 0.5 }
`,
});
let POLICIES: Record<string, string>;
let otherImage: string;

const dockerConfig = () => ({
  spawner: {
    backend: "docker" as const,
    slowSpawnTimeout: "0s",
    docker: { image, command: ["jupyter", "server"], namePrefix: prefix, network: `${prefix}-net` },
  },
});

beforeAll(async () => {
  engine = await startDockerEngine();
  await ensureBaseImage(engine);
  image = await ensureTestServerImage(engine);
  // The same image under a second name, standing for an environment's own image.
  otherImage = `${prefix}-other:env`;
  await engine.docker.getImage(image).tag({ repo: `${prefix}-other`, tag: "env" });
  POLICIES = policies(otherImage);
  t = await startTestHub({ config: dockerConfig(), policies: POLICIES });
  alice = await t.addUser("alice");
}, 900_000);

let dataDir: string | undefined;

afterAll(async () => {
  await t?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (!engine) return;
  await engine.docker.getImage(otherImage).remove().catch(() => undefined);
  expect(await removeHubObjects(engine, prefix, `${prefix}-net`)).toEqual([]);
});

const ourContainers = async () =>
  engine.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_HUB}=${prefix}`] }) });

it("starts a server as a container through the REST API and reaches it through the hub's proxy", async () => {
  const hub = t!;
  const started = await hub.api("POST", "users/alice/servers/work", { token: alice });
  expect(started.status).toBe(202);
  const events = await readEvents(hub.url, "/hub/api/users/alice/servers/work/progress", alice);
  expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true, url: "/user/alice/work/" });
  expect(events.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^Creating container ghub-/)]));

  const status = await fetch(`${hub.url}/user/alice/work/api/status`, { headers: { authorization: `token ${alice}` } });
  expect(status.status).toBe(200);

  const [container] = await ourContainers();
  expect(container?.Names).toEqual([`/${prefix}-alice--work`]);
  const info = await engine.docker.getContainer(container!.Id).inspect();
  // The default policy: 1 CPU, 2 GB of memory.
  expect(info.HostConfig).toMatchObject({ NanoCpus: 1e9, Memory: 2e9 });
  expect(info.NetworkSettings.Ports["8888/tcp"]).toEqual([expect.objectContaining({ HostIp: "127.0.0.1" })]);

  const model = await hub.api("GET", "users/alice", { token: alice });
  expect(model.body.servers.work.enforcement).toMatchObject({
    cpu: { enforced: true, by: expect.stringContaining("Docker engine") },
    memory: { enforced: true },
  });
});

it("keeps the container across a hub restart", async () => {
  dataDir = t!.dataDir;
  await t!.hub.close(); // the servers keep running
  t = await startTestHub({ dataDir, config: dockerConfig(), policies: POLICIES });
  const status = await fetch(`${t.url}/user/alice/work/api/status`, { headers: { authorization: `token ${alice}` } });
  expect(status.status).toBe(200);
});

it("stops the container but keeps the volume; deleting the server removes the volume", async () => {
  const hub = t!;
  const volume = `${prefix}-alice--work`;
  const stopped = await hub.api("DELETE", "users/alice/servers/work", { token: alice });
  expect([202, 204]).toContain(stopped.status);
  await waitFor(async () => (await ourContainers()).length === 0, 30_000);
  expect(await engine.docker.getVolume(volume).inspect()).toMatchObject({ Name: volume });

  const removed = await hub.api("DELETE", "users/alice/servers/work", { token: alice, body: { remove: true } });
  expect([202, 204]).toContain(removed.status);
  await waitFor(async () => (await engine.docker.listVolumes({ filters: JSON.stringify({ name: [volume] }) })).Volumes.length === 0, 30_000);
});

it("stops the container at the server's maximum lifetime, keeps its volume and the reason", async () => {
  const hub = t!;
  expect((await hub.api("POST", "users/alice/servers/night", { token: alice })).status).toBe(202);
  expect((await readEvents(hub.url, "/hub/api/users/alice/servers/night/progress", alice)).at(-1)).toMatchObject({ ready: true });
  const running = (await hub.api("GET", "users/alice", { token: alice })).body.servers.night;
  const deadline = Date.parse(running.started) + 3_600_000;
  expect(Date.parse(running.deadline)).toBe(deadline);

  expect(await hub.hub.culler.cullOnce(deadline - 1000)).toEqual([]);
  expect(await hub.hub.culler.cullOnce(deadline)).toEqual(["alice/night"]);
  const model = async () => (await hub.api("GET", "users/alice?include_stopped_servers", { token: alice })).body.servers.night;
  await waitFor(async () => (await model()).status === "stopped", 30_000);
  expect(await ourContainers()).toEqual([]);
  const stopped = await model();
  expect(stopped).toMatchObject({ status: "stopped", stop_reason: "reached a maximum lifetime of 1h (policy `default`)" });
  const volume = `${prefix}-alice--night`;
  expect(await engine.docker.getVolume(volume).inspect()).toMatchObject({ Name: volume });

  expect([202, 204]).toContain((await hub.api("DELETE", "users/alice/servers/night", { token: alice, body: { remove: true } })).status);
  await waitFor(async () => (await engine.docker.listVolumes({ filters: JSON.stringify({ name: [volume] }) })).Volumes.length === 0, 30_000);
}, 120_000);

it("runs an environment's own image at its CPU, and the configured image by default", async () => {
  const hub = t!;
  expect((await hub.api("POST", "users/alice/servers/env", { token: alice, body: { profile: "other" } })).status).toBe(202);
  expect((await readEvents(hub.url, "/hub/api/users/alice/servers/env/progress", alice)).at(-1)).toMatchObject({ ready: true });
  const [container] = await ourContainers();
  const info = await engine.docker.getContainer(container!.Id).inspect();
  expect(info.Config.Image).toBe(otherImage);
  expect(info.HostConfig).toMatchObject({ NanoCpus: 0.5e9 });
  expect((await fetch(`${hub.url}/user/alice/env/api/status`, { headers: { authorization: `token ${alice}` } })).status).toBe(200);
  expect([202, 204]).toContain((await hub.api("DELETE", "users/alice/servers/env", { token: alice, body: { remove: true } })).status);
  await waitFor(async () => (await ourContainers()).length === 0, 30_000);
}, 120_000);

it("holds a user to their quota of servers running at once, and lets a user a container is shared with in until revoked", async () => {
  const hub = t!;
  const bob = await hub.addUser("bob");
  expect((await hub.api("POST", "users/alice/servers/one", { token: alice })).status).toBe(202);
  expect((await readEvents(hub.url, "/hub/api/users/alice/servers/one/progress", alice)).at(-1)).toMatchObject({ ready: true });
  const second = await hub.api("POST", "users/alice/servers/two", { token: alice });
  expect(second.status).toBe(400);
  expect(second.body.detail.reasons[0]).toMatchObject({ rule: "running_servers", used: 1, requested: 1, limit: 1 });
  expect(await ourContainers()).toHaveLength(1); // refused before a container was made

  const asBob = () => fetch(`${hub.url}/user/alice/one/api/status`, { headers: { authorization: `token ${bob}` } }).then((r) => r.status);
  expect(await asBob()).toBe(403);
  expect((await hub.api("POST", "shares/alice/one", { token: alice, body: { user: "bob" } })).status).toBe(200);
  expect(await asBob()).toBe(200);
  expect((await hub.api("PATCH", "shares/alice/one", { token: alice, body: { user: "bob" } })).status).toBe(204);
  expect(await asBob()).toBe(403);

  expect([202, 204]).toContain((await hub.api("DELETE", "users/alice/servers/one", { token: alice, body: { remove: true } })).status);
  await waitFor(async () => (await ourContainers()).length === 0, 30_000);
}, 120_000);
