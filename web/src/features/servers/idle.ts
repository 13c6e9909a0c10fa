import type { Server } from "./types";

/** Seconds until the culler stops an idle server, or null when it never does or the server is not running. */
export function idleSecondsLeft(server: Server, now: number): number | null {
  const timeout = server.limits.idle_timeout_seconds;
  if (timeout === null || server.status !== "running") return null;
  const since = server.last_activity ?? server.started;
  if (!since) return timeout;
  return Math.max(0, timeout - (now - Date.parse(since)) / 1000);
}
