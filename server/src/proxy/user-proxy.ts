/**
 * The hub's authenticating proxy to user servers: `/user/<name>/…` and `/user/<name>/<server>/…`, HTTP and
 * WebSocket. Every request passes the gate (gate.ts) before anything reveals whether a server exists; then the
 * route is looked up and the request forwarded with the server's own token (http-forward.ts, ws-forward.ts).
 */
import { timingSafeEqual } from "node:crypto";
import { Agent, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { describeServer } from "./access.js";
import { createGate } from "./gate.js";
import { CookieFilter, stripTokenParam } from "./headers.js";
import { createHttpForwarder } from "./http-forward.js";
import { rejectUpgrade, sendError, sendRedirect } from "./responses.js";
import type { Route, RouteMatch } from "./routes.js";
import { createStatusCounter } from "./status-counter.js";
import type { ProxiedRequest, ProxyIdentity, UserProxyOptions } from "./types.js";
import { UpgradeForwarder } from "./ws-forward.js";

export interface UserProxy {
  /**
   * Express-compatible handler; passes (`next()`) anything that is not `<base><user>/…`. It uses only Node's
   * request/response API, so the hub may also call it straight from its `http.Server` "request" listener, ahead of
   * Express, for the fastest path (then `next` hands the request to the Express app).
   */
  middleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /**
   * A `http.Server` "request" listener that sends user-server paths straight to the proxy and everything else (and
   * anything the proxy passes on) to `app`. Skipping Express on the proxy's hot path about doubles its throughput.
   */
  listener(app: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * For the hub server's "upgrade" event. Returns false when the path is not a user-server path (the caller then
   * handles or destroys the socket); otherwise the proxy owns the socket.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Number of live proxied WebSocket connections. */
  readonly openWebSockets: number;
  /**
   * Checks every live WebSocket to `user`'s server `serverName` opened by someone else than its owner against
   * `stillAllowed`, and closes those no longer allowed (a revoked share takes effect on open kernels too).
   * Resolves the number closed.
   */
  recheckWebSockets(user: string, serverName: string, stillAllowed: (openedBy: string) => Promise<boolean>): Promise<number>;
  /** Ends live WebSockets and idle keep-alive connections to servers (hub shutdown, tests). */
  close(): void;
}

export interface UserProxyTuning {
  /** Keep X-Forwarded-* from clients (behind a trusted ingress). Default false. */
  trustProxy?: boolean;
  /** Idle keep-alive sockets kept per server. Default 128. */
  maxFreeSockets?: number;
}

/**
 * JupyterLab puts the server's own token in its page config (jupyterlab's LabApp sets `page_config["token"]`
 * unless it runs under JupyterHub) and sends it back as `Authorization: token <server token>` on every API call.
 * That token identifies the server, not the client: it must not make the hub look for an API token (none matches,
 * so the browser would be refused as anonymous). Drop it, so the hub identifies the browser by its session cookie
 * (and the cookie rules, XSRF included, apply). The proxy strips client Authorization before forwarding anyway.
 */
export function dropServerToken(req: IncomingMessage, route: Route | undefined): void {
  const header = req.headers.authorization;
  if (!route || !header) return;
  const token = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header)?.[1];
  if (!token) return;
  const a = Buffer.from(token);
  const b = Buffer.from(route.token);
  if (a.length === b.length && timingSafeEqual(a, b)) delete req.headers.authorization;
}

