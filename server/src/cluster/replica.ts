/**
 * This hub process as one replica among those sharing the database. It registers itself, renews a heartbeat, and
 * tells which replicas are alive: the others' work in flight belongs to them, a dead one's is taken over.
 *
 * A replica is dead when its heartbeat is older than the lease time, or at once when it ran on this very host and
 * its process is gone (a kill -9 on one machine is seen without waiting for the lease to run out).
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/database.js";

export interface ReplicaTiming {
  heartbeatMs: number;
  leaseMs: number;
}

export class Replica {
  readonly id: string;
  private readonly hostname = os.hostname();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    readonly timing: ReplicaTiming,
    private readonly logger: Logger,
  ) {
    this.id = `${this.hostname}-${process.pid}-${randomBytes(3).toString("hex")}`;
  }

  /** Registers the replica and starts its heartbeat. */
  async join(): Promise<void> {
    await this.db.hubReplica.create({ data: { id: this.id, hostname: this.hostname, pid: process.pid, heartbeatAt: new Date() } });
    this.timer = setInterval(() => void this.beat(), this.timing.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      // Re-created if an administrator (or a replica that took it for dead) removed it.
      await this.db.hubReplica.upsert({
        where: { id: this.id },
        create: { id: this.id, hostname: this.hostname, pid: process.pid, heartbeatAt: new Date() },
        update: { heartbeatAt: new Date() },
      });
    } catch (err) {
      this.logger.warn({ err }, "replica heartbeat failed");
    }
  }

  /** The ids of the replicas alive now, this one included; dead ones' rows are deleted on the way. */
  async alive(): Promise<Set<string>> {
    const rows = await this.db.hubReplica.findMany();
    const cutoff = Date.now() - this.timing.leaseMs;
    const alive = new Set<string>([this.id]);
    const dead: string[] = [];
    for (const row of rows) {
      if (row.id === this.id) continue;
      const gone = row.heartbeatAt.getTime() < cutoff || (row.hostname === this.hostname && !processExists(row.pid));
      if (gone) dead.push(row.id);
      else alive.add(row.id);
    }
    if (dead.length) {
      await this.db.hubReplica.deleteMany({ where: { id: { in: dead } } });
      this.logger.warn({ replicas: dead }, "hub replicas stopped answering; their work is taken over");
    }
    return alive;
  }

  /** Stops the heartbeat and unregisters: the others take over at once instead of after the lease time. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.db.hubReplica.deleteMany({ where: { id: this.id } }).catch(() => undefined);
  }
}

/** Whether a process with this pid exists on this host (EPERM: it exists but is not ours to signal). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
