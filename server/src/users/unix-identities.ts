/**
 * One Unix identity per hub user, for servers that run as processes on the hub's machine: a uid (with a gid of the
 * same number) taken from the configured range at the user's first start and recorded in the database, so it is
 * stable across restarts and machines sharing the database, needs no /etc/passwd entry, and works for any hub name
 * (the hub's user name is not a Unix name). Uids only ever grow and rows outlive their users: a uid is never
 * handed to a second person, who would otherwise inherit files the first one left in /tmp or on a volume.
 */
import { UnavailableError } from "../errors.js";
import { isUniqueViolation, type Db } from "../store/database.js";
import { firstFreeId, machineIds, type IdRanges } from "./system-ids.js";

export interface UidRange {
  first: number;
  last: number;
}

/** What a spawner asks for: the uid of a hub user's servers (allocated on first use). */
export interface UidSource {
  uidFor(userName: string): Promise<number>;
  /** Where uids come from, for administrators: "uids 1000000–1999999, recorded in the database". */
  readonly description: string;
}

/** Tries against other hubs allocating at the same moment (within one hub, allocations take turns). */
const ATTEMPTS = 20;

export class UnixIdentities implements UidSource {
  /** Uids already looked up (they never change), so a start costs no query after the first. */
  private readonly known = new Map<string, number>();
  /** The allocation under way: one at a time, so that simultaneous first starts do not all race for one uid. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly range: UidRange,
    private readonly takenOnMachine: () => IdRanges = machineIds,
  ) {}

  get description(): string {
    return `uids ${this.range.first}–${this.range.last}, one per user, recorded in the database`;
  }

  async uidFor(userName: string): Promise<number> {
    const cached = this.known.get(userName);
    if (cached !== undefined) return cached;
    const run = this.turn.then(() => this.lookupOrAllocate(userName));
    this.turn = run.catch(() => undefined);
    const uid = await run;
    this.known.set(userName, uid);
    return uid;
  }

  private async lookupOrAllocate(userName: string): Promise<number> {
    const user = await this.db.user.findUnique({ where: { name: userName }, select: { id: true, unixIdentity: true } });
    if (!user) throw new Error(`no such user: ${userName}`);
    if (user.unixIdentity) return user.unixIdentity.uid;
    for (let attempt = 1; ; attempt++) {
      const { first, last } = this.range;
      const highest = await this.db.unixIdentity.aggregate({ _max: { uid: true }, where: { uid: { gte: first, lte: last } } });
      const uid = firstFreeId((highest._max.uid ?? first - 1) + 1, last, this.takenOnMachine());
      if (uid === undefined) {
        throw new UnavailableError(
          `no Unix uid is left for ${userName}: every uid of spawner.local.uids (${first}–${last}) has been handed out or belongs to this machine's accounts; an administrator can widen the range`,
        );
      }
      try {
        await this.db.unixIdentity.create({ data: { uid, userId: user.id } });
        return uid;
      } catch (err) {
        // Another start (or hub) took this uid, or gave this user one, at the same moment: look again.
        if (!isUniqueViolation(err) || attempt >= ATTEMPTS) throw err;
        const mine = await this.db.unixIdentity.findUnique({ where: { userId: user.id } });
        if (mine) return mine.uid;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      }
    }
  }
}
