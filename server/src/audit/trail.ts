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

/**
 * The actor's part in the event: `user` acting on their own account and servers, `admin` an administrator acting on
 * someone else's, `anonymous` a request without credentials, `hub` the hub on its own (culler, reload, roll-back),
 * `operator` someone on the hub's machine through the `ganymede` CLI (the actor is their Unix user name).
 */
export type AuditActorKind = "user" | "admin" | "anonymous" | "hub" | "operator";
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

/** Most events written in one statement (SQLite allows 32,766 bound values; an event has 9). */
const BATCH = 1000;

export class AuditTrail {
  /** Events waiting for the next write, with what to call once it is done. */
  #queue: { row: AuditRowInput; written: () => void }[] = [];
  #scheduled = false;
  /** The writes in order: one statement at a time, so ids follow the order events were recorded in. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /**
   * Records an event; resolves when written (or dropped with a log line). Events recorded in the same turn of the
   * event loop are written together, in one statement: a stop wave of 2,000 requests costs a few inserts, not 2,000
   * transactions (bench/audit.ts).
   */
  record(event: AuditInput): Promise<void> {
    return new Promise((written) => {
      this.#queue.push({ row: rowOf(event), written });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#queue.splice(0, BATCH);
      if (this.#queue.length) this.#schedule();
      this.#writing = this.#writing.then(() => this.#write(batch));
    });
  }

  async #write(batch: { row: AuditRowInput; written: () => void }[]): Promise<void> {
    try {
      await this.db.auditEvent.createMany({ data: batch.map((b) => b.row) });
    } catch (err) {
      this.logger.error({ err, events: batch.length, actions: [...new Set(batch.map((b) => b.row.action))] }, "audit events not recorded");
    } finally {
      for (const b of batch) b.written();
    }
  }

  /** Waits until every event recorded so far is written (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.#scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.#writing;
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

  /** Every event `q` matches (its limit aside), newest first, read a page at a time: the export. */
  async *all(q: Omit<AuditQuery, "limit">, page = 1000): AsyncGenerator<AuditEventView> {
    for (let before = q.before; ; ) {
      const { events, next } = await this.query({ ...q, before, limit: page });
      yield* events;
      if (next === undefined) return;
      before = next;
    }
  }

  /** Deletes events older than `retentionMs`; returns how many. */
  async purge(retentionMs: number, now = Date.now()): Promise<number> {
    const { count } = await this.db.auditEvent.deleteMany({ where: { at: { lt: new Date(now - retentionMs) } } });
    return count;
  }
}

type AuditRowInput = Omit<AuditEventRow, "id" | "at">;

function rowOf(event: AuditInput): AuditRowInput {
  return {
    actor: event.actor,
    actorKind: event.actorKind,
    action: event.action,
    user: event.user ?? null,
    server: event.server ?? null,
    outcome: event.outcome,
    status: event.status ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
    address: event.address ?? null,
  };
}

/** A row as the database holds it: the time as a Date, the detail as JSON text. */
type AuditEventRow = Omit<AuditEventView, "at" | "detail"> & { at: Date; detail: string | null };

function view(row: AuditEventRow): AuditEventView {
  return { ...row, at: row.at.toISOString(), detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null };
}
