/**
 * The one place errors become HTTP. Domain errors carry their status; anything else is a 500 whose details go to
 * the log only. Body shape (JupyterHub's `{status, message}` plus Ganymede's fields):
 * `{ status, message, error, detail?, validations? }`.
 */
import type { ErrorRequestHandler } from "express";
import { HubError, InputError, RateLimitedError } from "../errors.js";
import type { Logger } from "../lib/logger.js";

export function errorBody(err: HubError): Record<string, unknown> {
  const body: Record<string, unknown> = { status: err.status, message: err.message, error: err.code };
  if (err.detail) body.detail = err.detail;
  if (err instanceof InputError && err.validations.length) body.validations = err.validations;
  return body;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HubError) {
      res.locals.error = err; // for the audit trail (audit/requests.ts)
      if (err instanceof RateLimitedError) res.setHeader("Retry-After", String(err.retryAfterSeconds));
      if (err.status >= 500) logger.error({ err, path: req.path }, err.message);
      res.status(err.status).json(errorBody(err));
      return;
    }
    // body-parser errors (malformed JSON, too large) carry a status of their own.
    const status = (err as { status?: number }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      res.status(status).json({ status, message: (err as Error).message, error: "invalid_input" });
      return;
    }
    logger.error({ err, path: req.path, method: req.method }, "unhandled error");
    res.status(500).json({ status: 500, message: "internal error; the hub's log has the details", error: "internal" });
  };
}
