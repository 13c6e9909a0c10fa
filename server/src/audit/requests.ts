/**
 * The REST API's part of the audit trail, in one place instead of a call in every route: when a response has been
 * sent, a request that changed (or tried to change) something is recorded with its principal, the user and server it
 * named, the outcome, and — refused — the error's code, message and reasons (the error handler leaves the error in
 * `res.locals.error`). Requests refused for want of rights (401, 403) are recorded whatever their method: someone
 * trying to reach another user's server is what an audit is for.
 *
 * Not recorded: servers reporting their activity (POST …/activity, minutes apart per server: noise, not action).
 */
import type { NextFunction, Request, Response } from "express";
import { HubError } from "../errors.js";
import type { AuditActorKind, AuditOutcome, AuditTrail } from "./trail.js";

/** Route (method and Express path) → action. A route not named here is recorded as "<METHOD> <path>". */
const ACTIONS: Record<string, string> = {
  "POST /users/:name/server": "server.start",
  "POST /users/:name/servers/:server": "server.start",
  "POST /users/:name/servers/": "server.start",
  "DELETE /users/:name/server": "server.stop",
  "DELETE /users/:name/servers/:server": "server.stop",
  "DELETE /users/:name/servers/": "server.stop",
  "PUT /users/:name/server/deadline": "server.extend",
  "POST /shares/:name/:server": "server.share",
  "POST /shares/:name/": "server.share",
  "PATCH /shares/:name/:server": "server.unshare",
  "PATCH /shares/:name/": "server.unshare",
  "DELETE /shares/:name/:server": "server.unshare",
  "DELETE /shares/:name/": "server.unshare",
  "DELETE /users/:name/shared/:owner/:server": "server.leave",
  "DELETE /users/:name/shared/:owner/": "server.leave",
  "PUT /users/:name/servers/:server/deadline": "server.extend",
  "POST /users": "user.create",
  "POST /users/:name": "user.create",
  "PATCH /users/:name": "user.update",
  "DELETE /users/:name": "user.delete",
  "POST /users/:name/tokens": "token.create",
  "DELETE /users/:name/tokens/:id": "token.revoke",
};

const NOT_RECORDED = new Set(["POST /users/:name/activity"]);
const READS = new Set(["GET", "HEAD", "OPTIONS"]);

export function auditRequests(trail: AuditTrail) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.once("finish", () => {
      const route = req.route ? `${req.method} ${(req.route as { path: string }).path}` : undefined;
      const denied = res.statusCode === 401 || res.statusCode === 403;
      if (route && NOT_RECORDED.has(route)) return;
      if (READS.has(req.method) && !denied) return;
      const principal = req.principal;
      // The route's parameters, read again from the URL: Express restores req.params on the way out of a router
      // (an error's way), so by now they may be gone.
      const params = route ? paramsOf((req.route as { path: string }).path, req.originalUrl) : {};
      const user = params.name ?? null;
      const body = (req.body ?? {}) as Record<string, unknown>;
      let action = route ? (ACTIONS[route] ?? route) : `${req.method} ${req.baseUrl}${req.path}`;
      // JupyterHub's delete of a named server is a DELETE with {"remove": true}.
      if (action === "server.stop" && body.remove === true) action = "server.delete";
      const outcome: AuditOutcome = res.statusCode < 400 ? "ok" : res.statusCode >= 500 ? "failed" : "refused";
      const actorKind: AuditActorKind = !principal ? "anonymous" : principal.admin && principal.name !== user ? "admin" : "user";
      void trail.record({
        actor: principal?.name ?? "anonymous",
        actorKind,
        action,
        user,
        server: action.startsWith("server.") ? (params.server ?? "") : null,
        outcome,
        status: res.statusCode,
        detail: detailOf(action, body, res.locals.error),
        address: req.ip ?? null,
      });
    });
    next();
  };
}

/** `:name` segments of an Express path (as the API's routes write them) matched against the end of the URL's path. */
function paramsOf(pattern: string, originalUrl: string): Record<string, string> {
  const want = pattern.split("/");
  const got = originalUrl.split("?")[0]!.split("/").slice(-want.length);
  const params: Record<string, string> = {};
  want.forEach((segment, i) => {
    if (segment.startsWith(":") && got[i] !== undefined) params[segment.slice(1)] = safeDecode(got[i]!);
  });
  return params;
}

/**
 * What is worth keeping besides the outcome: what the request asked for (a stop time, whom a server is shared with,
 * which fields an update touched: names only), and — refused — the error's code, message and reasons.
 */
function detailOf(action: string, body: Record<string, unknown>, error: unknown): Record<string, unknown> | undefined {
  const asked = askedFor(action, body);
  if (error instanceof HubError) {
    return { ...asked, error: error.code, message: error.message, ...(error.detail ? { detail: error.detail } : {}) };
  }
  return asked;
}

function askedFor(action: string, body: Record<string, unknown>): Record<string, unknown> | undefined {
  if (action === "server.extend" && typeof body.deadline === "string") return { deadline: body.deadline };
  if (action === "server.share" || action === "server.unshare") {
    if (typeof body.user === "string") return { user: body.user };
    if (typeof body.group === "string") return { group: body.group };
    return action === "server.unshare" ? { all: true } : undefined;
  }
  if (action === "user.update" || action === "user.create") {
    const fields = Object.keys(body).filter((k) => k !== "password");
    return fields.length ? { fields } : undefined;
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
