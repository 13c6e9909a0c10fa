/**
 * Header and URL rewriting between the browser and a user's server. The rules, all security-relevant:
 *  - the client's `Authorization` and any `token` query parameter are removed (jupyter-server reads `?token=` before
 *    the header, so a stale or foreign one would win) and the server's own token is injected;
 *  - the hub's cookies never reach a server; other cookies (the server's `_xsrf`) pass;
 *  - a server may not set the hub's cookies, and its per-server `username-…` login cookies are dropped: the hub is
 *    the only authority over who is signed in; the cookies it may set are confined to its own path prefix;
 *  - hop-by-hop headers stay on their hop; Host is kept so the server's redirects stay on the hub.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Route } from "./routes.js";

/** Request headers that never cross the proxy (hop-by-hop, or credentials meant for the hub). */
const DROP_REQUEST = new Set([
  "authorization",
  "proxy-authorization",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
]);

/** Response headers that describe the server→proxy hop; Node frames the proxy→client hop itself. */
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "upgrade"]);

/** Connection tokens that are not header names (anything else listed in Connection is hop-by-hop too). */
const CONNECTION_OPTIONS = new Set(["keep-alive", "close", "upgrade"]);

/** Knows the hub's cookie names; strips them from requests and refuses to let servers set them. */
export class CookieFilter {
  private readonly names: Set<string>;
  private readonly list: string[];

  constructor(hubCookieNames: readonly string[]) {
    this.list = hubCookieNames.filter((n) => n.length > 0);
    this.names = new Set(this.list);
  }

  /** The Cookie header without the hub's cookies; undefined when nothing is left. */
  strip(header: string): string | undefined {
    // Fast path: most requests carry the session cookie, but a header with none of the names is passed as is.
    if (!this.list.some((n) => header.includes(n))) return header;
    const kept: string[] = [];
    for (const part of header.split(";")) {
      const pair = part.trim();
      if (!pair) continue;
      const eq = pair.indexOf("=");
      const name = eq === -1 ? pair : pair.slice(0, eq).trim();
      if (!this.names.has(name)) kept.push(pair);
    }
    return kept.length > 0 ? kept.join("; ") : undefined;
  }

  /**
   * A server's Set-Cookie line as the browser may see it, or undefined to drop it. The hub's cookies and
   * jupyter-server's `username-…` login cookies are dropped; a Path outside the server's own prefix is confined to
   * it and a Domain attribute removed, so one server cannot plant cookies for the hub or for another server.
   */
  setCookie(line: string, prefix: string): string | undefined {
    const eq = line.indexOf("=");
    const name = (eq === -1 ? line : line.slice(0, eq)).trim();
    if (name.startsWith("username-") || this.names.has(name)) return undefined;
    return SCOPE_ATTRIBUTE.test(line) ? confine(line, prefix) : line;
  }
}

const SCOPE_ATTRIBUTE = /;\s*(path|domain)\s*=/i;

function confine(line: string, prefix: string): string {
  const [pair, ...attributes] = line.split(";");
  const kept = [pair!.trim()];
  for (const attribute of attributes) {
    const a = attribute.trim();
    const eq = a.indexOf("=");
    const key = (eq === -1 ? a : a.slice(0, eq)).trim().toLowerCase();
    if (key === "domain") continue;
    if (key === "path") {
      const path = a.slice(eq + 1).trim();
      kept.push(path.startsWith(prefix) || path === prefix.slice(0, -1) ? `Path=${path}` : `Path=${prefix}`);
      continue;
    }
    if (a) kept.push(a);
  }
  return kept.join("; ");
}

