/**
 * The one way the dashboard talks to the hub: fetch under /hub/api with the session cookie, JSON in and out, and the
 * `ganymede-xsrf` cookie's value as `X-XSRFToken` on every write. Failures become `ApiError`s whose message is the
 * hub's own sentence (see `errorMessage`).
 */

const API_BASE = "/hub/api";
const XSRF_COOKIE = "ganymede-xsrf";

/** The hub's error body (openapi.yaml, `Error`). */
export interface HubErrorBody {
  status: number;
  message: string;
  error: string;
  detail?: { reasons?: { rule: string; policy: string; message: string }[]; reason?: string };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly kind: string,
    readonly body?: HubErrorBody,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A cookie's value as the page can read it (not the httpOnly ones), or undefined. */
export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

function isHubError(body: unknown): body is HubErrorBody {
  return typeof body === "object" && body !== null && typeof (body as HubErrorBody).message === "string";
}

/**
 * The one place an API failure becomes words for the person: a policy refusal shows every reason the hub gave (each
 * a sentence naming the numbers), any other hub error its `message`, anything else a generic sentence with the status.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "The hub could not be reached. Check your connection and try again.";
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

function messageFor(status: number, body: unknown): string {
  if (isHubError(body)) {
    const reasons = body.error === "policy_denied" ? (body.detail?.reasons ?? []) : [];
    const sentences = reasons.map((r) => r.message).filter((m) => m !== body.message);
    return [body.message, ...sentences].join(" ");
  }
  if (status === 403) return "You are not signed in, or your session has expired. Sign in again.";
  return `The hub answered ${status}.`;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
}

/** Calls `path` (relative to /hub/api, e.g. `/user`) and returns the parsed JSON body, or undefined when empty. */
export function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? "GET";
  const xsrf = method === "GET" ? undefined : readCookie(XSRF_COOKIE);
  return hubRequest<T>(`${API_BASE}${path}`, { ...options, xsrf });
}

/**
 * Calls any of the hub's JSON endpoints (`url` is a path on the hub) with the session cookie; `xsrf` is sent as
 * `X-XSRFToken`. Failures throw `ApiError` with the hub's own sentence.
 */
export async function hubRequest<T>(url: string, options: RequestOptions & { xsrf?: string } = {}): Promise<T> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.xsrf) headers["X-XSRFToken"] = options.xsrf;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const kind = isHubError(parsed) ? parsed.error : "http";
    throw new ApiError(messageFor(response.status, parsed), response.status, kind, isHubError(parsed) ? parsed : undefined);
  }
  return parsed as T;
}

/** Where the browser signs in again, coming back to the page it is on. */
export function signInUrl(): string {
  return `/hub/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}
