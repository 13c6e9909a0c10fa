import type { Server } from "./types";

/** Seconds until the culler stops an idle server, or null when it never does or the server is not running. */
export function idleSecondsLeft(server: Server, now: number): number | null {
  const timeout = server.limits.idle_timeout_seconds;
  if (timeout === null || server.status !== "running") return null;
  const since = server.last_activity ?? server.started;
  if (!since) return timeout;
  return Math.max(0, timeout - (now - Date.parse(since)) / 1000);
}

/** Seconds until the hub stops a running server for its maximum lifetime, or null when it has none. */
export function lifetimeSecondsLeft(server: Server, now: number): number | null {
  if (!server.deadline || server.status !== "running") return null;
  return Math.max(0, (Date.parse(server.deadline) - now) / 1000);
}

/** The most a server's stop moves per click of "Keep it longer". */
export const EXTEND_STEP_SECONDS = 3600;

/** The deadline one "Keep it longer" asks for: an hour later, or as late as the policy allows; null when it allows no more. */
export function nextDeadline(server: Server): Date | null {
  if (!server.deadline || !server.deadline_latest) return null;
  const deadline = Date.parse(server.deadline);
  const latest = Date.parse(server.deadline_latest);
  if (latest <= deadline) return null;
  return new Date(Math.min(deadline + EXTEND_STEP_SECONDS * 1000, latest));
}

export type UpcomingStop = { kind: "lifetime" | "idle"; secondsLeft: number };

/** The automatic stop within the warning window (`stop_warning_seconds`), the sooner of the two; null when none is near. */
export function upcomingStop(server: Server, now: number): UpcomingStop | null {
  const window = server.stop_warning_seconds;
  if (window === null) return null;
  const lifetime = lifetimeSecondsLeft(server, now);
  const idle = idleSecondsLeft(server, now);
  const candidates: UpcomingStop[] = [];
  if (lifetime !== null && lifetime <= window) candidates.push({ kind: "lifetime", secondsLeft: lifetime });
  if (idle !== null && idle <= window) candidates.push({ kind: "idle", secondsLeft: idle });
  return candidates.sort((a, b) => a.secondsLeft - b.secondsLeft)[0] ?? null;
}
