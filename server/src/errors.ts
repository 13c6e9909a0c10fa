/**
 * Domain errors. Services throw these; one HTTP error handler (http/error-handler.ts) maps them to status codes and
 * to the single JSON error shape `{ status, message, error, detail?, validations? }`.
 * `message` is written for the person who made the request; it never contains secrets.
 */

export interface FieldProblem {
  field: string;
  detail: string;
}

export abstract class HubError extends Error {
  abstract readonly status: number;
  /** Machine-readable error kind, e.g. "policy_denied". */
  abstract readonly code: string;
  constructor(
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request itself is malformed or names something invalid. */
export class InputError extends HubError {
  readonly status = 400;
  readonly code = "invalid_input";
  constructor(
    message: string,
    readonly validations: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export class UnauthenticatedError extends HubError {
  readonly status = 401;
  readonly code = "unauthenticated";
}

export class ForbiddenError extends HubError {
  readonly status = 403;
  readonly code = "forbidden";
}

export class NotFoundError extends HubError {
  readonly status = 404;
  readonly code = "not_found";
}

/** Creating something that already exists. */
export class AlreadyExistsError extends HubError {
  readonly status = 409;
  readonly code = "already_exists";
}

/** The resource exists but is in a state that does not allow the request (e.g. starting a running server). */
export class ConflictError extends HubError {
  readonly status = 400;
  readonly code = "conflict";
}

export interface PolicyReason {
  /** The rule that decided, e.g. "named_servers" or "server_name_length". */
  rule: string;
  /** The policy file (by name) the limit came from. */
  policy: string;
  /** The human sentence: "alice already has 5 named servers; policy `default` allows 5". */
  message: string;
  limit?: number | string;
  value?: number | string;
  /** Quotas: how much is in use, and how much the request asks for (limit is the quota). */
  used?: number;
  requested?: number;
}

/** A policy refused the request. `reasons` name the rules and numbers. */
export class PolicyDenied extends HubError {
  readonly status = 400;
  readonly code = "policy_denied";
  constructor(readonly reasons: PolicyReason[]) {
    super(reasons.map((r) => r.message).join("; "), { reasons });
  }
}

export class RateLimitedError extends HubError {
  readonly status = 429;
  readonly code = "rate_limited";
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A dependency (directory, database, backend) could not be reached. */
export class UnavailableError extends HubError {
  readonly status = 503;
  readonly code = "unavailable";
}

/**
 * A server failed to start. `userMessage` is shown to the user; `logMessage` (may include process output) is
 * logged only.
 */
export class SpawnError extends HubError {
  readonly status = 500;
  readonly code = "spawn_failed";
  constructor(
    readonly reason: "timeout" | "exited" | "backend" | "http" | "unexpected" | "policy",
    readonly userMessage: string,
    readonly logMessage: string = userMessage,
  ) {
    super(userMessage, { reason });
  }
}

/**
 * The one wording of "the server process ended before it was ready", whichever backend or stage noticed it: exit code
 * (with what the backend knows about why, e.g. an out-of-memory kill) and the last lines of its log.
 */
export function exitedDuringStart(exitCode: number | null | undefined, logTail: readonly string[], why = ""): SpawnError {
  const code = exitCode ?? "unknown";
  const head = `The Jupyter server exited during its start (exit code ${code}${why ? `, ${why}` : ""}).`;
  const detail = logTail.length ? ["Last lines of its log:", ...logTail] : ["It wrote nothing to its log."];
  return new SpawnError("exited", [head, ...detail].join("\n"));
}

/**
 * A server made by another spawner backend than the hub runs now (an install switched from local processes to
 * Docker, or back): its processes and files are where that backend keeps them, so this hub can neither start, stop
 * nor delete it without losing work or leaving things behind. Refused per server; the hub itself runs on.
 */
export class ForeignServerError extends HubError {
  readonly status = 409;
  readonly code = "foreign_backend";
  constructor(identity: { user: string; serverName: string }, madeBy: string, current: string) {
    const server = identity.serverName ? `server "${identity.serverName}" of ${identity.user}` : `the default server of ${identity.user}`;
    const backend = `the ${madeBy} backend`;
    super(
      `${server} was made by ${backend}, and this hub now runs the ${current} backend, which cannot take it over: its ` +
        `processes and files stay where ${backend} keeps them. To keep its work, an administrator switches the hub ` +
        `back to ${madeBy}, stops the server and copies its files out, then deletes it there.`,
      { user: identity.user, server: identity.serverName, madeBy, current },
    );
  }
}
