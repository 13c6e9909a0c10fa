/**
 * What the proxy sends to a server and back, observed with an echo backend: header rules, cookie rules, missing
 * routes, dead servers and aborted clients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Counter, Registry } from "prom-client";
import { request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { freePort } from "../support/service-process.js";
import { httpRequest, openKernelSocket, startEcho, startTestHub, type EchoServer, type TestHub } from "./helpers.js";

let echo: EchoServer;
let hub: TestHub;
let deadPort: number;
let wss: WebSocketServer;
let wsHandshake: IncomingHttpHeaders | undefined;
let wsPath: string | undefined;
const wsServerSide: WebSocket[] = [];
const registry = new Registry();
const proxied = new Counter({ name: "test_proxied_requests_total", help: "test", labelNames: ["status"], registers: [registry] });

beforeAll(async () => {
  echo = await startEcho();
  hub = await startTestHub({ metrics: { proxiedRequests: proxied } });
  hub.routes.add({ user: "carol", serverName: "", target: echo.target, token: "carol-server-token" });
  deadPort = await freePort();
  hub.routes.add({ user: "carol", serverName: "dead", target: `http://127.0.0.1:${deadPort}`, token: "x" });
  // A bare WebSocket server as carol's server "ws": records the handshake, sends nothing on its own.
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (protocols) => [...protocols][0] ?? false });
  await new Promise((r) => wss.once("listening", r));
  wss.on("headers", (_headers, req) => {
    wsHandshake = req.headers;
    wsPath = req.url;
  });
  wss.on("connection", (socket) => wsServerSide.push(socket));
  const wsPort = (wss.address() as AddressInfo).port;
  hub.routes.add({ user: "carol", serverName: "ws", target: `http://127.0.0.1:${wsPort}`, token: "ws-token" });
});

afterAll(async () => {
  await hub?.close();
  for (const socket of wsServerSide) socket.terminate();
  await new Promise((r) => wss?.close(r));
  await echo?.close();
});

interface Echoed {
  url: string;
  headers: Record<string, string>;
}

describe("request rewriting", () => {
  it("injects the server token, strips hub cookies and client credentials, keeps Host", async () => {
    const res = await httpRequest(`${hub.url}/user/carol/api/x?token=wrong&keep=1`, {
      headers: {
        cookie: "test-session=carol; _xsrf=abc; test-hub-xsrf=h; other=1",
        authorization: "token client-supplied",
        "x-forwarded-for": "6.6.6.6",
        connection: "keep-alive, x-hop",
        "x-hop": "should-not-pass",
      },
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as Echoed;
    expect(seen.url).toBe("/user/carol/api/x?keep=1");
    expect(seen.headers.authorization).toBe("token carol-server-token");
    expect(seen.headers.cookie).toBe("_xsrf=abc; other=1");
    expect(seen.headers.host).toBe(new URL(hub.url).host);
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-forwarded-host"]).toBe(new URL(hub.url).host);
    expect(seen.headers["x-hop"]).toBeUndefined();
  });

  it("lets through only the server's own cookies in responses, confined to its prefix", async () => {
    const res = await httpRequest(`${hub.url}/user/carol/api/x`, { headers: { "x-test-user": "carol" } });
    expect(res.headers["set-cookie"]).toEqual(["kept=1; Path=/user/carol/", "wide=1; Path=/user/carol/"]);
  });

  it("forwards request bodies", async () => {
    const res = await httpRequest(`${hub.url}/user/carol/api/x`, {
      method: "PUT",
      headers: { "x-test-user": "carol", "content-type": "text/plain" },
      body: "hello",
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ method: "PUT", headers: { "content-length": "5" } });
  });

  it("counts answers by status", async () => {
    await httpRequest(`${hub.url}/user/carol/api/x`, { headers: { "x-test-user": "carol" } });
    const values = (await proxied.get()).values;
    expect(values.find((v) => v.labels.status === "200")?.value).toBeGreaterThan(0);
  });
});

describe("WebSockets", () => {
  it("rewrites the handshake like HTTP, passes the subprotocol, and records activity in each direction", async () => {
    const url = `${hub.url.replace("http", "ws")}/user/carol/ws/api/kernels/k/channels?token=wrong`;
    const client = await openKernelSocket(url, {
      cookie: "test-session=carol; _xsrf=a",
      origin: hub.origin,
      authorization: "token client",
    });
    try {
      expect(client.protocol).toBe("v1.kernel.websocket.jupyter.org");
      expect(wsHandshake).toMatchObject({ authorization: "token ws-token", cookie: "_xsrf=a" });
      expect(wsHandshake?.["sec-websocket-protocol"]).toBe("v1.kernel.websocket.jupyter.org");
      expect(wsPath).toBe("/user/carol/ws/api/kernels/k/channels");
      await new Promise((r) => setTimeout(r, 50));
      const server = wsServerSide.at(-1)!;

      const afterOpen = hub.activity.length;
      const received = new Promise((r) => server.once("message", r));
      client.send("from client");
      await received;
      await new Promise((r) => setTimeout(r, 20));
      expect(hub.activity.length).toBeGreaterThan(afterOpen);

      const afterClientFrame = hub.activity.length;
      const echoed = new Promise((r) => client.once("message", r));
      server.send("from server");
      await echoed;
      expect(hub.activity.length).toBeGreaterThan(afterClientFrame);
      expect(hub.activity.slice(afterOpen).every((a) => a === "carol/ws")).toBe(true);
    } finally {
      client.close();
    }
  });

  it("closes the client when the server goes away", async () => {
    const client = await openKernelSocket(`${hub.url.replace("http", "ws")}/user/carol/ws/x`, { "x-test-user": "carol" });
    await new Promise((r) => setTimeout(r, 50));
    const closed = new Promise((r) => client.once("close", r));
    wsServerSide.at(-1)!.terminate();
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(hub.proxy.openWebSockets).toBe(0);
  });
});

describe("failures", () => {
  it("answers 503 for a server that does not answer, as JSON or HTML", async () => {
    const api = await httpRequest(`${hub.url}/user/carol/dead/api/status`, { headers: { "x-test-user": "carol" } });
    expect(api.status).toBe(503);
    expect(JSON.parse(api.body)).toMatchObject({ status: 503, message: `carol's server "dead" is not responding` });
    const page = await httpRequest(`${hub.url}/user/carol/dead/lab`, { headers: { "x-test-user": "carol", accept: "text/html" } });
    expect(page.status).toBe(503);
    expect(page.body).toContain("is not responding");
  });

  it("answers 503 to a WebSocket upgrade for a dead server", async () => {
    await expect(
      openKernelSocket(`${hub.url.replace("http", "ws")}/user/carol/dead/api/kernels/k/channels`, { "x-test-user": "carol" }),
    ).rejects.toMatchObject({ status: 503 });
  });

  it("answers 503 to an authorised upgrade without a route", async () => {
    const url = `${hub.url.replace("http", "ws")}/user/dave/box/api/kernels/k/channels`;
    await expect(openKernelSocket(url, { "x-test-user": "dave" })).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining("dave has no running server at this address"),
    });
  });

  it("hands authorised requests without a route to the hub's notRunning handler", async () => {
    const res = await httpRequest(`${hub.url}/user/dave/box/api/status`, { headers: { "x-test-user": "dave" } });
    expect(res.status).toBe(424);
    expect(hub.notRunningCalls).toEqual(["dave/box"]);
  });

  it("passes paths that are not user-server paths to the next handler", async () => {
    const res = await httpRequest(`${hub.url}/user/`, { headers: { "x-test-user": "carol" } });
    expect(res.status).toBe(404);
  });

  it("releases the server request when the client aborts", async () => {
    const req = request(`${hub.url}/user/carol/slow`, { headers: { "x-test-user": "carol" }, agent: false });
    req.on("error", () => undefined);
    req.end();
    await new Promise((r) => setTimeout(r, 300));
    req.destroy();
    const outcome = await Promise.race([
      echo.slowClosed.then(() => "released"),
      new Promise((r) => setTimeout(() => r("leaked"), 5_000)),
    ]);
    expect(outcome).toBe("released");
  });
});

describe("mounted ahead of Express", () => {
  it("proxies user-server paths and hands everything else to the app", async () => {
    const fast = await startTestHub({}, "listener");
    try {
      fast.routes.add({ user: "carol", serverName: "", target: echo.target, token: "carol-server-token" });
      const proxiedRes = await httpRequest(`${fast.url}/user/carol/api/x`, { headers: { "x-test-user": "carol" } });
      expect(proxiedRes.status).toBe(200);
      expect(JSON.parse(proxiedRes.body).headers.authorization).toBe("token carol-server-token");
      const other = await httpRequest(`${fast.url}/hub/home`);
      expect(JSON.parse(other.body)).toMatchObject({ status: 404, from: "express" });
      const notUser = await httpRequest(`${fast.url}/user/`);
      expect(JSON.parse(notUser.body)).toMatchObject({ status: 404, from: "express" });
      const refused = await httpRequest(`${fast.url}/user/carol/api/x`, { headers: { "x-test-user": "bob" } });
      expect(refused.status).toBe(403);
    } finally {
      await fast.close();
    }
  });
});