/** Every value of cookie `name` in a Cookie header (browsers send one per matching path, most specific first). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header || !header.includes(name)) return [];
  const values: string[] = [];
  for (const part of header.split(";")) {
    const pair = part.trim();
    const eq = pair.indexOf("=");
    // Raw values, quotes included: the page's script reads document.cookie verbatim and echoes it in the header.
    if (eq !== -1 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}

function isTokenParam(part: string): boolean {
  const eq = part.indexOf("=");
  let name = eq === -1 ? part : part.slice(0, eq);
  if (name === "token") return true;
  if (!name.includes("%") && !name.includes("+")) return false;
  // The server decodes parameter names, so `%74oken` is `token` too.
  name = name.replace(/\+/g, " ");
  try {
    return decodeURIComponent(name) === "token";
  } catch {
    return false;
  }
}

/** The request URL (path + query) without `token` query parameters. */
export function stripTokenParam(url: string): string {
  const q = url.indexOf("?");
  if (q === -1) return url;
  const query = url.slice(q + 1);
  if (!query.includes("oken") && !query.includes("%")) return url;
  const parts = query.split("&");
  const kept = parts.filter((p) => !isTokenParam(p));
  if (kept.length === parts.length) return url;
  return kept.length > 0 ? `${url.slice(0, q)}?${kept.join("&")}` : url.slice(0, q);
}

/** Removes the headers a client lists in `Connection` (they are hop-by-hop by definition). Never Host. */
function dropConnectionListed(out: OutgoingHttpHeaders, connection: string): void {
  for (const token of connection.toLowerCase().split(",")) {
    const name = token.trim();
    if (name && !CONNECTION_OPTIONS.has(name) && name !== "host") delete out[name];
  }
}

export interface ForwardingContext {
  cookies: CookieFilter;
  /** Keep X-Forwarded-* from the client (the hub sits behind a trusted ingress); otherwise they are replaced. */
  trustProxy: boolean;
}

/** The headers to send to the server for `req`; `upgrade` keeps the WebSocket handshake headers. */
export function forwardRequestHeaders(
  req: IncomingMessage,
  route: Route,
  ctx: ForwardingContext,
  upgrade: boolean,
): OutgoingHttpHeaders {
  const src: IncomingHttpHeaders = req.headers;
  const out: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (DROP_REQUEST.has(name)) continue;
    const value = src[name];
    if (value === undefined) continue;
    if (name === "cookie") {
      const kept = ctx.cookies.strip(value as string);
      if (kept !== undefined) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }
  const connection = src.connection;
  if (connection && connection !== "keep-alive" && connection !== "close") dropConnectionListed(out, connection);
  if (upgrade) {
    out.connection = "Upgrade";
    out.upgrade = src.upgrade ?? "websocket";
  }
  out.authorization = route.authorization;
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const remote = req.socket.remoteAddress ?? "";
  const xff = ctx.trustProxy ? src["x-forwarded-for"] : undefined;
  out["x-forwarded-for"] = xff ? `${xff}, ${remote}` : remote;
  out["x-forwarded-proto"] = (ctx.trustProxy && src["x-forwarded-proto"]) || (encrypted ? "https" : "http");
  const host = (ctx.trustProxy && src["x-forwarded-host"]) || src.host;
  if (host) out["x-forwarded-host"] = host;
  return out;
}

/** The server's response headers for the client: hop-by-hop removed, cookies filtered and confined to `prefix`. */
export function forwardResponseHeaders(res: IncomingMessage, cookies: CookieFilter, prefix: string): OutgoingHttpHeaders {
  const src = res.headers;
  const out: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (DROP_RESPONSE.has(name)) continue;
    const value = src[name];
    if (value === undefined) continue;
    if (name === "set-cookie") {
      const kept: string[] = [];
      for (const line of value as string[]) {
        const cookie = cookies.setCookie(line, prefix);
        if (cookie !== undefined) kept.push(cookie);
      }
      if (kept.length > 0) out["set-cookie"] = kept;
      continue;
    }
    out[name] = value;
  }
  return out;
}

/** The raw header block of a 101 Switching Protocols answer, cookies filtered (for writing to the client socket). */
export function switchingProtocolsHead(res: IncomingMessage, cookies: CookieFilter, prefix: string): string {
  let head = "HTTP/1.1 101 Switching Protocols\r\n";
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    let value: string | undefined = raw[i + 1]!;
    if (name.toLowerCase() === "set-cookie") value = cookies.setCookie(value, prefix);
    if (value !== undefined) head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}
