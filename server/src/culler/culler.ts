/**
 * The idle culler: stops servers idle for longer than their policy's idle timeout. Storage is kept (stop, not
 * delete). Activity is the later of proxied traffic (HTTP requests, WebSocket messages) and the activity the
 * Jupyter server reports itself (kernel execution), so a long computation with the browser closed is not culled.
 */
import { byHub } from "../audit/events.js";
import type { AuditTrail } from "../audit/trail.js";
import type { Logger } from "../lib/logger.js";
import { formatDuration } from "../lib/units.js";
import type { Servers } from "../servers/service.js";
import type { ServerPolicy } from "../servers/types.js";
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
}

export class Culler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly o: CullerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
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
      const limits = this.o.policy.limitsFor({ name: user.name, groups: user.groups.map((g) => g.group.name) });
      if (limits.idleTimeoutMs === null) continue;
      const proxied = this.o.servers.activity.latest(user.name, row.name, row.lastActivity);
      const reported = await this.o.servers.reportedActivity(user.name, row.name, row.endpoint, row.backendState);
      if (reported !== undefined && (proxied === undefined || reported > proxied)) {
        await this.o.servers.activity.record(user.name, row.name, new Date(reported));
      }
      const last = Math.max(proxied ?? 0, reported ?? 0, row.startedAt?.getTime() ?? 0);
      const idle = now - last;
      if (idle <= limits.idleTimeoutMs) continue;
      const key = `${user.name}/${row.name}`;
      this.o.logger.info(
        { user: user.name, server: row.name, idleMs: idle, timeout: formatDuration(limits.idleTimeoutMs) },
        "culling idle server",
      );
      const reason = `idle for ${formatDuration(Math.round(idle / 1000) * 1000)}`;
      const detail = { reason, idleTimeout: formatDuration(limits.idleTimeoutMs) };
      const stop = { action: "server.stop", user: user.name, server: row.name };
      try {
        await this.o.servers.stop(user, row.name, { reason });
        this.o.culls.inc();
        culled.push(key);
        await this.o.audit?.record(byHub({ ...stop, outcome: "ok", detail }, "culler"));
      } catch (err) {
        this.o.logger.warn({ err, key }, "could not cull server");
        await this.o.audit?.record(byHub({ ...stop, outcome: "failed", detail: { ...detail, error: (err as Error).message } }, "culler"));
      }
    }
    return culled;
  }
}
