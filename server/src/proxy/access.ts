/**
 * Who may pass the proxy, and how a refusal is phrased for browsers versus API clients.
 */
import type { IncomingMessage } from "node:http";
import type { ProxyIdentity } from "./types.js";

/** A page load in a browser: the one case where an anonymous request is sent to sign in rather than refused. */
export function isBrowserNavigation(req: IncomingMessage): boolean {
  return (req.method === "GET" || req.method === "HEAD") && wantsHtml(req);
}

/** The client prefers an HTML answer (a browser) over JSON (fetch, scripts). */
export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes("text/html");
}

/** Default rule: a server is used by its owner, or by an admin. */
export function ownerOrAdmin(identity: ProxyIdentity, user: string): boolean {
  return identity.admin || identity.name === user;
}

/** The human description of a server in messages: `alice's server "work"` or `alice's default server`. */
export function describeServer(user: string, serverName: string): string {
  return serverName ? `${user}'s server "${serverName}"` : `${user}'s default server`;
}
