/**
 * The JupyterHub-compatible REST API beyond server lifecycles: version and info, user management (bulk create,
 * patch, delete with servers), pagination, activity reports, token expiry options.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents, request, startTestHub, type TestHub } from "../support/hub.js";

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub();
});

afterAll(async () => {
  await t?.close();
});

describe("version and info", () => {
  it("answers the version without authentication, info to admins only", async () => {
    const version = await request(t.url, "GET", "/hub/api/");
    expect(version.status).toBe(200);
    expect(version.body).toMatchObject({ version: expect.stringMatching(/^5\./), ganymede: expect.any(String) });
    const user = await t.addUser("ivan");
    expect((await t.api("GET", "info", { token: user })).status).toBe(403);
    const info = await t.api("GET", "info");
    expect(info.body).toMatchObject({ spawner: { class: "ganymede.local" }, policies: { active: ["default"] } });
  });
});

describe("users", () => {
  it("creates users in bulk, validating every name before creating any", async () => {
    const bad = await t.api("POST", "users", { body: { usernames: ["ok-one", "Not OK"] } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/invalid username "Not OK"/);
    expect((await t.api("GET", "users/ok-one")).status).toBe(404);

    const created = await t.api("POST", "users", { body: { usernames: ["ok-one", "ok-two"] } });
    expect(created.status).toBe(201);
    expect(created.body.map((u: { name: string }) => u.name)).toEqual(["ok-one", "ok-two"]);
    expect((await t.api("POST", "users", { body: { usernames: ["ok-one", "ok-two"] } })).status).toBe(409);
  });

  it("patches admin rights and groups", async () => {
    const patched = await t.api("PATCH", "users/ok-one", { body: { admin: true, groups: ["research", "staff"] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ admin: true, roles: ["admin", "user"], groups: ["research", "staff"] });
  });

  it("pages through users with absolute next links", async () => {
    const accept = { accept: "application/jupyterhub-pagination+json" };
    const first = await t.api("GET", "users?limit=2", { headers: accept });
    expect(first.body._pagination).toMatchObject({ offset: 0, limit: 2 });
    expect(first.body.items).toHaveLength(2);
    const next = first.body._pagination.next;
    expect(next.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hub\/api\/users\?/);
    const nextUrl = new URL(next.url);
    const second = await request(nextUrl.origin, "GET", nextUrl.pathname + nextUrl.search, { token: t.adminToken, headers: accept });
    expect(second.body._pagination.offset).toBe(2);
    const names = [...first.body.items, ...second.body.items].map((u: { name: string }) => u.name);
    expect(new Set(names).size).toBe(names.length);
    // Without the pagination media type: a plain list, as JupyterHub answers older clients.
    expect(Array.isArray((await t.api("GET", "users?limit=2")).body)).toBe(true);
  });

  it("deletes a user with their servers and storage, but not oneself", async () => {
    const token = await t.addUser("leaving");
    expect((await t.api("POST", "users/leaving/servers/temp", { token })).status).toBeLessThan(300);
    expect((await readEvents(t.url, "/hub/api/users/leaving/servers/temp/progress", token)).at(-1)).toMatchObject({ ready: true });
    const storage = path.join(t.dataDir, "servers", "leaving", "temp");
    expect(existsSync(storage)).toBe(true);
    expect((await t.api("DELETE", "users/leaving")).status).toBe(204);
    expect(existsSync(storage)).toBe(false);
    expect((await t.api("GET", "users/leaving")).status).toBe(404);
    expect((await fetch(`${t.url}/user/leaving/temp/api/status`, { headers: { authorization: `token ${t.adminToken}` } })).status).toBe(503);
    expect((await t.api("DELETE", "users/admin")).status).toBe(400);
  });
});

describe("activity", () => {
  it("moves last_activity forward from reports, and refuses bad ones", async () => {
    const token = await t.addUser("active");
    const user = await t.hub.ctx.db.user.findUniqueOrThrow({ where: { name: "active" } });
    await t.hub.ctx.db.server.create({ data: { userId: user.id, name: "nb" } });
    const when = new Date(Date.now() - 60_000).toISOString();
    const ok = await t.api("POST", "users/active/activity", { token, body: { last_activity: when, servers: { nb: { last_activity: when } } } });
    expect(ok.status).toBe(200);
    const model = (await t.api("GET", "users/active?include_stopped_servers", { token })).body;
    expect(model.last_activity).toBe(when);
    expect(model.servers.nb.last_activity).toBe(when);

    const older = new Date(Date.now() - 3_600_000).toISOString();
    await t.api("POST", "users/active/activity", { token, body: { last_activity: older } });
    expect((await t.api("GET", "users/active", { token })).body.last_activity).toBe(when);

    const future = new Date(Date.now() + 2 * 3_600_000).toISOString();
    expect((await t.api("POST", "users/active/activity", { token, body: { last_activity: future } })).status).toBe(400);
    const unknown = await t.api("POST", "users/active/activity", { token, body: { servers: { nope: { last_activity: when } } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe("no such server 'nope' for user active");
    expect((await t.api("POST", "users/active/activity", { token, body: {} })).status).toBe(400);
  });
});

describe("tokens", () => {
  it("treats expires_in 0 as never, and shows a token's secret only once", async () => {
    const token = await t.addUser("tina");
    const created = await t.api("POST", "users/tina/tokens", { token, body: { expires_in: 0 } });
    expect(created.status).toBe(201);
    expect(created.body.expires_at).toBeNull();
    expect(created.body.note).toBe("Requested via api");
    const listed = await t.api("GET", `users/tina/tokens/${created.body.id}`, { token });
    expect(listed.body).not.toHaveProperty("token");
    const narrowed = await t.api("POST", "users/tina/tokens", { token, body: { scopes: ["read:users"] } });
    expect(narrowed.status).toBe(400);
    expect(narrowed.body.message).toMatch(/only the scope "inherit" is supported/);
  });
});
