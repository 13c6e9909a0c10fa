/**
 * Browser sessions stored in the database. The cookie carries a random secret; the row id is its SHA-256, so a
 * database leak does not yield usable cookies. Cookies are httpOnly and SameSite=Lax; Secure when served over https.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../store/database.js";

export const SESSION_COOKIE = "ganymede-session";
/** Double-submit XSRF cookie for the hub's own pages and API (readable by the dashboard's JavaScript). */
export const XSRF_COOKIE = "ganymede-xsrf";

export function sessionIdFor(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export async function createSession(db: Db, userId: number, maxAgeMs: number): Promise<{ secret: string; id: string }> {
  const secret = randomBytes(32).toString("base64url");
  const id = sessionIdFor(secret);
  await db.session.create({ data: { id, userId, expiresAt: new Date(Date.now() + maxAgeMs) } });
  return { secret, id };
}

export async function destroySession(db: Db, secret: string): Promise<void> {
  await db.session.deleteMany({ where: { id: sessionIdFor(secret) } });
}
