/**
 * Cross-site request forgery defences for the hub's own endpoints (the proxy has its own for user servers).
 * Two checks, both required for cookie-authenticated writes:
 *  - Origin (or Referer) must be the hub's own origin when present;
 *  - the X-XSRFToken header (or `_xsrf` form field) must equal the XSRF cookie, whose value is an HMAC of the
 *    session id, so a token minted for one session is useless in another.
 * Requests authenticated by an API token carry no ambient authority and need only the Origin check.
 */
import type { IncomingMessage } from "node:http";
import type { SecretBox } from "../lib/secrets.js";

export const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function xsrfTokenFor(secrets: SecretBox, sessionIdOrNonce: string): string {
  return `${sessionIdOrNonce.slice(0, 16)}.${secrets.sign(`xsrf:${sessionIdOrNonce}`)}`;
}

/** The request's Origin, falling back to the origin of its Referer; undefined when it has neither. */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin && origin !== "null") return origin;
  if (origin === "null") return "null";
  const referer = req.headers.referer;
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "null";
  }
}

/** The origins the hub answers as: its public URL and the Host the request came to. */
export function createOriginCheck(publicOrigins: string[], trustProxy: boolean) {
  const fixed = new Set(publicOrigins.map((o) => new URL(o).origin));
  return (origin: string, req: IncomingMessage): boolean => {
    if (fixed.has(origin)) return true;
    const host = req.headers.host;
    if (!host) return false;
    const forwardedProto = trustProxy ? String(req.headers["x-forwarded-proto"] ?? "").split(",")[0]?.trim() : "";
    const scheme = forwardedProto || ((req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
    return origin === `${scheme}://${host}`;
  };
}
