/**
 * Express glue for authentication and CSRF: attach the principal, require one, and enforce the CSRF rules of
 * auth/csrf.ts on cookie-authenticated writes to the hub's own endpoints.
 */
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import { parseCookie } from "cookie";
import { ForbiddenError, UnauthenticatedError } from "../errors.js";
import type { Identifier } from "../auth/identify.js";
import type { Principal } from "../auth/principal.js";
import { SAFE_METHODS, requestOrigin, xsrfTokenFor } from "../auth/csrf.js";
import { XSRF_COOKIE } from "../auth/sessions.js";
import type { SecretBox } from "../lib/secrets.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by attachPrincipal: who made the request, if anyone. */
      principal?: Principal;
    }
  }
}

export function attachPrincipal(identifier: Identifier): RequestHandler {
  return async (req, _res, next) => {
    req.principal = await identifier.identify(req);
    next();
  };
}

/** 403 like JupyterHub's API when nobody is signed in (401 would invite browsers' basic-auth prompts). */
export const requirePrincipal: RequestHandler = (req, _res, next) => {
  if (!req.principal) throw new ForbiddenError("authentication required: send `Authorization: token <token>` or sign in");
  next();
};

export function requireAdmin(req: { principal?: Principal }): Principal {
  const p = req.principal;
  if (!p) throw new UnauthenticatedError("authentication required");
  if (!p.admin) throw new ForbiddenError("this action needs an administrator");
  return p;
}

export function csrfGuard(secrets: SecretBox, isAllowedOrigin: (origin: string, req: IncomingMessage) => boolean): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = requestOrigin(req);
    if (origin !== undefined && !isAllowedOrigin(origin, req)) {
      throw new ForbiddenError(`cross-origin request refused: origin ${origin} is not this hub`);
    }
    const p = req.principal;
    if (p?.via === "cookie") {
      const header = req.get("x-xsrftoken") ?? (req.body as { _xsrf?: unknown } | undefined)?._xsrf;
      const cookie = parseCookie(req.headers.cookie ?? "")[XSRF_COOKIE];
      const expected = xsrfTokenFor(secrets, p.sessionId!);
      if (typeof header !== "string" || header !== cookie || header !== expected) {
        throw new ForbiddenError("XSRF check failed: send the X-XSRFToken header with the value of the ganymede-xsrf cookie");
      }
    }
    next();
  };
}
