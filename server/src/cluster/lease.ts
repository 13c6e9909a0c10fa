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
   * Takes or renews the lease; true when this replica holds it now. A lease held by a replica not `alive` (known
   * dead) is taken at once, without waiting for it to expire.
   */
  async acquire(alive: ReadonlySet<string>): Promise<boolean> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.durationMs);
    const taken = await this.db.lease.updateMany({
      where: { name: this.name, OR: [{ holder: this.holder }, { expiresAt: { lt: now } }, { holder: { notIn: [...alive] } }] },
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
