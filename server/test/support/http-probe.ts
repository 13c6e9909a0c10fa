/**
 * Small HTTP helpers on node:http with hard timeouts (a global fetch() to a port that is still resetting connections
 * was seen to never settle). URLs may be `http://host:port/path` or a server endpoint on a Unix socket followed by
 * the path, `http+unix://<percent-encoded socket path>/path` (what the local spawner returns).
 */
import http from "node:http";
import { endpointAddress } from "../../src/lib/endpoint.js";

/** Where to connect and which path to ask for. */
function target(url: string): http.RequestOptions {
  if (url.startsWith("http+unix://")) {
    const slash = url.indexOf("/", "http+unix://".length);
    const origin = slash === -1 ? url : url.slice(0, slash);
    return { ...endpointAddress(origin), path: slash === -1 ? "/" : url.slice(slash) };
  }
  const u = new URL(url);
  return { ...endpointAddress(u.origin), path: u.pathname + u.search };
}

export interface ProbeResponse {
  status: number;
  body: string;
}

/** One request; rejects on connection errors or after `timeoutMs`. */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<ProbeResponse> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...target(url),
        method: options.method ?? "GET",
        headers: { ...(body ? { "content-type": "application/json" } : {}), ...options.headers },
        timeout: options.timeoutMs ?? 2000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${options.timeoutMs ?? 2000} ms: ${url}`)));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Polls `url` until it answers 200; resolves with the milliseconds it took. Rejects after `timeoutMs` with the last
 * problem seen.
 */
export async function waitForOk(
  url: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 30_000);
  let last = "no attempt";
  for (;;) {
    try {
      const res = await request(url, { headers: options.headers, timeoutMs: 1000 });
      if (res.status === 200) return Date.now() - started;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`${url} not ready after ${options.timeoutMs ?? 30_000} ms: ${last}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
