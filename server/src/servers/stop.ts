/**
 * One stop, start to finish: wait for a slot (at most `concurrentStops` stops do their expensive part at once; the
 * others queue, and the server's model shows its place), stop through the backend, retry a failed stop twice with
 * `now` after a pause, then record the outcome. A stop always ends: the row is "stopped", or — when the backend could
 * not stop the server and it still runs — "running" again with its route back, so its owner can use it or stop it
 * again. Either way a failure is logged, counted (`ganymede_stop_failures_total`) and kept in `last_error` for the
 * API and the dashboard; no server is left "stopping".
 */
import { byHub } from "../audit/events.js";
import type { AuditTrail } from "../audit/trail.js";
import type { FifoSlots, SlotTicket } from "../lib/fifo-slots.js";
import type { Logger } from "../lib/logger.js";
import type { SecretBox } from "../lib/secrets.js";
import type { Spawner } from "../spawners/types.js";
import type { Db } from "../store/database.js";
import { describeServer } from "./naming.js";
import { persistState, tokenOf } from "./persisted-state.js";
import type { RouteSink } from "./spawn.js";

export interface StopMetrics {
  stopDuration: { observe(seconds: number): void };
  stopFailures: { inc(): void };
}

export interface StopDeps {
  db: Db;
  routes: RouteSink;
  secrets: SecretBox;
  logger: Logger;
  metrics: StopMetrics;
  slots: FifoSlots;
  /** Pauses before the second and third attempts (tests shorten them). */
  retryDelaysMs?: number[];
  /** Records a stop that failed for good (the request that asked for it was answered long before). */
  audit?: AuditTrail;
}

export interface StopJob {
  user: string;
  serverName: string;
  rowId: number;
  spawner: Spawner;
  /** Receives the queue ticket at once (the server's model reads its position from it). */
  onTicket(ticket: SlotTicket): void;
}

/** "stopped"; or the stop failed and the server is still running, or has ended anyway. */
export type StopOutcome = "stopped" | "failed-running" | "failed-stopped";

const RETRY_DELAYS_MS = [1_000, 5_000];

/** How `last_error` begins when a stop failed (the API and dashboard tell it from a failed start's reason). */
export const STOP_FAILED = "Stop failed:";

export async function runStop(deps: StopDeps, job: StopJob): Promise<StopOutcome> {
  const started = performance.now();
  try {
    await deps.slots.run(() => stopWithRetries(deps, job), job.onTicket);
  } catch (err) {
    return recordFailure(deps, job, err as Error);
  }
  await deps.db.server.update({
    where: { id: job.rowId },
    data: { status: "stopped", endpoint: null, stoppedAt: new Date(), ...persistState(job.spawner, deps.secrets) },
  });
  deps.metrics.stopDuration.observe((performance.now() - started) / 1000);
  return "stopped";
}

async function stopWithRetries(deps: StopDeps, job: StopJob): Promise<void> {
  const delays = deps.retryDelaysMs ?? RETRY_DELAYS_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await job.spawner.stop({ now: attempt > 0 });
      return;
    } catch (err) {
      if (attempt >= delays.length) throw err;
      deps.logger.warn({ err, user: job.user, server: job.serverName, attempt: attempt + 1 }, "stop failed; trying again");
      await new Promise((r) => setTimeout(r, delays[attempt]));
    }
  }
}

async function recordFailure(deps: StopDeps, job: StopJob, err: Error): Promise<StopOutcome> {
  deps.metrics.stopFailures.inc();
  const running = await job.spawner.poll().then(
    (p) => p.running,
    () => false,
  );
  const row = await deps.db.server.findUnique({ where: { id: job.rowId } });
  const token = tokenOf(row?.backendState ?? null, deps.secrets);
  const what = describeServer(job.user, job.serverName);
  const audited = (message: string) =>
    void deps.audit?.record(byHub({ action: "server.stop", user: job.user, server: job.serverName, outcome: "failed", detail: { message } }));
  if (running) {
    const lastError = `${STOP_FAILED} ${err.message}. ${what} is still running; stop it again, or ask an administrator.`;
    audited(lastError);
    await deps.db.server.update({ where: { id: job.rowId }, data: { status: "running", lastError } });
    if (row?.endpoint && token) deps.routes.add({ user: job.user, serverName: job.serverName, target: row.endpoint, token });
    deps.logger.error({ err, user: job.user, server: job.serverName }, "stop failed; the server still runs");
    return "failed-running";
  }
  const lastError = `${STOP_FAILED} ${err.message}. ${what} has stopped; its next start cleans up what is left.`;
  audited(lastError);
  await deps.db.server.update({
    where: { id: job.rowId },
    data: { status: "stopped", endpoint: null, lastError, stoppedAt: new Date(), ...persistState(job.spawner, deps.secrets) },
  });
  deps.logger.error({ err, user: job.user, server: job.serverName }, "stop failed after the server ended");
  return "failed-stopped";
}
