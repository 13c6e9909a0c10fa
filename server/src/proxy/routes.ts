/**
 * The proxy's routing table: which running server answers under `/user/<name>/<server>/` (named server) or
 * `/user/<name>/` (default server). Kept in memory only; the servers module adds a route when a server becomes
 * ready (or is restored after a hub restart) and removes it when the server stops.
 *
 * Lookup is O(1): the path's first two segments after the base path are decoded and looked up in two maps, the
 * named server first (longest prefix wins, as in configurable-http-proxy's trie), then the default server.
 */
import { endpointAddress, type EndpointAddress } from "../lib/endpoint.js";

export interface RouteSpec {
  /** The owner's name, decoded (as stored in the database). */
  user: string;
  /** "" for the default server. */
  serverName: string;
  /** Where the server listens: `http://host:port` or `http+unix://<socket path>` (lib/endpoint.ts). */
  target: string;
  /** The server's own API token, injected into every forwarded request. Never logged. */
  token: string;
}

export interface Route extends Readonly<RouteSpec> {
  /** The public path prefix with its trailing slash, e.g. `/user/alice/work/` (the server's `base_url`). */
  readonly prefix: string;
  /** How node:http reaches the server: `socketPath`, or `host` + `port`. */
  readonly address: EndpointAddress;
  /** `token <token>`, precomputed for the hot path. */
  readonly authorization: string;
}

export interface RouteMatch {
  /** The decoded user segment of the path. */
  user: string;
  /** The decoded segment after the user ("" if none): a server name only if such a route exists. */
  candidate: string;
  /** The longest-prefix route for the path, if any server of this user is routed. */
  route: Route | undefined;
  /** The path ends exactly at the route's prefix without its trailing slash (`/user/alice/work`). */
  bare: boolean;
}

/**
 * Escapes a name as one path segment the way browsers leave it (as JupyterHub does, `@` stays readable), so the
 * prefix handed to a server as its `base_url` is the path browsers actually send.
 */
export function escapePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%40/g, "@");
}

/** The public prefix of a server, with trailing slash. `basePath` is the proxy's base, e.g. `/user/`. */
export function routePrefix(basePath: string, user: string, serverName: string): string {
  const named = serverName ? `${escapePathSegment(serverName)}/` : "";
  return `${basePath}${escapePathSegment(user)}/${named}`;
}

/** Decodes one path segment; undefined when malformed or when it would not be a single segment. */
function decodeSegment(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  try {
    const decoded = decodeURIComponent(raw);
    return decoded.includes("/") ? undefined : decoded;
  } catch {
    return undefined;
  }
}

export class RouteTable {
  /** user → server name ("" = default) → route */
  private readonly byUser = new Map<string, Map<string, Route>>();

  /** @param basePath where user servers live, with leading and trailing slash (default `/user/`). */
  constructor(readonly basePath: string = "/user/") {
    if (!basePath.startsWith("/") || !basePath.endsWith("/")) {
      throw new Error(`proxy base path must start and end with "/": ${basePath}`);
    }
  }

  /** Adds or replaces the route of `spec.user`'s server `spec.serverName`. */
  add(spec: RouteSpec): Route {
    if (!spec.user) throw new Error("a route needs a user name");
    const address = endpointAddress(spec.target);
    const route: Route = Object.freeze({
      user: spec.user,
      serverName: spec.serverName,
      target: spec.target,
      token: spec.token,
      prefix: routePrefix(this.basePath, spec.user, spec.serverName),
      address,
      authorization: `token ${spec.token}`,
    });
    let servers = this.byUser.get(spec.user);
    if (!servers) {
      servers = new Map();
      this.byUser.set(spec.user, servers);
    }
    servers.set(spec.serverName, route);
    return route;
  }

  /** Removes a route; true if it existed. Open connections through it are not cut. */
  remove(user: string, serverName: string): boolean {
    const servers = this.byUser.get(user);
    if (!servers?.delete(serverName)) return false;
    if (servers.size === 0) this.byUser.delete(user);
    return true;
  }

  get(user: string, serverName: string): Route | undefined {
    return this.byUser.get(user)?.get(serverName);
  }

  /** Every route (for the admin API and diagnostics). */
  all(): Route[] {
    const out: Route[] = [];
    for (const servers of this.byUser.values()) out.push(...servers.values());
    return out;
  }

  get size(): number {
    let n = 0;
    for (const servers of this.byUser.values()) n += servers.size;
    return n;
  }

  /**
   * Resolves a request path (without query string). Undefined when the path is not `<base><user>[/…]` with a
   * well-formed user segment; otherwise the decoded names and the matching route, if any.
   */
  lookup(pathname: string): RouteMatch | undefined {
    const base = this.basePath;
    if (!pathname.startsWith(base)) return undefined;
    const userStart = base.length;
    const userEnd = pathname.indexOf("/", userStart);
    const user = decodeSegment(userEnd === -1 ? pathname.slice(userStart) : pathname.slice(userStart, userEnd));
    if (!user) return undefined;
    let candidate = "";
    let serverEnd = -1;
    if (userEnd !== -1) {
      serverEnd = pathname.indexOf("/", userEnd + 1);
      const raw = serverEnd === -1 ? pathname.slice(userEnd + 1) : pathname.slice(userEnd + 1, serverEnd);
      const decoded = decodeSegment(raw);
      if (decoded === undefined) return undefined;
      candidate = decoded;
    }
    const servers = this.byUser.get(user);
    if (!servers) return { user, candidate, route: undefined, bare: false };
    if (candidate) {
      const named = servers.get(candidate);
      if (named) return { user, candidate, route: named, bare: serverEnd === -1 };
    }
    return { user, candidate, route: servers.get(""), bare: userEnd === -1 };
  }
}
