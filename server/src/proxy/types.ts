/**
 * The seams of the user-server proxy. The proxy knows nothing about the database, sessions or tokens: the hub
 * injects how to authenticate a request, which origins are its own, where to send people to sign in and what to
 * show for a server that is not running.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Counter } from "prom-client";
import type { RouteTable } from "./routes.js";

/** Who made a request and how they proved it (structurally the hub's `Principal`). */
export interface ProxyIdentity {
  name: string;
  admin: boolean;
  /** "cookie": a browser session, which needs XSRF proof for writes; "token": an API token. */
  via: "cookie" | "token";
}

/** A request or upgrade the proxy refused. */
export interface ProxyRefusal {
  req: IncomingMessage;
  identity: ProxyIdentity | undefined;
  user: string;
  serverName: string;
  message: string;
  upgrade: boolean;
}

/** The subset of a pino logger the proxy uses. */
export interface ProxyLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface UserProxyOptions {
  /** The live routes; the servers module adds one when a server is ready and removes it when it stops. */
  routes: RouteTable;
  /** Resolves the requester from the hub's session cookie or API token; undefined when anonymous. */
  authenticate(req: IncomingMessage): Promise<ProxyIdentity | undefined>;
  /**
   * Whether `origin` (an Origin header, or the origin of a Referer) is the hub's own. The proxy refuses any request
   * or upgrade carrying another origin, because jupyter-server trusts every request the proxy makes.
   */
  isAllowedOrigin(origin: string, req: IncomingMessage): boolean;
  /** The hub's own cookies (session, hub XSRF …): never forwarded to user servers, never set by them. */
  hubCookieNames: string[];
  /** The sign-in page for an anonymous browser, returning there afterwards (`nextPath` is path + query). */
  loginUrl(nextPath: string): string;
  /**
   * Called for every proxied request and every WebSocket data chunk in either direction, so it must be cheap (the
   * hub throttles database writes). `serverName` is "" for the default server.
   */
  onActivity(user: string, serverName: string): void;
  /**
   * Answers an authorised HTTP request for which no route exists. `serverName` is only the candidate taken from the
   * path (the segment after the user name, or ""): when the user has no server of that name, the request was for a
   * path inside the default server. WebSocket upgrades without a route get a 503 from the proxy itself.
   */
  notRunning(req: IncomingMessage, res: ServerResponse, user: string, serverName: string): void;
  /**
   * Who else may use a server: its owner and admins always may; this is asked about anyone else (people it is
   * shared with). Default: nobody. Called with the decoded names from the path, before the proxy reveals whether
   * the server exists.
   */
  canAccess?(identity: ProxyIdentity, user: string, serverName: string): boolean | Promise<boolean>;
  /**
   * Told of every request or upgrade the proxy refuses (403; not the anonymous browser sent to sign in), with the
   * names from the path and the refusal's words: the audit trail keeps them. Never called on the request path of
   * a request that passes.
   */
  onRefused?(refusal: ProxyRefusal): void;
  metrics?: {
    /** Incremented once per request/upgrade answered; labelled by status code when it has a "status" label. */
    proxiedRequests?: Counter<string>;
  };
  logger?: ProxyLogger;
  /** How long to wait for a TCP connection to a server before answering 503 (default 10 s). */
  connectTimeoutMs?: number;
}

/** The request/response pair handed around internally; `originalUrl` is set by Express when mounted on a path. */
export type ProxiedRequest = IncomingMessage & { originalUrl?: string };