export function createUserProxy(options: UserProxyOptions & UserProxyTuning): UserProxy {
  const { routes, authenticate, isAllowedOrigin, loginUrl, onActivity, notRunning, logger } = options;
  const cookies = new CookieFilter(options.hubCookieNames);
  const trustProxy = options.trustProxy ?? false;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const count = createStatusCounter(options.metrics?.proxiedRequests);
  const agent = new Agent({
    keepAlive: true,
    maxFreeSockets: options.maxFreeSockets ?? 128,
    scheduling: "lifo",
  });

  const unreachableMessage = (err: NodeJS.ErrnoException, route: Route): string => {
    logger?.warn({ user: route.user, server: route.serverName, code: err.code, err: err.message }, "proxy: server not responding");
    return `${describeServer(route.user, route.serverName)} is not responding`;
  };

  const forwardHttp = createHttpForwarder({
    agent,
    cookies,
    trustProxy,
    connectTimeoutMs,
    onStatus: count,
    onUnreachable(err, req, res, route) {
      count(503);
      sendError(req, res, 503, unreachableMessage(err, route));
    },
  });

  const upgrades = new UpgradeForwarder({
    cookies,
    trustProxy,
    connectTimeoutMs,
    onActivity,
    onStatus: count,
    onUnreachable(err, route) {
      count(503);
      return unreachableMessage(err, route);
    },
  });

  const judge = createGate({
    isAllowedOrigin,
    loginUrl,
    logger,
    onRefused: options.onRefused,
    canAccess: options.canAccess ?? (() => false),
  });

  const serveHttp = async (req: IncomingMessage, res: ServerResponse, url: string, match: RouteMatch, identity: ProxyIdentity | undefined): Promise<void> => {
    const verdict = await judge(req, match, identity, url, false);
    if (verdict) {
      count(verdict.status);
      if (verdict.status === 302) sendRedirect(res, verdict.location);
      else sendError(req, res, 403, verdict.message);
      return;
    }
    const route = match.route;
    if (!route) {
      notRunning(req, res, match.user, match.candidate);
      return;
    }
    const path = stripTokenParam(url);
    if (match.bare) {
      // `/user/alice/work` → `/user/alice/work/`: the server only answers under its base_url with the slash.
      const q = path.indexOf("?");
      count(302);
      sendRedirect(res, q === -1 ? route.prefix : route.prefix + path.slice(q));
      return;
    }
    onActivity(route.user, route.serverName);
    forwardHttp(req, res, route, path);
  };

  const middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    const url = (req as ProxiedRequest).originalUrl ?? req.url ?? "/";
    const q = url.indexOf("?");
    const match = routes.lookup(q === -1 ? url : url.slice(0, q));
    if (!match) {
      next();
      return;
    }
    dropServerToken(req, match.route);
    authenticate(req).then(
      (identity) => serveHttp(req, res, url, match, identity),
      (err: unknown) => next(err),
    ).catch((err: unknown) => {
      if (!res.headersSent) next(err);
      else res.destroy();
    });
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const match = routes.lookup(q === -1 ? url : url.slice(0, q));
    if (!match) return false;
    dropServerToken(req, match.route);
    // Until the sockets are spliced nobody else listens for errors on this socket; an unhandled one would crash.
    socket.on("error", () => socket.destroy());
    authenticate(req)
      .then(async (identity) => {
        if (socket.destroyed) return;
        const verdict = await judge(req, match, identity, url, true);
        if (socket.destroyed) return;
        if (verdict) {
          count(403);
          rejectUpgrade(socket, 403, verdict.status === 403 ? verdict.message : "authentication required");
          return;
        }
        const route = match.route;
        if (!route) {
          count(503);
          rejectUpgrade(socket, 503, `${match.user} has no running server at this address`);
          return;
        }
        onActivity(route.user, route.serverName);
        upgrades.forward(req, socket, head, route, stripTokenParam(url), identity!.name);
      })
      .catch((err: unknown) => {
        logger?.error({ err }, "proxy: upgrade failed");
        count(500);
        rejectUpgrade(socket, 500, "internal error");
      });
    return true;
  };

  const listener = (app: (req: IncomingMessage, res: ServerResponse) => void) => {
    const base = routes.basePath;
    return (req: IncomingMessage, res: ServerResponse): void => {
      if (!req.url?.startsWith(base)) {
        app(req, res);
        return;
      }
      middleware(req, res, (err) => {
        if (err === undefined) {
          app(req, res);
          return;
        }
        logger?.error({ err }, "proxy: request failed");
        sendError(req, res, 500, "internal error");
      });
    };
  };

  return {
    middleware,
    listener,
    handleUpgrade,
    get openWebSockets() {
      return upgrades.openConnections;
    },
    async recheckWebSockets(user: string, serverName: string, stillAllowed: (openedBy: string) => Promise<boolean>): Promise<number> {
      let closed = 0;
      for (const [socket, ws] of upgrades.connections()) {
        if (ws.user !== user || ws.serverName !== serverName || ws.openedBy === user) continue;
        if (await stillAllowed(ws.openedBy)) continue;
        upgrades.close(socket);
        closed++;
      }
      return closed;
    },
    close() {
      upgrades.closeAll();
      agent.destroy();
    },
  };
}
