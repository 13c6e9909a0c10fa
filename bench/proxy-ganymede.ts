/**
 * Ganymede's user-server proxy alone, for bench/proxy.ts: the hub's own proxy module (server/src/proxy/) in a
 * process of its own, with one route to the fast upstream. Authentication is a constant-time comparison of one
 * API token (the hub looks its tokens up in a cache; configurable-http-proxy checks nothing at all), so what is
 * measured is the proxy: the gate, header rewriting, activity stamping and forwarding.
 *
 *   node --import tsx ../bench/proxy-ganymede.ts <port> <upstream url> <token>
 */
import http from "node:http";
import { timingSafeEqual } from "node:crypto";
import { RouteTable, createUserProxy } from "../server/src/proxy/index.js";

const [port, upstream, token] = process.argv.slice(2) as [string, string, string];
const routes = new RouteTable("/user/");
routes.add({ user: "bench", serverName: "", target: upstream, token: "server-token" });
const expected = Buffer.from(`token ${token}`);
let activity = 0;
const proxy = createUserProxy({
  routes,
  authenticate: async (req) => {
    const got = Buffer.from(req.headers.authorization ?? "");
    return got.length === expected.length && timingSafeEqual(got, expected) ? { name: "bench", admin: false, via: "token" } : undefined;
  },
  isAllowedOrigin: () => true,
  hubCookieNames: ["ganymede-session"],
  loginUrl: (next) => `/hub/login?next=${encodeURIComponent(next)}`,
  onActivity: () => void activity++,
  notRunning: (_req, res) => res.writeHead(503).end(),
});
const server = http.createServer(proxy.listener((_req, res) => res.writeHead(404).end()));
server.on("upgrade", (req, socket, head) => {
  if (!proxy.handleUpgrade(req, socket, head)) socket.destroy();
});
server.listen(Number(port), "127.0.0.1", () => process.send?.("ready"));
