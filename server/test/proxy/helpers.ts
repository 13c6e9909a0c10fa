/**
 * Test support for the proxy: a real jupyter-server, a hub-like Express app mounting the proxy with a test
 * authenticator, an echo backend, a raw HTTP client and a minimal Jupyter kernel client over WebSocket.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import WebSocket from "ws";
import { createUserProxy, RouteTable, type ProxyIdentity, type UserProxy, type UserProxyOptions } from "../../src/proxy/index.js";
import { jupyterCommand } from "../support/paths.js";
import { freePort } from "../support/service-process.js";


export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with node:http (no fetch: we need Origin/Cookie control and a hard timeout). */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers["content-length"] = String(Buffer.byteLength(opts.body));
    const req = http.request(url, { method: opts.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(new Error(`timeout: ${opts.method ?? "GET"} ${url}`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Polls `url` until it answers 200, each attempt with its own short timeout. */
export async function waitForHttp(url: string, headers: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await httpRequest(url, { headers, timeoutMs: 1_000 });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

export interface JupyterServer {
  port: number;
  target: string;
  token: string;
  stop(): Promise<void>;
}

/** Starts a real jupyter-server under `baseUrl` in its own process group (so its kernels die with it). */
export async function startJupyter(baseUrl: string): Promise<JupyterServer> {
  const port = await freePort();
  const token = randomUUID();
  const rootDir = mkdtempSync(path.join(tmpdir(), "ganymede-proxy-"));
  const [cmd, ...args] = jupyterCommand;
  const child: ChildProcess = spawn(
    cmd!,
    [
      ...args,
      `--ServerApp.base_url=${baseUrl}`,
      `--ServerApp.port=${port}`,
      "--ServerApp.port_retries=0",
      "--ServerApp.ip=127.0.0.1",
      "--no-browser",
      "--allow-root",
      `--ServerApp.root_dir=${rootDir}`,
    ],
    { env: { ...process.env, JUPYTER_TOKEN: token }, stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* already gone */
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    // Kernels are in the same process group; make sure none outlives the server.
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* group empty */
    }
    rmSync(rootDir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}${baseUrl}api/status`, { authorization: `token ${token}` });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { port, target: `http://127.0.0.1:${port}`, token, stop };
}

/** Names of the hub's cookies in these tests. */
export const HUB_COOKIES = ["test-session", "test-hub-xsrf"];

/**
 * Test double of the hub's authenticator (the proxy's neighbour, not its subject): `x-test-user: <name>` stands for
 * an API token, cookie `test-session=<name>` for a browser session; the user named "admin" is an admin.
 */
export async function testAuthenticate(req: IncomingMessage): Promise<ProxyIdentity | undefined> {
  const header = req.headers["x-test-user"];
  if (typeof header === "string" && header) return { name: header, admin: header === "admin", via: "token" };
  const match = /(?:^|;\s*)test-session=([^;]+)/.exec(req.headers.cookie ?? "");
  if (match?.[1]) return { name: match[1], admin: match[1] === "admin", via: "cookie" };
  return undefined;
}

export interface TestHub {
  url: string;
  origin: string;
  routes: RouteTable;
  proxy: UserProxy;
  activity: string[];
  notRunningCalls: string[];
  close(): Promise<void>;
}

/**
 * A hub-like Express app with the proxy mounted as Express middleware (`mount: "express"`) or ahead of Express in
 * the server's request listener (`mount: "listener"`).
 */
export async function startTestHub(
  overrides: Partial<UserProxyOptions> = {},
  mount: "express" | "listener" = "express",
): Promise<TestHub> {
  const routes = new RouteTable("/user/");
  const activity: string[] = [];
  const notRunningCalls: string[] = [];
  const proxy = createUserProxy({
    routes,
    authenticate: testAuthenticate,
    isAllowedOrigin: (origin, req) => origin === `http://${req.headers.host}`,
    hubCookieNames: HUB_COOKIES,
    loginUrl: (next) => `/hub/login?next=${encodeURIComponent(next)}`,
    onActivity: (user, serverName) => activity.push(`${user}/${serverName}`),
    notRunning: (_req: IncomingMessage, res: ServerResponse, user, serverName) => {
      notRunningCalls.push(`${user}/${serverName}`);
      res.writeHead(424, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: 424, message: "not running" }));
    },
    connectTimeoutMs: 2_000,
    ...overrides,
  });
  const app = express();
  app.disable("x-powered-by");
  if (mount === "express") app.use(proxy.middleware);
  app.use((_req, res) => {
    res.status(404).json({ status: 404, message: "not found", from: "express" });
  });
  const server = http.createServer(mount === "express" ? app : proxy.listener(app));
  server.on("upgrade", (req, socket, head) => {
    if (!proxy.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    origin: url,
    routes,
    proxy,
    activity,
    notRunningCalls,
    async close() {
      proxy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface EchoRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface EchoServer {
  target: string;
  received: EchoRequest[];
  /** Resolves when a request to /slow is aborted from our side (the proxy released it). */
  slowClosed: Promise<void>;
  close(): Promise<void>;
}

/**
 * A tiny backend standing in for a user server in header tests: answers with what it received as JSON, sets a mix
 * of cookies, and never answers `/…/slow` (to test client aborts).
 */
export async function startEcho(): Promise<EchoServer> {
  const received: EchoRequest[] = [];
  let markSlowClosed: () => void = () => undefined;
  const slowClosed = new Promise<void>((resolve) => {
    markSlowClosed = resolve;
  });
  const server = http.createServer((req, res) => {
    received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    if (req.url?.endsWith("/slow")) {
      res.on("close", () => markSlowClosed());
      return;
    }
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, [
      ["content-type", "application/json"],
      ["set-cookie", "username-127-0-0-1-8888=abc; Path=/"],
      ["set-cookie", "test-session=evil; Path=/"],
      ["set-cookie", "kept=1; Path=/user/carol/"],
      ["set-cookie", "wide=1; Path=/; Domain=127.0.0.1"],
      ["connection", "keep-alive"],
    ].flat());
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `http://127.0.0.1:${port}`,
    received,
    slowClosed,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// --- Jupyter kernel messages over the v1.kernel.websocket.jupyter.org protocol -------------------------------

export const KERNEL_WS_PROTOCOL = "v1.kernel.websocket.jupyter.org";

/** Frames a message: offset count, offsets (u64 LE), channel, then header/parent/metadata/content as JSON. */
export function encodeV1(channel: string, parts: unknown[]): Buffer {
  const segments = [Buffer.from(channel), ...parts.map((p) => Buffer.from(JSON.stringify(p)))];
  const offsets: number[] = [8 * (segments.length + 2)];
  for (const s of segments) offsets.push(offsets[offsets.length - 1]! + s.length);
  const head = Buffer.alloc(8 * (offsets.length + 1));
  head.writeBigUInt64LE(BigInt(offsets.length), 0);
  offsets.forEach((o, i) => head.writeBigUInt64LE(BigInt(o), 8 * (i + 1)));
  return Buffer.concat([head, ...segments]);
}

export interface KernelMessage {
  channel: string;
  header: { msg_type: string; msg_id: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
}

export function decodeV1(data: Buffer): KernelMessage {
  const count = Number(data.readBigUInt64LE(0));
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(Number(data.readBigUInt64LE(8 * (i + 1))));
  const part = (i: number): string => data.subarray(offsets[i], offsets[i + 1]).toString();
  return {
    channel: part(0),
    header: JSON.parse(part(1)) as KernelMessage["header"],
    parent_header: JSON.parse(part(2)) as KernelMessage["parent_header"],
    content: JSON.parse(part(4)) as Record<string, unknown>,
  };
}

/** Opens a kernel's channels WebSocket; rejects with the HTTP status if the upgrade is refused. */
export function openKernelSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [KERNEL_WS_PROTOCOL], { headers, handshakeTimeout: 15_000 });
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        ws.terminate();
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${Buffer.concat(chunks).toString()}`), { status: res.statusCode }));
      });
    });
    ws.once("error", reject);
  });
}

/** Runs `code` on an open kernel socket and collects its stdout until the kernel is idle again. */
export function execute(ws: WebSocket, code: string, timeoutMs = 30_000): Promise<string> {
  const msgId = randomUUID();
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      ws.off("message", onMessage);
      reject(new Error(`no idle status within ${timeoutMs} ms; stdout so far: ${JSON.stringify(stdout)}`));
    }, timeoutMs);
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (!isBinary) return;
      const msg = decodeV1(data);
      if (msg.channel !== "iopub" || msg.parent_header.msg_id !== msgId) return;
      if (msg.header.msg_type === "stream") stdout += String(msg.content.text ?? "");
      if (msg.header.msg_type === "status" && msg.content.execution_state === "idle") {
        clearTimeout(timer);
        ws.off("message", onMessage);
        resolve(stdout);
      }
    };
    ws.on("message", onMessage);
    const header = {
      msg_id: msgId,
      msg_type: "execute_request",
      username: "test",
      session: randomUUID(),
      version: "5.3",
      date: new Date().toISOString(),
    };
    const content = { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true };
    ws.send(encodeV1("shell", [header, {}, {}, content]));
  });
}
