/**
 * Cross-site request defences for user servers. They live in the proxy because jupyter-server skips its own XSRF
 * and Origin checks for token-authenticated requests, and the proxy turns every browser request into one. Worse,
 * jupyter-server echoes any Origin in `Access-Control-Allow-Origin`, so a foreign page could read responses too.
 *
 * Rules (each refusal names its rule):
 *  - `origin`: a request or WebSocket upgrade that carries an `Origin` must come from the hub's own origin — any
 *    method, reads included, since browsers send Origin on every cross-origin fetch and the server would answer it
 *    with permissive CORS headers. `Origin: null` (sandboxed frames, opaque redirects) is foreign.
 *  - `referer`: a state-changing request without `Origin` but with a `Referer` must have been referred by the hub.
 *  - `xsrf`: a cookie-authenticated state-changing request must carry `X-XSRFToken` equal to an `_xsrf` cookie
 *    (JupyterLab sends exactly that; the cookie is set by the server itself, through the proxy).
 *
 * Why double-submit suffices here: the session cookie is SameSite=Lax, so cross-site subresource requests do not
 * carry it at all; what remains are same-site-but-cross-origin pages (sibling subdomains) and browsers that ignore
 * SameSite. Such a page cannot read the `_xsrf` cookie (same-origin policy), and it cannot attach a custom
 * `X-XSRFToken` header to a cross-origin request without a CORS preflight — which carries its Origin and is refused
 * by the `origin` rule. Even a page that plants its own `_xsrf` cookie (cookie tossing from a sibling domain) still
 * cannot send the matching header. HTML forms can send neither headers nor a chosen Origin. Token-authenticated
 * requests carry no ambient credential, so they need no XSRF proof, but keep the Origin rules.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { cookieValues } from "./headers.js";

export interface Refusal {
  rule: "origin" | "referer" | "xsrf";
  message: string;
}

/** The cookie jupyter-server (tornado) uses for XSRF double-submit. */
export const SERVER_XSRF_COOKIE = "_xsrf";

/** Methods that may change state. Anything but the safe methods counts, including unknown ones. */
export function isStateChanging(method: string | undefined): boolean {
  return method !== "GET" && method !== "HEAD" && method !== "OPTIONS";
}

function refererOrigin(referer: string): string {
  try {
    return new URL(referer).origin;
  } catch {
    return "null";
  }
}

/**
 * Checks Origin (every request) and, for state-changing requests and upgrades without Origin, Referer.
 * Undefined when the request may pass.
 */
export function checkOrigin(
  req: IncomingMessage,
  isAllowedOrigin: (origin: string, req: IncomingMessage) => boolean,
  stateChanging: boolean,
): Refusal | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (isAllowedOrigin(origin, req)) return undefined;
    return {
      rule: "origin",
      message: `Origin ${origin} may not use user servers: requests must come from the hub's own pages`,
    };
  }
  if (!stateChanging) return undefined;
  const referer = req.headers.referer;
  if (referer === undefined) return undefined;
  const from = refererOrigin(referer);
  if (isAllowedOrigin(from, req)) return undefined;
  return {
    rule: "referer",
    message: `a ${req.method ?? "request"} referred by ${from} may not use user servers: requests must come from the hub's own pages`,
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Double-submit check for cookie-authenticated writes. Undefined when the request may pass. */
export function checkXsrf(req: IncomingMessage): Refusal | undefined {
  const header = req.headers["x-xsrftoken"] ?? req.headers["x-csrftoken"];
  const token = Array.isArray(header) ? header[0] : header;
  if (token) {
    for (const value of cookieValues(req.headers.cookie, SERVER_XSRF_COOKIE)) {
      if (value && sameSecret(value, token)) return undefined;
    }
  }
  return {
    rule: "xsrf",
    message: `a ${req.method ?? "request"} signed in by cookie needs an X-XSRFToken header equal to the ${SERVER_XSRF_COOKIE} cookie`,
  };
}
