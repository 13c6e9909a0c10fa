/**
 * Small helpers over the Docker Engine API (dockerode, API 1.41): "not found" as a value, images present or pulled,
 * the servers' network, a container's last log lines.
 */
import type Docker from "dockerode";
import http from "node:http";
import { SpawnError } from "../errors.js";

/** The API version the spawner speaks: Debian bookworm's docker.io (20.10) and every later engine support it. */
export const API_VERSION = "v1.41";

/** dockerode rejects with the engine's HTTP status in `statusCode`. */
export function hasStatus(err: unknown, ...codes: number[]): boolean {
  return codes.includes((err as { statusCode?: number } | null)?.statusCode ?? -1);
}

/** The engine's error text without dockerode's "(HTTP code 404) no such container - " preamble. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(err);
}

/** Runs an inspect-like call; 404 → undefined. */
export async function orUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (hasStatus(err, 404)) return undefined;
    throw err;
  }
}

/** Ignores the given engine statuses (404 gone already, 304 already stopped, 409 removal in progress). */
export async function ignoring(codes: number[], call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!hasStatus(err, ...codes)) throw err;
  }
}

/**
 * Makes sure `image` is on the engine: present → nothing to do; missing → pulled from its registry (a Binder image
 * built on another engine, or removed locally since). Resolves true when it pulled.
 */
export async function ensureImage(
  docker: Docker,
  image: string,
  signal: AbortSignal,
  onStatus: (message: string) => void,
): Promise<boolean> {
  if (await orUndefined(() => docker.getImage(image).inspect())) return false;
  onStatus(`Pulling image ${image}`);
  try {
    await pull(docker, image, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new SpawnError("backend", `The image ${image} is not on the Docker engine and could not be pulled: ${engineMessage(err)}`);
  }
  return true;
}

async function pull(docker: Docker, image: string, signal: AbortSignal): Promise<void> {
  const stream = (await docker.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    let failure: string | undefined;
    const onAbort = () => (stream as unknown as { destroy(): void }).destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) reject(signal.reason);
        else if (err || failure) reject(new Error(failure ?? err!.message));
        else resolve();
      },
      // Pull errors arrive as events in a 200 response, not as an HTTP error.
      (event: { error?: string }) => {
        if (event.error) failure = event.error;
      },
    );
  });
}

/** Settings of a network created by the hub: a bridge whose containers cannot talk to each other. */
const ISOLATED_BRIDGE = { "com.docker.network.bridge.enable_icc": "false" };

/** Creates the servers' network unless it exists (or is one of the engine's own). */
export async function ensureNetwork(docker: Docker, name: string): Promise<void> {
  if (["bridge", "host", "none", "default"].includes(name)) return;
  if (await orUndefined(() => docker.getNetwork(name).inspect())) return;
  try {
    await docker.createNetwork({
      Name: name,
      Driver: "bridge",
      CheckDuplicate: true,
      Options: ISOLATED_BRIDGE,
      Labels: { "ganymede.managed": "true" },
    });
  } catch (err) {
    if (!hasStatus(err, 409)) throw err; // created by another hub in the meantime
  }
}

/**
 * Splits the engine's multiplexed log stream (no TTY): frames of an 8-byte header — stream type, 3 zero bytes, a
 * big-endian length — followed by that many bytes.
 */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const size = buf.readUInt32BE(offset + 4);
    parts.push(buf.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The container's last log lines, each marked, long lines shortened, `secret` masked. */
export async function logTail(container: Docker.Container, secret: string, lines = 20): Promise<string[]> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)))
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => (secret ? l.split(secret).join("…") : l))
      .map((l) => `[server log] ${l.length > 300 ? l.slice(0, 300) + "…" : l}`);
  } catch {
    return [];
  }
}

/** Whether an HTTP server answers (any status) at `url` within `timeoutMs`. */
export function answersHttp(url: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}
