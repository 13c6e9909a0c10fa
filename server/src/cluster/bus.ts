/**
 * Messages between hub replicas: route changes, spawn progress, a stop asking the replica that runs a start to
 * cancel it. On PostgreSQL they travel by LISTEN/NOTIFY on one dedicated connection (delivered to every listener
 * within milliseconds, in commit order); with SQLite there is one hub and nobody to tell.
 *
 * Notifications are not stored: a replica that was disconnected missed some. So after each reconnection the bus
 * says so (`onReconnect`) and the receiver reloads what it keeps from the database.
 */
import pg from "pg";
import type { Logger } from "../lib/logger.js";
import type { ProgressEvent } from "../servers/progress.js";

export type ClusterMessage =
  | { kind: "route"; user: string; server: string }
  | { kind: "progress"; user: string; server: string; event: ProgressEvent }
  | { kind: "cancel-start"; user: string; server: string };

export interface ClusterBus {
  /** Sends to every other replica (never back to this one). */
  publish(message: ClusterMessage): void;
  subscribe(handler: (message: ClusterMessage) => void): void;
  /** Called after the connection came back: notifications may have been missed. */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

/** One hub (SQLite): there is no other replica to tell. */
export class SoloBus implements ClusterBus {
  publish(): void {}
  subscribe(): void {}
  onReconnect(): void {}
  async close(): Promise<void> {}
}

const CHANNEL = "ganymede_cluster";
/** PostgreSQL refuses payloads of 8000 bytes or more; a progress message is cut well before. */
const MAX_MESSAGE_CHARS = 2000;

export class PostgresBus implements ClusterBus {
  private client?: pg.Client;
  private readonly handlers: ((message: ClusterMessage) => void)[] = [];
  private readonly reconnectHandlers: (() => void)[] = [];
  private closed = false;
  private sending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly databaseUrl: string,
    private readonly replicaId: string,
    private readonly logger: Logger,
  ) {}

  static async connect(databaseUrl: string, replicaId: string, logger: Logger): Promise<PostgresBus> {
    const bus = new PostgresBus(databaseUrl, replicaId, logger);
    await bus.listen();
    return bus;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, keepAlive: true });
    client.on("notification", (note) => this.deliver(note.payload));
    client.on("error", (err) => {
      this.logger.warn({ err }, "cluster notifications connection failed; reconnecting");
      void client.end().catch(() => undefined);
    });
    client.on("end", () => {
      if (this.client === client) this.client = undefined;
      if (!this.closed) void this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5_000)));
      try {
        await this.listen();
        this.logger.info("cluster notifications connection back");
        for (const handler of this.reconnectHandlers) handler();
        return;
      } catch (err) {
        this.logger.warn({ err, attempt }, "cluster notifications: reconnecting failed");
      }
    }
  }

  private deliver(payload: string | undefined): void {
    if (!payload) return;
    let parsed: { from: string; message: ClusterMessage };
    try {
      parsed = JSON.parse(payload) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.from === this.replicaId) return;
    for (const handler of this.handlers) {
      try {
        handler(parsed.message);
      } catch (err) {
        this.logger.error({ err, kind: parsed.message.kind }, "cluster message handler failed");
      }
    }
  }

  publish(message: ClusterMessage): void {
    const client = this.client;
    if (!client) return; // reconnecting: the others resync from the database
    const payload = JSON.stringify({ from: this.replicaId, message: shortened(message) });
    // One query at a time on the connection (pg queues them, but asks callers to), in the order they were published.
    this.sending = this.sending
      .then(() => client.query("SELECT pg_notify($1, $2)", [CHANNEL, payload]))
      .then(
        () => undefined,
        (err: unknown) => {
          if (!this.closed) this.logger.warn({ err }, "cluster notification not sent");
        },
      );
  }

  subscribe(handler: (message: ClusterMessage) => void): void {
    this.handlers.push(handler);
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
    await this.client?.end().catch(() => undefined);
  }
}

function shortened(message: ClusterMessage): ClusterMessage {
  if (message.kind !== "progress" || message.event.message.length <= MAX_MESSAGE_CHARS) return message;
  const { html_message: _html, ...event } = message.event;
  return { ...message, event: { ...event, message: `${event.message.slice(0, MAX_MESSAGE_CHARS)}…` } };
}
