/**
 * Server activity. The proxy reports every request and WebSocket message; writing each to the database would cost
 * more than the request, so timestamps are kept in memory and flushed every few seconds. Readers combine both.
 */
import type { Db } from "../store/database.js";
import { serverKey, splitKey } from "./naming.js";

export class ActivityLog {
  private readonly pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly db: Db) {}

  /** Records traffic; O(1), called on the proxy's hot path. */
  touch(user: string, serverName: string): void {
    this.pending.set(serverKey(user, serverName), Date.now());
  }

  /** The latest activity known for a server (unflushed traffic included), epoch ms. */
  latest(user: string, serverName: string, stored: Date | null): number | undefined {
    const fresh = this.pending.get(serverKey(user, serverName));
    const db = stored?.getTime();
    return fresh === undefined ? db : db === undefined ? fresh : Math.max(fresh, db);
  }

  forget(user: string, serverName: string): void {
    this.pending.delete(serverKey(user, serverName));
  }

  /** Moves a server's (when named) and its user's last activity forward, never back. */
  async record(userName: string, serverName: string | null, when: Date): Promise<void> {
    const user = await this.db.user.findUnique({ where: { name: userName }, select: { id: true } });
    if (!user) return;
    const later = { OR: [{ lastActivity: null }, { lastActivity: { lt: when } }] };
    if (serverName !== null) {
      await this.db.server.updateMany({ where: { userId: user.id, name: serverName, ...later }, data: { lastActivity: when } });
    }
    await this.db.user.updateMany({ where: { id: user.id, ...later }, data: { lastActivity: when } });
  }

  async flush(): Promise<void> {
    for (const [key, at] of [...this.pending.entries()]) {
      const [user, serverName] = splitKey(key);
      await this.record(user, serverName, new Date(at)).catch(() => undefined);
      if (this.pending.get(key) === at) this.pending.delete(key);
    }
  }

  startFlushing(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
