/**
 * End to end through the hub, with real Jupyter servers: start, progress, a kernel executing over WebSocket through
 * the hub's proxy, another user refused, stop keeps work, delete removes it.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute, startKernel } from "../support/kernel.js";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";

let t: TestHub;
let alice: string;
let bob: string;

beforeAll(async () => {
  // slowSpawnTimeout 0: every start answers 202 at once, so the progress stream carries the whole spawn.
  t = await startTestHub({ config: { spawner: { slowSpawnTimeout: "0s" } } });
  alice = await t.addUser("alice");
  bob = await t.addUser("bob");
});

afterAll(async () => {
  await t?.close();
});

async function waitReady(user: string, serverName: string, token: string) {
  const progressPath = serverName
    ? `/hub/api/users/${user}/servers/${serverName}/progress`
    : `/hub/api/users/${user}/server/progress`;
  const events = await readEvents(t.url, progressPath, token);
  const last = events.at(-1)!;
  expect(last, JSON.stringify(events)).toMatchObject({ ready: true, progress: 100 });
  return { events, url: last.url as string };
}

describe("the default server", () => {
  it("starts, streams progress and runs a kernel through the hub's proxy", async () => {
    const started = await t.api("POST", "users/alice/server", { token: alice });
    expect(started.status).toBe(202);
    const { events, url } = await waitReady("alice", "", alice);
    expect(url).toBe("/user/alice/");
    expect(events.length).toBeGreaterThan(1);
    expect(events.map((e) => e.progress as number)).toEqual([...events.map((e) => e.progress as number)].sort((a, b) => a - b));

    const model = await t.api("GET", "users/alice", { token: alice });
    expect(model.status).toBe(200);
    expect(model.body).toMatchObject({ kind: "user", name: "alice", server: "/user/alice/", pending: null });
    expect(model.body.servers[""]).toMatchObject({ ready: true, stopped: false, url: "/user/alice/", status: "running" });

    const target = { serverUrl: `${t.url}/user/alice/`, headers: { authorization: `token ${alice}` } };
    const kernel = await startKernel(target);
    expect(await execute(target, kernel, "print(6*7)")).toBe("42\n");
  });

  it("refuses another user at the same URL, and sends anonymous browsers to sign in", async () => {
    const asBob = await fetch(`${t.url}/user/alice/api/status`, { headers: { authorization: `token ${bob}` } });
    expect(asBob.status).toBe(403);
    const anonymous = await fetch(`${t.url}/user/alice/lab`, { headers: { accept: "text/html" }, redirect: "manual" });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toMatch(/^\/hub\/login\?next=/);
    const asAdmin = await fetch(`${t.url}/user/alice/api/status`, { headers: { authorization: `token ${t.adminToken}` } });
    expect(asAdmin.status).toBe(200);
  });

  it("refuses to start a running server, with the reason", async () => {
    const again = await t.api("POST", "users/alice/server", { token: alice });
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/already running/);
  });

  it("stops the default server", async () => {
    const stopped = await t.api("DELETE", "users/alice/server", { token: alice });
    expect([202, 204]).toContain(stopped.status);
    await waitFor(async () => (await t.api("GET", "users/alice", { token: alice })).body.server === null);
    const proxied = await fetch(`${t.url}/user/alice/api/status`, { headers: { authorization: `token ${alice}` } });
    expect(proxied.status).toBe(503);
    expect(((await proxied.json()) as { message: string }).message).toBe("alice's default server is not running");
  });
});

describe("named servers", () => {
  it("keep work across stop and start, and lose it when deleted", async () => {
    expect([201, 202]).toContain((await t.api("POST", "users/bob/servers/work", { token: bob })).status);
    await waitReady("bob", "work", bob);
    const headers = { authorization: `token ${bob}`, "content-type": "application/json" };
    const put = await fetch(`${t.url}/user/bob/work/api/contents/notes.txt`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ type: "file", format: "text", content: "kept" }),
    });
    expect(put.status).toBe(201);

    expect([202, 204]).toContain((await t.api("DELETE", "users/bob/servers/work", { token: bob })).status);
    await waitFor(async () => (await t.api("GET", "users/bob?include_stopped_servers", { token: bob })).body.servers.work?.stopped === true);
    const storage = path.join(t.dataDir, "servers", "bob", "work");
    expect(readFileSync(path.join(storage, "home", "notes.txt"), "utf8")).toBe("kept");

    expect([201, 202]).toContain((await t.api("POST", "users/bob/servers/work", { token: bob })).status);
    await waitReady("bob", "work", bob);
    const get = await fetch(`${t.url}/user/bob/work/api/contents/notes.txt`, { headers });
    expect(((await get.json()) as { content: string }).content).toBe("kept");

    const removed = await t.api("DELETE", "users/bob/servers/work", { token: bob, body: { remove: true } });
    expect([202, 204]).toContain(removed.status);
    await waitFor(async () => !("work" in ((await t.api("GET", "users/bob?include_stopped_servers", { token: bob })).body.servers ?? {})));
    await waitFor(() => !existsSync(storage));
  });

  it("refuses a sixth named server with the policy's reason", async () => {
    const carol = await t.addUser("carol");
    const user = await t.hub.ctx.db.user.findUniqueOrThrow({ where: { name: "carol" } });
    for (const name of ["one", "two", "three", "four", "five"]) {
      await t.hub.ctx.db.server.create({ data: { userId: user.id, name } });
    }
    const sixth = await t.api("POST", "users/carol/servers/six", { token: carol });
    expect(sixth.status).toBe(400);
    expect(sixth.body.error).toBe("policy_denied");
    expect(sixth.body.message).toMatch(/^carol already has 5 named servers \(five, four, one, three, two\); policy `default` allows 5/);
    expect(sixth.body.detail.reasons[0]).toMatchObject({ rule: "named_servers", policy: "default", limit: 5, value: 5 });
    expect(await t.hub.ctx.db.server.count({ where: { userId: user.id } })).toBe(5);
  });

  it.each([
    ["abcdefghijklmnopqrstu", /21 characters; policy `default` allows at most 20/],
    ["Work", /lowercase|character/],
    ["w..x", /character|hyphen|letter/],
    ["wоrk", /contains "о" \(U\+043E\)/], // Cyrillic о
    ["9lives", /start with a letter/],
    ["a--b", /hyphen/],
  ])("refuses the server name %j with a reason", async (name, reason) => {
    const res = await t.api("POST", `users/bob/servers/${encodeURIComponent(name)}`, { token: bob });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(reason);
    const row = await t.hub.ctx.db.server.findFirst({ where: { name } });
    expect(row).toBeNull();
  });

  it("does not route a slash inside a server name", async () => {
    const res = await t.api("POST", `users/bob/servers/a%2Fb`, { token: bob });
    expect([400, 404]).toContain(res.status);
    expect(await t.hub.ctx.db.server.count({ where: { name: { contains: "/" } } })).toBe(0);
  });
});

describe("a pending server", () => {
  it("cannot be deleted while it starts, and can be stopped (cancelled)", async () => {
    const frank = await t.addUser("frank");
    expect((await t.api("POST", "users/frank/servers/slow", { token: frank })).status).toBe(202);
    const again = await t.api("POST", "users/frank/servers/slow", { token: frank });
    expect(again.status).toBe(202); // already starting: same answer, no second spawn
    const removed = await t.api("DELETE", "users/frank/servers/slow", { token: frank, body: { remove: true } });
    expect(removed.status).toBe(400);
    expect(removed.body.message).toBe("frank's server 'slow' is starting; stop it (or wait) before deleting it");
    const stopped = await t.api("DELETE", "users/frank/servers/slow", { token: frank });
    expect(stopped.status).toBe(204);
    const events = await readEvents(t.url, "/hub/api/users/frank/servers/slow/progress", frank);
    expect(events.at(-1)).toMatchObject({ failed: true, message: "Spawn failed: the start was cancelled" });
  });
});

describe("health and metrics", () => {
  it("answers health without authentication and metrics to admins", async () => {
    const health = await fetch(`${t.url}/hub/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    expect((await fetch(`${t.url}/hub/metrics`, { headers: { authorization: `token ${bob}` } })).status).toBe(403);
    const metrics = await (await fetch(`${t.url}/hub/metrics`, { headers: { authorization: `token ${t.adminToken}` } })).text();
    expect(metrics).toMatch(/^ganymede_spawn_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^ganymede_servers\{status="running"\} \d+/m);
    expect(metrics).toMatch(/^ganymede_servers\{status="pending"\} \d+/m);
    expect(metrics).toMatch(/^ganymede_proxied_requests_total\{status="200"\} [1-9]/m);
    expect(metrics).toMatch(/^ganymede_culls_total 0/m);
  });
});

describe("API access", () => {
  it("answers unknown users and other users' resources with 404, bad tokens with 403", async () => {
    expect((await t.api("GET", "users/nobody")).status).toBe(404);
    expect((await t.api("GET", "users/alice", { token: bob })).status).toBe(404);
    expect((await t.api("POST", "users/alice/server", { token: bob })).status).toBe(404);
    expect((await t.api("GET", "users/alice", { token: "not-a-token" })).status).toBe(403);
    expect((await t.api("GET", "users", { token: bob })).status).toBe(403);
  });

  it("refuses an expired token", async () => {
    const created = await t.api("POST", "users/bob/tokens", { token: bob, body: { expires_in: 1, note: "short" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ note: "short", kind: "api_token", user: "bob" });
    expect((await t.api("GET", "user", { token: created.body.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await t.api("GET", "user", { token: created.body.token })).status).toBe(403);
  });
});
