/**
 * One spawn, start to finish: launch through the backend, persist its state at once, wait until the Jupyter server
 * answers, then publish the route. Every failure — backend error, early exit, start timeout, cancellation — ends
 * the same way: the process is stopped, the row rolled back (deleted with its storage when this spawn created it),
 * and the progress log closed with `failed` and the reason people should read.
 */
import { randomBytes } from "node:crypto";
import { byHub } from "../audit/events.js";
import type { AuditTrail } from "../audit/trail.js";
import { exitedDuringStart, SpawnError } from "../errors.js";
import type { Logger } from "../lib/logger.js";
import type { SecretBox } from "../lib/secrets.js";
import type { Endpoint, Spawner } from "../spawners/types.js";
import type { LaunchSpec } from "./launch.js";
import type { Db } from "../store/database.js";
import { describeServer, serverBaseUrl } from "./naming.js";
import { persistState } from "./persisted-state.js";
import type { ProgressLog } from "./progress.js";
import { fetchStatus, sleep } from "./readiness.js";

export interface RouteSink {
  add(route: { user: string; serverName: string; target: string; token: string }): void;
  remove(user: string, serverName: string): void;
}

export interface SpawnMetrics {
  spawnDuration: { observe(seconds: number): void };
  spawnFailures: { inc(labels: { reason: string }): void };
}

export interface SpawnDeps {
  db: Db;
  routes: RouteSink;
  secrets: SecretBox;
  logger: Logger;
  metrics: SpawnMetrics;
  startTimeoutMs: number;
  /** Records a start that failed after its request was answered (the request itself is recorded by the API). */
  audit?: AuditTrail;
}

export interface SpawnJob {
  user: string;
  serverName: string;
  rowId: number;
  /** The row was created by this start request (a failure then deletes it again). */
  created: boolean;
  spawner: Spawner;
  progress: ProgressLog;
  /** What the server is started with (servers/launch.ts), handed to the backend as it is. */
  launch: LaunchSpec;
  /** Aborted by a stop request while starting. */
  signal: AbortSignal;
  /**
   * Waits for room in a full capacity pool before anything starts (the start timeout counts from after it); throws
   * a SpawnError when the start is refused or cancelled meanwhile, and the row is rolled back like any failure.
   */
  admit?: (signal: AbortSignal) => Promise<void>;
}

export async function runSpawn(deps: SpawnDeps, job: SpawnJob): Promise<void> {
  if (job.admit) {
    try {
      await job.admit(job.signal);
    } catch (err) {
      const failure = err instanceof SpawnError ? err : new SpawnError("unexpected", `the start could not wait for room: ${(err as Error).message}`);
      await rollBack(deps, job, failure);
      throw failure;
    }
  }
  const { user, serverName, spawner, progress } = job;
  const started = performance.now();
  const baseUrl = serverBaseUrl(user, serverName);
  const token = randomBytes(32).toString("base64url");
  const timeout = AbortSignal.timeout(deps.startTimeoutMs);
  const signal = AbortSignal.any([job.signal, timeout]);
  const abortError = () =>
    timeout.aborted
      ? new SpawnError("timeout", `${describeServer(user, serverName)} did not become ready within ${Math.round(deps.startTimeoutMs / 1000)} s`)
      : new SpawnError("unexpected", "the start was cancelled");

  progress.push({ progress: 0, message: `Server requested for ${describeServer(user, serverName)}` });
  try {
    const endpoint = await spawner.start({ user, serverName, baseUrl, token, ...job.launch }, signal, (p) =>
      progress.push({ progress: 10 + p.progress * 0.5, message: p.message }),
    );
    // Persist at once so a hub that dies mid-spawn can still find (and clean up) the process.
    await deps.db.server.update({
      where: { id: job.rowId },
      data: { ...persistState(spawner, deps.secrets, token), endpoint: endpoint.url },
    });
    progress.push({ progress: 60, message: "Waiting for the Jupyter server to answer" });
    await waitReady(spawner, endpoint, baseUrl, token, signal, abortError);
    const now = new Date();
    await deps.db.server.update({ where: { id: job.rowId }, data: { status: "running", startedAt: now, lastActivity: now, lastError: null } });
    deps.routes.add({ user, serverName, target: endpoint.url, token });
    deps.metrics.spawnDuration.observe((performance.now() - started) / 1000);
    progress.push({
      progress: 100,
      ready: true,
      message: `Server ready at ${baseUrl}`,
      html_message: `Server ready at <a href="${baseUrl}">${baseUrl}</a>`,
      url: baseUrl,
    });
    deps.logger.info({ user, server: serverName, ms: Math.round(performance.now() - started) }, "server ready");
  } catch (err) {
    // A backend that knows why it timed out (a pod no node can take) says so better than the generic timeout.
    const failure = signal.aborted
      ? err instanceof SpawnError && err.reason === "timeout" ? err : abortError()
      : err instanceof SpawnError
        ? err
        : new SpawnError("backend", `the server could not be started: ${(err as Error).message}`, String((err as Error).stack));
    await rollBack(deps, job, failure);
    throw failure;
  }
}

async function waitReady(
  spawner: Spawner,
  endpoint: Endpoint,
  baseUrl: string,
  token: string,
  signal: AbortSignal,
  abortError: () => SpawnError,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw abortError();
    if (await fetchStatus(endpoint.url, baseUrl, token, 1000)) return;
    const poll = await spawner.poll();
    if (!poll.running) {
      throw exitedDuringStart(poll.exitCode, await spawner.recentLog());
    }
    await sleep(Math.min(50 * 2 ** attempt, 500), signal);
  }
}

async function rollBack(deps: SpawnDeps, job: SpawnJob, failure: SpawnError): Promise<void> {
  const { logger } = deps;
  deps.metrics.spawnFailures.inc({ reason: failure.reason });
  logger.warn({ user: job.user, server: job.serverName, reason: failure.reason, err: failure.logMessage }, "spawn failed");
  await job.spawner.stop({ now: true }).catch((err: unknown) => logger.error({ err }, "cleanup after failed spawn"));
  if (job.created) {
    // A server created by this very request did not come to life: undo the creation completely.
    await job.spawner.removeStorage().catch((err: unknown) => logger.error({ err }, "removing storage after failed spawn"));
    await deps.db.server.delete({ where: { id: job.rowId } }).catch(() => undefined);
  } else {
    await deps.db.server.update({
      where: { id: job.rowId },
      data: { status: "stopped", endpoint: null, lastError: failure.userMessage, ...persistState(job.spawner, deps.secrets) },
    });
  }
  job.progress.push({ progress: 100, failed: true, message: `Spawn failed: ${failure.userMessage}` });
  void deps.audit?.record(
    byHub({
      action: "server.start",
      user: job.user,
      server: job.serverName,
      outcome: "failed",
      detail: { reason: failure.reason, message: failure.userMessage, rolledBack: job.created ? "the new server was removed" : "the server is stopped" },
    }),
  );
}
