/**
 * API tokens. A token is 32 random bytes (base64url); only its SHA-256 is stored. A fast hash is right here because
 * the token has full entropy (no dictionary to attack), and it lets a lookup be a single indexed query.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../store/database.js";

export const TOKEN_PREFIX_LENGTH = 4;

export function newTokenSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface IssuedToken {
  token: string;
  id: number;
}

export async function issueToken(
  db: Db,
  userId: number,
  options: { note?: string; expiresInSeconds?: number | null; scopes?: string[] } = {},
): Promise<IssuedToken> {
  const token = newTokenSecret();
  const row = await db.apiToken.create({
    data: {
      userId,
      hash: hashToken(token),
      prefix: token.slice(0, TOKEN_PREFIX_LENGTH),
      note: options.note ?? "",
      scopes: JSON.stringify(options.scopes ?? ["inherit"]),
      expiresAt: options.expiresInSeconds ? new Date(Date.now() + options.expiresInSeconds * 1000) : null,
    },
  });
  return { token, id: row.id };
}

/** Extracts a token from `Authorization: token …` / `Authorization: Bearer …`. */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
