/**
 * Asks a Jupyter server whether it is up: `GET <endpoint><baseUrl>api/status` with its token. Uses node:http with a
 * hard per-request timeout because a fetch() to a port that is still resetting connections was seen to never settle.
 */
import http from "node:http";
import { endpointAddress } from "../lib/endpoint.js";

export interface JupyterStatus {
  last_activity?: string;
  started?: string;
  connections?: number;
  kernels?: number;
}

/** Resolves the parsed /api/status, or undefined when the server does not answer 200 within `timeoutMs`. */
export function fetchStatus(endpoint: string, baseUrl: string, token: string, timeoutMs = 2000): Promise<JupyterStatus | undefined> {
  const address = endpointAddress(endpoint);
  return new Promise((resolve) => {
    const req = http.get(
      {
        ...address,
        path: `${baseUrl}api/status?no_track_activity=1`,
        headers: { authorization: `token ${token}` },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) return resolve(undefined);
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as JupyterStatus);
          } catch {
            resolve(undefined);
          }
        });
        res.on("error", () => resolve(undefined));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** Waits `ms`, or less if `signal` aborts; its listener goes with the wait (a long readiness loop adds one per try). */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
