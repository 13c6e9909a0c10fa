/**
 * Background work with one owner among the hub replicas: the replica holding the `background` lease verifies that
 * running servers still answer when it takes the lease (the hub restarted, or the last holder died), takes over
 * the starts and stops of dead replicas at every heartbeat, and runs the culler. The others only answer requests;
 * when the holder dies, one of them takes the lease within a heartbeat of noticing.
 */
import type { Logger } from "../lib/logger.js";
import type { Servers } from "../servers/service.js";
import type { Db } from "../store/database.js";
import { Lease } from "./lease.js";
import type { Replica } from "./replica.js";

export class BackgroundWork {
  private readonly lease: Lease;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private holding = false;
  private verifying?: Promise<unknown>;

  constructor(
    db: Db,
    private readonly replica: Replica,
    private readonly servers: Servers,
    private readonly logger: Logger,
  ) {
    this.lease = new Lease(db, "background", replica.id, replica.timing.leaseMs);
  }

  /** Whether this replica does the background work now (the culler asks before each pass). */
  get isHolder(): boolean {
    return this.holding;
  }

  /** The first round at once (a lone hub restarting verifies its servers right away), then one per heartbeat. */
  start(): void {
    this.tick = this.round().finally(() => (this.tick = undefined));
    this.timer = setInterval(() => {
      this.tick ??= this.round().finally(() => (this.tick = undefined));
    }, this.replica.timing.heartbeatMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    try {
      const alive = await this.replica.alive();
      const held = await this.lease.acquire(alive);
      if (held && !this.holding) {
        this.logger.info({ replica: this.replica.id }, "this replica now does the hub's background work");
        // After answering requests already: one check of every running server, however many there are.
        this.verifying = this.servers.verifyAll().catch((err: unknown) => this.logger.error({ err }, "verifying running servers failed"));
      }
      if (!held && this.holding) this.logger.warn({ replica: this.replica.id }, "background work lease lost to another replica");
      this.holding = held;
      if (held) await this.servers.takeOver(alive);
    } catch (err) {
      this.logger.error({ err }, "background work round failed");
    }
  }

  /** Waits for the current round and the verification; gives the lease up for another replica to take at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.tick;
    await this.verifying;
    this.holding = false;
    await this.lease.release();
  }
}
