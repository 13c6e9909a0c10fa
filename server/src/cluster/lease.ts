/**
 * A lease on a piece of background work, in the database: one replica holds it until it expires, renewing it while
 * it does the work; another may take it once it has expired or its holder is known to be dead. The same table works
 * on SQLite (one hub) and PostgreSQL (replicas): taking it is one conditional update, so two replicas never both
 * succeed.
 */
import { isUniqueViolation, type Db } from "../store/database.js";

export class Lease {
  constructor(
    private readonly db: Db,
    readonly name: string,
    private readonly holder: string,
    private readonly durationMs: number,
  ) {}

  /**
   * Takes or renews the lease; true when this replica holds it now. Given the replicas `alive`, a lease held by
   * another (known dead) is taken at once, without waiting for it to expire.
   */
  async acquire(alive?: ReadonlySet<string>): Promise<boolean> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.durationMs);
    const takeable = [{ holder: this.holder }, { expiresAt: { lt: now } }, ...(alive ? [{ holder: { notIn: [...alive] } }] : [])];
    const taken = await this.db.lease.updateMany({
      where: { name: this.name, OR: takeable },
      data: { holder: this.holder, expiresAt },
    });
    if (taken.count === 1) return true;
    try {
      await this.db.lease.create({ data: { name: this.name, holder: this.holder, expiresAt } });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false; // held by a live replica
      throw err;
    }
  }

  /** Gives the lease up (at shutdown), so that another replica need not wait for it to expire. */
  async release(): Promise<void> {
    await this.db.lease.deleteMany({ where: { name: this.name, holder: this.holder } }).catch(() => undefined);
  }
}

/**
 * One holder at a time across the replicas, for short critical sections (a start's quota decision and claim): the
 * lease is taken (polling every few milliseconds), the work done, the lease released. A replica that dies holding it
 * holds it no longer than the lease's duration.
 */
export class ClusterMutex {
  private readonly lease: Lease;

  constructor(db: Db, name: string, holder: string, durationMs: number, private readonly waitMs = 30_000) {
    this.lease = new Lease(db, name, holder, durationMs);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.waitMs;
    while (!(await this.lease.acquire())) {
      if (Date.now() > deadline) throw new Error(`${this.lease.name} stayed held by another hub replica for ${this.waitMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    try {
      return await task();
    } finally {
      await this.lease.release();
    }
  }
}

const POLL_MS = 5;
