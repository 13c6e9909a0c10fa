/**
 * The proxy in front of a real jupyter-server (alice's server "work"), mounted in an Express app like the hub's,
 * with a test authenticator. Covers access, token injection, kernels over WebSocket, and the cross-site rules.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  execute,
  httpRequest,
  KERNEL_WS_PROTOCOL,
  openKernelSocket,
  startJupyter,
  startTestHub,
  type JupyterServer,
  type TestHub,
} from "./helpers.js";

const BASE = "/user/alice/work/";

let jupyter: JupyterServer;
let hub: TestHub;

beforeAll(async () => {
  jupyter = await startJupyter(BASE);
  hub = await startTestHub();
  hub.routes.add({ user: "alice", serverName: "work", target: jupyter.target, token: jupyter.token });
});

afterAll(async () => {
  await hub?.close();
  await jupyter?.stop();
});

const status = `${BASE}api/status`;
const asAlice = { "x-test-user": "alice" };

describe("access", () => {
  it("lets the owner through, by token or by cookie", async () => {
    const byToken = await httpRequest(hub.url + status, { headers: asAlice });
    expect(byToken.status).toBe(200);
    expect(JSON.parse(byToken.body)).toHaveProperty("kernels");
    const byCookie = await httpRequest(hub.url + status, { headers: { cookie: "test-session=alice" } });
    expect(byCookie.status).toBe(200);
  });

  it("lets an admin through", async () => {
    const res = await httpRequest(hub.url + status, { headers: { "x-test-user": "admin" } });
    expect(res.status).toBe(200);
  });

  it("refuses another user: JSON for API clients, a page for browsers", async () => {
    const api = await httpRequest(hub.url + status, { headers: { "x-test-user": "bob" } });
    expect(api.status).toBe(403);
    expect(api.headers["content-type"]).toMatch(/json/);
    expect(JSON.parse(api.body)).toMatchObject({ status: 403, message: expect.stringContaining("bob may not use") });
    const page = await httpRequest(hub.url + `${BASE}lab`, { headers: { cookie: "test-session=bob", accept: "text/html" } });
    expect(page.status).toBe(403);
    expect(page.headers["content-type"]).toMatch(/html/);
  });

  it("sends anonymous browsers to sign in and refuses anonymous API calls", async () => {
    const nav = await httpRequest(hub.url + `${BASE}lab?x=1&token=leak`, { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(nav.status).toBe(302);
    expect(nav.headers.location).toBe(`/hub/login?next=${encodeURIComponent(`${BASE}lab?x=1`)}`);
    const api = await httpRequest(hub.url + status);
    expect(api.status).toBe(403);
    expect(JSON.parse(api.body)).toMatchObject({ status: 403, message: expect.stringContaining("authentication required") });
  });

  it("does not reveal whether a server exists before checking access", async () => {
    const missing = await httpRequest(hub.url + "/user/alice/nothing-here/api/status", { headers: { "x-test-user": "bob" } });
    const existing = await httpRequest(hub.url + status, { headers: { "x-test-user": "bob" } });
    expect(missing.status).toBe(403);
    expect(missing.body).toBe(existing.body);
  });

  it("redirects the bare prefix to the server's base_url", async () => {
    const res = await httpRequest(hub.url + "/user/alice/work?a=1", { headers: asAlice });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${BASE}?a=1`);
  });
});

describe("token handling", () => {
  it("ignores a client's ?token= and Authorization and injects the server's own", async () => {
    const res = await httpRequest(hub.url + `${status}?token=wrong`, {
      headers: { ...asAlice, authorization: "token wrong" },
    });
    expect(res.status).toBe(200);
  });

  it("drops the server's username-… login cookies", async () => {
    const res = await httpRequest(hub.url + status, { headers: asAlice });
    const cookies = res.headers["set-cookie"] ?? [];
    expect(cookies.some((c) => c.startsWith("username-"))).toBe(false);
  });
});

describe("cross-site rules", () => {
  const create = `${BASE}api/contents`;
  const body = JSON.stringify({ type: "notebook" });

  it("refuses a write from a foreign Origin and accepts it from the hub's", async () => {
    const foreign = await httpRequest(hub.url + create, {
      method: "POST",
      headers: { ...asAlice, origin: "https://evil.example", "content-type": "application/json" },
      body,
    });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).message).toMatch(/rule "origin"/);
    const own = await httpRequest(hub.url + create, {
      method: "POST",
      headers: { ...asAlice, origin: hub.origin, "content-type": "application/json" },
      body,
    });
    expect(own.status).toBe(201);
  });

  it("refuses reads from a foreign Origin too (the server would echo it in CORS headers)", async () => {
    const res = await httpRequest(hub.url + status, { headers: { ...asAlice, origin: "https://evil.example" } });
    expect(res.status).toBe(403);
  });

  it("refuses a write referred by a foreign page when Origin is absent", async () => {
    const res = await httpRequest(hub.url + create, {
      method: "POST",
      headers: { ...asAlice, referer: "https://evil.example/x", "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).message).toMatch(/rule "referer"/);
  });

  it("needs XSRF proof for cookie-authenticated writes", async () => {
    const headers = { cookie: "test-session=alice; _xsrf=2|abc|def|123", origin: hub.origin, "content-type": "application/json" };
    const without = await httpRequest(hub.url + create, { method: "POST", headers, body });
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body).message).toMatch(/rule "xsrf"/);
    const wrong = await httpRequest(hub.url + create, { method: "POST", headers: { ...headers, "x-xsrftoken": "2|abc|def|124" }, body });
    expect(wrong.status).toBe(403);
    const right = await httpRequest(hub.url + create, { method: "POST", headers: { ...headers, "x-xsrftoken": "2|abc|def|123" }, body });
    expect(right.status).toBe(201);
  });

  it("accepts token-authenticated writes without XSRF header or Origin (scripts)", async () => {
    const res = await httpRequest(hub.url + create, { method: "POST", headers: { ...asAlice, "content-type": "application/json" }, body });
    expect(res.status).toBe(201);
  });
});

describe("kernels over WebSocket", () => {
  it("starts a kernel and runs print(6*7) through the proxy, recording activity both ways", async () => {
    const started = await httpRequest(hub.url + `${BASE}api/kernels`, {
      method: "POST",
      headers: { cookie: "test-session=alice; _xsrf=tok", "x-xsrftoken": "tok", origin: hub.origin, "content-type": "application/json" },
      body: JSON.stringify({ name: "python3" }),
    });
    expect(started.status).toBe(201);
    const kernel = JSON.parse(started.body) as { id: string };
    const wsUrl = `${hub.url.replace("http", "ws")}${BASE}api/kernels/${kernel.id}/channels?session_id=test-session-1`;

    const before = hub.activity.length;
    const ws = await openKernelSocket(wsUrl, { cookie: "test-session=alice", origin: hub.origin });
    try {
      expect(ws.protocol).toBe(KERNEL_WS_PROTOCOL);
      expect(hub.proxy.openWebSockets).toBe(1);
      const out = await execute(ws, "print(6*7)");
      expect(out.trim()).toBe("42");
      // one for the upgrade, then at least one per direction
      expect(hub.activity.length - before).toBeGreaterThanOrEqual(3);
      expect(hub.activity.slice(before).every((a) => a === "alice/work")).toBe(true);
    } finally {
      ws.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(hub.proxy.openWebSockets).toBe(0);

    const deleted = await httpRequest(hub.url + `${BASE}api/kernels/${kernel.id}`, {
      method: "DELETE",
      headers: { ...asAlice, origin: hub.origin },
    });
    expect(deleted.status).toBe(204);
  });

  it("refuses an upgrade from a foreign Origin, another user or anonymous", async () => {
    const url = `${hub.url.replace("http", "ws")}${BASE}api/events/subscribe`;
    await expect(openKernelSocket(url, { cookie: "test-session=alice", origin: "https://evil.example" })).rejects.toMatchObject({ status: 403 });
    await expect(openKernelSocket(url, { cookie: "test-session=bob", origin: hub.origin })).rejects.toMatchObject({ status: 403 });
    await expect(openKernelSocket(url, { origin: hub.origin })).rejects.toMatchObject({ status: 403 });
  });

  it("relays the server's refusal of an upgrade (unknown kernel)", async () => {
    const url = `${hub.url.replace("http", "ws")}${BASE}api/kernels/00000000-0000-0000-0000-000000000000/channels`;
    await expect(openKernelSocket(url, { ...asAlice, origin: hub.origin })).rejects.toMatchObject({ status: 404 });
  });

  it("records activity for plain HTTP requests", async () => {
    const before = hub.activity.length;
    await httpRequest(hub.url + status, { headers: asAlice });
    expect(hub.activity.slice(before)).toEqual(["alice/work"]);
  });
});
