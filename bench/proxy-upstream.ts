/**
 * The fast upstream of bench/proxy.ts: a minimal HTTP server (a small JSON answer, as Jupyter's /api/status) and a
 * WebSocket echo, in a process of its own. Far faster than a Jupyter server, so the proxies in front of it are what
 * is measured.
 *
 *   node --import tsx ../bench/proxy-upstream.ts <port>
 */
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("../server/package.json", import.meta.url));
const { WebSocketServer } = require("ws") as typeof import("ws");

const body = JSON.stringify({ started: "2026-12-07T00:00:00Z", last_activity: "2026-12-07T00:00:00Z", connections: 0, kernels: 0 });
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
const wss = new WebSocketServer({ server });
wss.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
server.listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));
