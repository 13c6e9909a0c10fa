/**
 * Resolves the principal behind a request from its API token (Authorization header) or its session cookie.
 * Lookups are cached for a few seconds because the proxy asks on every request; anything that changes rights
 * (sign-out, token revocation, user change) calls `forget()`/`clear()` so the cache never outlives a revocation in
 * this process.
 */
import type { IncomingMessage } from "node:http";
import { parseCookie } from "cookie";
import type { Db } from "../store/database.js";
import type { Principal } from "./principal.js";
import { SESSION_COOKIE, sessionIdFor } from "./sessions.js";
import { hashToken, tokenFromAuthorization } from "./tokens.js";

const CACHE_TTL_MS = 5_000;
const TOUCH_INTERVAL_MS = 60_000;

interface CacheEntry {
  principal: Principal | null;
  until: number;
}

export class Identifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: Db) {}

  /** The principal of a request, or undefined when it carries no valid credential. */
  async identify(req: IncomingMessage): Promise<Principal | undefined> {
    const token = tokenFromAuthorization(req.headers.authorization);
    if (token) return (await this.byToken(token)) ?? undefined;
    const cookieHeader = req.headers.cookie;
    if (!cookieHeader || !cookieHeader.includes(SESSION_COOKIE)) return undefined;
    const secret = parseCookie(cookieHeader)[SESSION_COOKIE];
    return secret ? ((await this.bySession(secret)) ?? undefined) : undefined;
  }

  async byToken(token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    return this.cached(`t:${hash}`, async () => {
      const row = await this.db.apiToken.findUnique({ where: { hash }, include: { user: true } });
      if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return null;
      this.touch(`t:${hash}`, () =>
        this.db.apiToken.update({ where: { id: row.id }, data: { lastActivity: new Date() } }),
      );
      return [{ userId: row.userId, name: row.user.name, admin: row.user.admin, via: "token", tokenId: row.id }, row.expiresAt];
    });
  }

  async bySession(secret: string): Promise<Principal | null> {
    const id = sessionIdFor(secret);
    return this.cached(`s:${id}`, async () => {
      const row = await this.db.session.findUnique({ where: { id }, include: { user: true } });
      if (!row || row.expiresAt.getTime() <= Date.now()) return null;
      this.touch(`s:${id}`, () => this.db.session.update({ where: { id }, data: { lastSeen: new Date() } }));
      return [{ userId: row.userId, name: row.user.name, admin: row.user.admin, via: "cookie", sessionId: id }, row.expiresAt];
    });
  }

  /** Drops every cached lookup (after a change to users, tokens or sessions). */
  clear(): void {
    this.cache.clear();
  }

  /** `load` returns the principal and when the credential expires, so a cached entry never outlives it. */
  private async cached(key: string, load: () => Promise<[Principal, Date | null] | null>): Promise<Principal | null> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.principal;
    const loaded = await load();
    if (this.cache.size > 10_000) this.cache.clear();
    const until = Math.min(now + CACHE_TTL_MS, loaded?.[1]?.getTime() ?? Infinity);
    this.cache.set(key, { principal: loaded?.[0] ?? null, until });
    return loaded?.[0] ?? null;
  }

  /** Records last use at most once a minute per credential, off the request path. */
  private touch(key: string, write: () => Promise<unknown>): void {
    const now = Date.now();
    if ((this.touched.get(key) ?? 0) + TOUCH_INTERVAL_MS > now) return;
    this.touched.set(key, now);
    write().catch(() => undefined);
  }
}
