/**
 * The audit trail: every state change and every refusal, with who, what, on which user and server, the outcome and
 * its reasons, when and from where (issue 14). Written to the hub's database (the AuditEvent model), read by
 * administrators through `GET /hub/api/audit` (filters, pagination, JSON lines), and trimmed to its retention.
 *
 * Recording never fails what it records: a write that fails is logged and dropped, for an audit outage must not
 * become a hub outage. What goes in is names, outcomes and reasons — never a password, token or secret: the
 * recorders pass only those fields, and `detail` is built by them from known, non-secret values.
 */
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/database.js";

export type AuditActorKind = "user" | "admin" | "anonymous" | "hub";
export type AuditOutcome = "ok" | "refused" | "failed";

export interface AuditInput {
  actor: string;
  actorKind: AuditActorKind;
  action: string;
  user?: string | null;
  server?: string | null;
  outcome: AuditOutcome;
  status?: number;
  detail?: Record<string, unknown>;
  address?: string | null;
}

/** An event as the API shows it. */
export interface AuditEventView {
  id: number;
  at: string;
  actor: string;
  actorKind: string;
  action: string;
  user: string | null;
  server: string | null;
  outcome: string;
  status: number | null;
  detail: Record<string, unknown> | null;
  address: string | null;
}

export interface AuditQuery {
  user?: string;
  actor?: string;
  /** An action, or a prefix ending in "." (`server.` for every server action). */
  action?: string;
  outcome?: AuditOutcome;
  since?: Date;
  until?: Date;
  /** Events older than this id (the previous page's `next`): newest first, stable under concurrent writes. */
  before?: number;
  limit: number;
}

export class AuditTrail {
  #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /** Records an event; resolves when written (or dropped with a log line). */
  record(event: AuditInput): Promise<void> {
    const write = this.db.auditEvent
      .create({
        data: {
          actor: event.actor,
          actorKind: event.actorKind,
          action: event.action,
          user: event.user ?? null,
          server: event.server ?? null,
          outcome: event.outcome,
          status: event.status ?? null,
          detail: event.detail ? JSON.stringify(event.detail) : null,
          address: event.address ?? null,
        },
      })
      .then(
        () => undefined,
        (err: unknown) => this.logger.error({ err, action: event.action }, "audit event not recorded"),
      );
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
    return write;
  }

  /** Waits for the writes in flight (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  /** Newest first; `next` is the cursor of the following page, absent on the last one. */
  async query(q: AuditQuery): Promise<{ events: AuditEventView[]; next?: number }> {
    const rows = await this.db.auditEvent.findMany({
      where: {
        ...(q.user !== undefined ? { user: q.user } : {}),
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.action !== undefined ? (q.action.endsWith(".") ? { action: { startsWith: q.action } } : { action: q.action }) : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.since || q.until ? { at: { ...(q.since ? { gte: q.since } : {}), ...(q.until ? { lt: q.until } : {}) } } : {}),
        ...(q.before !== undefined ? { id: { lt: q.before } } : {}),
      },
      orderBy: { id: "desc" },
      take: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return { events: page.map(view), ...(rows.length > q.limit ? { next: page.at(-1)!.id } : {}) };
  }

  /** Deletes events older than `retentionMs`; returns how many. */
  async purge(retentionMs: number, now = Date.now()): Promise<number> {
    const { count } = await this.db.auditEvent.deleteMany({ where: { at: { lt: new Date(now - retentionMs) } } });
    return count;
  }
}

/** A row as the database holds it: the time as a Date, the detail as JSON text. */
type AuditEventRow = Omit<AuditEventView, "at" | "detail"> & { at: Date; detail: string | null };

function view(row: AuditEventRow): AuditEventView {
  return { ...row, at: row.at.toISOString(), detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null };
}
