/**
 * First run: with no user at all, create the administrator `admin` with a random password written to a 0600 file
 * in the data directory (like Jenkins' initialAdminPassword), so the password never appears in a log.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/database.js";
import type { Users } from "../users/service.js";

export const BOOTSTRAP_ADMIN = "admin";

export async function bootstrapAdmin(db: Db, users: Users, dataDir: string, logger: Logger): Promise<string | undefined> {
  if ((await db.user.count()) > 0) return undefined;
  const password = randomBytes(12).toString("base64url");
  const file = path.join(dataDir, "initial-admin-password");
  await writeFile(file, password + "\n", { mode: 0o600 });
  await users.create(BOOTSTRAP_ADMIN, { admin: true, password });
  logger.info({ user: BOOTSTRAP_ADMIN, passwordFile: file }, "first run: created the administrator");
  return file;
}
