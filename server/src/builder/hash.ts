import { createHash } from "node:crypto";

/** The first `length` hex digits of the SHA-256 of `text`: a short, stable suffix that keeps shortened names unique. */
export function shortHash(text: string, length = 8): string {
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, length);
}
