/**
 * Switching an install from local processes to Docker (issue 11): the hub on the new backend starts, keeps a local
 * server that still runs reachable, and refuses — per server, with the reason — to start, stop or delete servers the
 * other backend made, so no one's work is lost and nothing is left it cannot manage. Switched back, the local hub
 * finds its running server again and stops it. Real parts: local stand-in servers, the Docker engine.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { defaultRunRoot } from "../../src/spawners/local/index.js";
import { ensureBaseImage, ensureTestServerImage, removeHubObjects, startDockerEngine, type DockerEngine } from "../support/docker.js";
import { makeDataDir, startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { standInServer } from "../support/paths.js";

const dataDir = makeDataDir();
const prefix = `gsw-${randomBytes(3).toString("hex")}`;
const local = { spawner: { local: { command: standInServer } } };
let engine: DockerEngine | undefined;
let open: TestHub | undefined;

afterAll(async () => {
  // Whatever step failed, no local server may outlive the test: a local hub on the same data adopts and stops them.
  await open?.hub.close();
  await (await startTestHub({ dataDir, config: local })).close();
  if (engine) await removeHubObjects(engine, prefix, `${prefix}-net`);
  rmSync(defaultRunRoot(path.join(dataDir, "servers")), { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

it("refuses per server what it cannot take over, keeps running servers reachable, and loses nothing", async () => {
  // On local processes: alice's "work" has files and is stopped; bob's default server runs.
  const first = await startTestHub({ dataDir, config: local });
  const [alice, bob] = [await first.addUser("alice"), await first.addUser("bob")];
  expect((await first.api("POST", "users/alice/servers/work", { token: alice })).status).toBe(201);
  expect((await first.api("DELETE", "users/alice/servers/work", { token: alice })).status).toBe(204);
  expect((await first.api("POST", "users/bob/server", { token: bob })).status).toBe(201);
  await first.hub.close(); // the hub goes; bob's server runs on, as servers do

  // The same install on Docker: it starts, and says per server what it cannot do.
  engine = await startDockerEngine();
  await ensureBaseImage(engine);
  const image = await ensureTestServerImage(engine);
  const docker = await startTestHub({
    dataDir,
    config: { spawner: { backend: "docker", docker: { image, command: ["jupyter", "server"], namePrefix: prefix, network: `${prefix}-net` } } },
  });
  open = docker;
  const bobsModel = await docker.api("GET", "users/bob", { token: bob });
  expect(bobsModel.body.servers[""]).toMatchObject({ ready: true });
  const proxied = await fetch(`${docker.url}/user/bob/api/status`, { headers: { authorization: `token ${bob}` } });
  expect(proxied.status).toBe(200); // bob goes on working

  for (const [method, apiPath, token, body] of [
    ["DELETE", "users/bob/server", bob, undefined],
    ["POST", "users/bob/server", bob, undefined],
    ["POST", "users/alice/servers/work", alice, undefined],
    ["DELETE", "users/alice/servers/work", alice, { remove: true }],
  ] as const) {
    const res = await docker.api(method, apiPath, { token, body });
    expect(res.status, `${method} ${apiPath}`).toBe(409);
    expect(res.body.error).toBe("foreign_backend");
    expect(res.body.message).toMatch(/made by the local backend, and this hub now runs the docker backend, which cannot take it over/);
  }
  const rows = await docker.hub.ctx.db.server.findMany({ include: { user: true } });
  expect(rows.map((r) => [r.user.name, r.name, r.status])).toEqual(expect.arrayContaining([["alice", "work", "stopped"], ["bob", "", "running"]]));
  await docker.hub.close();
  open = undefined;

  // Switched back: the local hub finds bob's server running and can stop it; alice's can start again.
  const back = await startTestHub({ dataDir, config: local });
  open = back;
  expect((await back.api("DELETE", "users/bob/server", { token: bob })).status).toBeOneOf([202, 204]);
  await waitFor(async () => (await back.api("GET", "users/bob", { token: bob })).body.servers[""] === undefined, 30_000);
  expect((await back.api("POST", "users/alice/servers/work", { token: alice })).status).toBe(201);
}, 600_000);
