/**
 * Slows down password guessing: failed sign-ins are counted per username and per client address over a window;
 * past either limit, sign-in answers 429 with Retry-After until the window moves on. A success clears the
 * username's count. Counters live in the database (rate-limiter-flexible's Prisma store, table SignInFailure), so that
 * every hub replica counts the same failures: a guesser spreading attempts over replicas gains nothing. A sign-in
 * costs one or two small queries, and failed ones are rare.
 */
import { RateLimiterPrisma, RateLimiterRes } from "rate-limiter-flexible";
import type { Db } from "../store/database.js";
import { RateLimitedError } from "../errors.js";

export interface ThrottleLimits {
  /** Failed sign-ins allowed per username within the window. */
  perUser: number;
  /** Failed sign-ins allowed per client address within the window. */
  perAddress: number;
  windowMs: number;
}

export class SignInThrottle {
  private readonly users: RateLimiterPrisma;
  private readonly addresses: RateLimiterPrisma;

  constructor(db: Db, limits: ThrottleLimits) {
    const duration = Math.max(1, Math.round(limits.windowMs / 1000));
    const store = { storeClient: db, tableName: "signInFailure" };
    this.users = new RateLimiterPrisma({ ...store, keyPrefix: "user", points: limits.perUser, duration });
    this.addresses = new RateLimiterPrisma({ ...store, keyPrefix: "addr", points: limits.perAddress, duration });
  }

  /** Throws RateLimitedError when the username or the address has used up its failures. */
  async check(username: string, address: string): Promise<void> {
    const [user, addr] = await Promise.all([this.users.get(userKey(username)), this.addresses.get(address)]);
    const blocked = [
      { res: user, limiter: this.users, what: `the account ${userKey(username)}` },
      { res: addr, limiter: this.addresses, what: `your address` },
    ].find(({ res, limiter }) => res !== null && res.consumedPoints >= limiter.points);
    if (blocked) {
      const seconds = Math.max(1, Math.ceil(blocked.res!.msBeforeNext / 1000));
      throw new RateLimitedError(`too many failed sign-ins for ${blocked.what}; try again in ${seconds} s`, seconds);
    }
  }

  async failed(username: string, address: string): Promise<void> {
    await Promise.all([
      this.users.consume(userKey(username)).catch(ignoreLimit),
      this.addresses.consume(address).catch(ignoreLimit),
    ]);
  }

  async succeeded(username: string): Promise<void> {
    await this.users.delete(userKey(username));
  }
}

/** Counts `Alice`, `alice` and `alice@ad.example.org` alike would need the backend's normalisation; lower-case suffices here. */
function userKey(username: string): string {
  return username.trim().toLowerCase();
}

/** Consuming past the limit rejects with a RateLimiterRes: the count is what matters, not the rejection. */
function ignoreLimit(err: unknown): void {
  if (!(err instanceof RateLimiterRes)) throw err;
}
