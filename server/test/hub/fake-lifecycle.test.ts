/**
 * The hub's start lifecycle around a backend that goes wrong on purpose (support/fake-spawner.ts, a test double that
 * passes the spawner contract): each failure ends the start with its reason in the progress stream and the server
 * model, and a server created by that start leaves nothing behind (its row, its storage, its "process").
 */
import { afterEach, describe, expect, it } from "vitest";
import { fakeLeftovers, fakeSpawnerFactory, fakeStarts, type FakeOptions } from "../support/fake-spawner.js";
import { readEvents, startTestHub, type TestHub } from "../support/hub.js";

let t: TestHub | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function failedStart(options: FakeOptions, startTimeout = "30s"): Promise<{ message: string; servers: unknown }> {
  t = await startTestHub({ spawners: fakeSpawnerFactory(options), config: { spawner: { slowSpawnTimeout: "0s", startTimeout } } });
  const token = await t.addUser("alice");
  expect((await t.api("POST", "users/alice/servers/work", { token })).status).toBe(202);
  const last = (await readEvents(t.url, "/hub/api/users/alice/servers/work/progress", token, 30_000)).at(-1)!;
  expect(last).toMatchObject({ failed: true });
  const servers = (await t.api("GET", "users/alice", { token })).body.servers;
  return { message: String(last.message), servers };
}

describe("a start that fails", () => {
  it("reports a server that exits during its start with its exit code and last log lines", async () => {
    const { message, servers } = await failedStart({ outcome: "exit" });
    expect(message).toBe(
      "Spawn failed: The Jupyter server exited during its start (exit code 3).\nLast lines of its log:\nfake: starting\nfake: configuration error, exiting",
    );
    expect(servers).toEqual({});
    expect(fakeLeftovers()).toEqual([]);
  });

  it("answers the start request with the backend's own refusal when it comes at once", async () => {
    t = await startTestHub({ spawners: fakeSpawnerFactory({ outcome: "refuse" }), config: { spawner: { slowSpawnTimeout: "5s" } } });
    const token = await t.addUser("alice");
    const refused = await t.api("POST", "users/alice/servers/work", { token });
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({ error: "spawn_failed", message: "the fake backend refuses to start servers" });
    expect((await t.api("GET", "users/alice", { token })).body.servers).toEqual({});
    expect(fakeLeftovers()).toEqual([]);
  });

  it("gives up on a server that never answers at the start timeout, and stops it", async () => {
    const { message, servers } = await failedStart({ outcome: "silent" }, "2s");
    expect(message).toBe("Spawn failed: alice's server 'work' did not become ready within 2 s");
    expect(servers).toEqual({});
    expect(fakeLeftovers()).toEqual([]);
  });
});

describe("the launch specification", () => {
  it("is resolved once per start, stored on the server's row and handed to the backend as it is", async () => {
    t = await startTestHub({ spawners: fakeSpawnerFactory(), config: { spawner: { slowSpawnTimeout: "5s" }, hub: { publicUrl: "https://hub.example.org" } } });
    const token = await t.addUser("alice");
    expect((await t.api("POST", "users/alice/servers/work", { token, body: { note: "for the launch test" } })).status).toBe(201);
    const ctx = fakeStarts.at(-1)!;
    expect(ctx).toMatchObject({
      user: "alice",
      serverName: "work",
      baseUrl: "/user/alice/work/",
      // The shipped default policy.
      limits: { cpu: 1, memoryBytes: 2e9, storageBytes: 2 * 2 ** 30 },
      env: { JUPYTERHUB_USER: "alice", JUPYTERHUB_SERVER_NAME: "work", JUPYTERHUB_SERVICE_PREFIX: "/user/alice/work/" },
      userOptions: { note: "for the launch test" },
    });
    expect(ctx.image).toBeUndefined();
    const row = await t.hub.ctx.db.server.findFirstOrThrow({ where: { name: "work" } });
    const { user: _user, serverName: _name, baseUrl: _base, token: _token, ...launch } = ctx;
    expect(JSON.parse(row.launch!)).toEqual(launch);
  });
});
