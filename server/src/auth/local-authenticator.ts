/** Local accounts (the embedded default): scrypt password hashes in the hub's database; groups kept by the hub. */
import type { Db } from "../store/database.js";
import type { ExternalIdentity, PasswordAuthenticator } from "./authenticator.js";
import { verifyPassword } from "./passwords.js";

/** A valid scrypt hash of a random password: an unknown user costs the same time as a wrong password. */
const DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

export class LocalAuthenticator implements PasswordAuthenticator {
  readonly name = "local";
  readonly syncsGroups = false;

  constructor(private readonly db: Db) {}

  async authenticate(username: string, password: string): Promise<ExternalIdentity | null> {
    const name = username.trim().toLowerCase();
    const user = name ? await this.db.user.findUnique({ where: { name } }) : null;
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    return user?.passwordHash && ok ? { username: user.name, groups: [] } : null;
  }
}
