/**
 * The culler: stops servers that reached their policy's maximum lifetime (or the stop time their owner chose within
 * it), and servers idle for longer than their policy's idle timeout, keeping the reason on the server. Storage is
 * kept (stop, not delete). Both follow the policies in force at each pass. Activity is the later of proxied traffic
 * (HTTP requests, WebSocket messages) and the activity the Jupyter server reports itself (kernel execution), so a
 * long computation with the browser closed is not culled.
 */
import { byHub } from "../audit/events.js";
import type { AuditTrail } from "../audit/trail.js";
import type { Logger } from "../lib/logger.js";
import { formatDuration } from "../lib/units.js";
import type { Servers } from "../servers/service.js";
import type { ServerPolicy } from "../servers/types.js";
import { lifetimeDeadlines, type Decision, type EffectiveLimits } from "../policy/index.js";
import type { Db } from "../store/database.js";

export interface CullerOptions {
  db: Db;
  servers: Servers;
  policy: ServerPolicy;
  logger: Logger;
  /** Each stop (and each failed one) is recorded, the culler as its actor. */
  audit?: AuditTrail;
  culls: { inc(): void };
  intervalMs: number;
  /** Whether this replica culls now (only the one doing the hub's background work does). */
  shouldRun?: () => boolean;
}

export class Culler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly o: CullerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.o.shouldRun && !this.o.shouldRun()) return;
      if (!this.running) this.running = this.cullOnce().catch((err: unknown) => this.o.logger.error({ err }, "culler pass failed")).finally(() => (this.running = undefined));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns "user/server" keys of the servers it stopped. */
  async cullOnce(now = Date.now()): Promise<string[]> {
    const rows = await this.o.db.server.findMany({
      where: { status: "running" },
      include: { user: { include: { groups: { include: { group: true } } } } },
    });
    const culled: string[] = [];
    for (const row of rows) {
      const user = row.user;
      const { limits, sources } = this.o.policy.decide({ action: "limits", user: { name: user.name, groups: user.groups.map((g) => g.group.name) } });
      const why = this.lifetimeReached(row, limits, sources, now) ?? (await this.idleTooLong(row, limits, sources, now));
      if (!why) continue;
      this.o.logger.info({ user: user.name, server: row.name, ...why.detail }, `stopping server: ${why.reason}`);
      const stop = { action: "server.stop", user: user.name, server: row.name };
      const detail = { reason: why.reason, ...why.detail };
      try {
        await this.o.servers.stop(user, row.name, { reason: why.reason });
        this.o.culls.inc();
        culled.push(`${user.name}/${row.name}`);
        await this.o.audit?.record(byHub({ ...stop, outcome: "ok", detail }, "culler"));
      } catch (err) {
        this.o.logger.warn({ err, user: user.name, server: row.name }, "could not stop server");
        await this.o.audit?.record(byHub({ ...stop, outcome: "failed", detail: { ...detail, error: (err as Error).message } }, "culler"));
      }
    }
    return culled;
  }

  /** The maximum lifetime (or the stop time its owner chose within it) has come. */
  private lifetimeReached(row: RunningRow, limits: EffectiveLimits, sources: Decision["sources"], now: number): CullReason | undefined {
    if (!row.startedAt) return undefined;
    const lifetime = lifetimeDeadlines(limits, row.startedAt.getTime(), row.deadline?.getTime());
    if (!lifetime || now < lifetime.deadline) return undefined;
    const max = `a maximum lifetime of ${formatDuration(limits.maxLifetimeMs!)} (policy \`${sources.maxLifetime.policy}\`)`;
    const at = new Date(lifetime.deadline).toISOString();
    const reason = row.deadline ? `reached the stop time its owner chose (${at}; ${max})` : `reached ${max}`;
    return { reason, detail: { maxLifetime: formatDuration(limits.maxLifetimeMs!), deadline: at } };
  }

  /**
   * Idle past the idle timeout. Activity is the latest of proxied traffic, what the server reports itself (recorded
   * here, so the dashboard sees it too) and the start.
   */
  private async idleTooLong(row: RunningRow, limits: EffectiveLimits, sources: Decision["sources"], now: number): Promise<CullReason | undefined> {
    if (limits.idleTimeoutMs === null) return undefined;
    const user = row.user.name;
    const proxied = this.o.servers.activity.latest(user, row.name, row.lastActivity);
    const reported = await this.o.servers.reportedActivity(user, row.name, row.endpoint, row.backendState);
    if (reported !== undefined && (proxied === undefined || reported > proxied)) {
      await this.o.servers.activity.record(user, row.name, new Date(reported));
    }
    const last = Math.max(proxied ?? 0, reported ?? 0, row.startedAt?.getTime() ?? 0);
    const idle = now - last;
    if (idle <= limits.idleTimeoutMs) return undefined;
    const timeout = formatDuration(limits.idleTimeoutMs);
    const reason = `idle for ${formatDuration(Math.round(idle / 1000) * 1000)}; policy \`${sources.idleTimeout.policy}\` stops servers idle for ${timeout}`;
    return { reason, detail: { idleTimeout: timeout } };
  }
}

interface RunningRow {
  name: string;
  startedAt: Date | null;
  deadline: Date | null;
  lastActivity: Date | null;
  endpoint: string | null;
  backendState: string | null;
  user: { name: string };
}

interface CullReason {
  /** Kept on the server as its stop reason, and in the audit trail. */
  reason: string;
  detail: Record<string, string>;
}
