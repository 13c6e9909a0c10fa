/**
 * Hub users: creation with validated names, groups, local passwords, deletion (servers and their storage go too).
 * Authentication backends (local accounts now, LDAP/OIDC later) call `upsertFromLogin` through the same rules.
 */
import { AlreadyExistsError, InputError, NotFoundError } from "../errors.js";
import type { Identifier } from "../auth/identify.js";
import { hashPassword } from "../auth/passwords.js";
import type { Servers } from "../servers/service.js";
import { isUniqueViolation, type Db } from "../store/database.js";

/** Lowercase letters, digits, '.', '_' and '-', starting with a letter or digit; at most 64 characters. */
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function validateUsername(name: string): void {
  if (!USERNAME.test(name) || name.includes("..")) {
    throw new InputError(
      `invalid username "${name}": use 1–64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit`,
      [{ field: "name", detail: "invalid username" }],
    );
  }
}

/** What a user is loaded with: groups (for policies) and servers (for the API's user model), in one query. */
export const userInclude = { groups: { include: { group: true } }, servers: { orderBy: { name: "asc" } } } as const;

export type UserWithGroups = Awaited<ReturnType<Users["get"]>>;

export class Users {
  /** `servers` is needed only to delete users (the CLI manages accounts without running any server). */
  constructor(
    private readonly db: Db,
    private readonly identifier?: Identifier,
    private readonly servers?: Servers,
  ) {}

  async find(name: string) {
    return this.db.user.findUnique({ where: { name }, include: userInclude });
  }

  async get(name: string) {
    const user = await this.find(name);
    if (!user) throw new NotFoundError(`no such user: ${name}`);
    return user;
  }

  async create(name: string, options: { admin?: boolean; password?: string; groups?: string[] } = {}) {
    validateUsername(name);
    if (options.password !== undefined && options.password.length < 8) {
      throw new InputError("password must be at least 8 characters", [{ field: "password", detail: "too short" }]);
    }
    try {
      await this.db.user.create({
        data: {
          name,
          admin: options.admin ?? false,
          passwordHash: options.password ? await hashPassword(options.password) : null,
        },
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AlreadyExistsError(`user ${name} already exists`);
      throw err;
    }
    if (options.groups?.length) await this.setGroups(name, options.groups);
    return this.get(name);
  }

  async setGroups(name: string, groups: string[]): Promise<void> {
    const user = await this.get(name);
    await this.db.$transaction(async (tx) => {
      await tx.userGroup.deleteMany({ where: { userId: user.id } });
      for (const groupName of new Set(groups)) {
        const group = await tx.group.upsert({ where: { name: groupName }, create: { name: groupName }, update: {} });
        await tx.userGroup.create({ data: { userId: user.id, groupId: group.id } });
      }
    });
  }

  async setAdmin(name: string, admin: boolean): Promise<void> {
    await this.db.user.update({ where: { name }, data: { admin } });
    this.identifier?.clear();
  }

  async setPassword(name: string, password: string): Promise<void> {
    if (password.length < 8) throw new InputError("password must be at least 8 characters");
    await this.db.user.update({ where: { name }, data: { passwordHash: await hashPassword(password) } });
  }

  /** Ends every browser session of a user (their API tokens stay; they carry the user's current rights). */
  async revokeSessions(name: string): Promise<void> {
    await this.db.session.deleteMany({ where: { user: { name } } });
    this.identifier?.clear();
  }

  /** Deletes a user: stops and deletes all their servers (storage included), then the user, sessions and tokens. */
  async delete(name: string): Promise<void> {
    const user = await this.get(name);
    if (!this.servers) throw new Error("deleting users needs the servers module");
    await this.servers.destroyAll(user);
    // Shares are by name: a later user of the same name must not inherit this one's.
    await this.db.$transaction([
      this.db.serverShare.deleteMany({ where: { kind: "user", target: user.name } }),
      this.db.user.delete({ where: { id: user.id } }),
    ]);
    this.identifier?.clear();
  }

  groupsOf(user: { groups: { group: { name: string } }[] }): string[] {
    return user.groups.map((g) => g.group.name).sort();
  }
}
