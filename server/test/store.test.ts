/**
 * The store's contract, one suite run against every provider: SQLite (a temp file) and a real PostgreSQL
 * (test/support/postgres.ts). Both must behave identically for the hub's services, which only see `Db`.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isUniqueViolation, openDatabase, type Database, type Db } from "../src/store/database.js";
import { applyMigrations, migrationsDir } from "../src/store/migrate.js";
import type { Provider } from "../src/store/provider.js";
import { UnixIdentities } from "../src/users/unix-identities.js";
import { startPostgres, type PostgresServer } from "./support/postgres.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ganymede-store-"));
let postgres: PostgresServer | undefined;
let databases = 0;

/** A new, empty database of the given provider. */
async function emptyDatabase(provider: Provider): Promise<string> {
  const name = `store_${++databases}`;
  if (provider === "sqlite") return `file:${path.join(tmp, name, "hub.sqlite")}`; // the directory does not exist yet
  postgres ??= await startPostgres();
  return postgres.createDatabase(name);
}

afterAll(async () => {
  await postgres?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.each(["sqlite", "postgresql"] as const)("store on %s", (provider) => {
  let database: Database;
  let db: Db;

  beforeAll(async () => {
    const url = await emptyDatabase(provider);
    await applyMigrations(url);
    database = await openDatabase(url);
    db = database.prisma;
  });

  afterAll(async () => {
    await database?.close();
  });

  beforeEach(async () => {
    // Cascades remove memberships, sessions, tokens and servers.
    await db.user.deleteMany();
    await db.group.deleteMany();
    await db.unixIdentity.deleteMany();
  });

  it("applies the migrations to an empty database, then re-applies as a no-op", async () => {
    const url = await emptyDatabase(provider);
    const expected = readdirSync(migrationsDir(provider), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(expected.length).toBeGreaterThan(0);

    expect(await applyMigrations(url)).toEqual({ applied: expected });
    expect(await applyMigrations(url)).toEqual({ applied: [] });

    const fresh = await openDatabase(url);
    try {
      expect(fresh.provider).toBe(provider);
      const rows = await fresh.prisma.$queryRawUnsafe<{ migration_name: string; finished: unknown }[]>(
        `SELECT migration_name, finished_at AS finished FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows.map((r) => r.migration_name)).toEqual(expected);
      expect(rows.every((r) => r.finished !== null)).toBe(true);
      expect(await fresh.prisma.user.count()).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it("creates a user with groups", async () => {
    await db.group.create({ data: { name: "staff" } });
    const user = await db.user.create({
      data: {
        name: "alice",
        groups: {
          create: [
            { group: { connect: { name: "staff" } } },
            { group: { create: { name: "physics" } } },
          ],
        },
      },
      include: { groups: { include: { group: true } } },
    });
    expect(user).toMatchObject({ name: "alice", admin: false, passwordHash: null, lastActivity: null });
    expect(user.createdAt).toBeInstanceOf(Date);
    expect(user.groups.map((m) => m.group.name).sort()).toEqual(["physics", "staff"]);

    const staff = await db.group.findUniqueOrThrow({
      where: { name: "staff" },
      include: { members: { include: { user: true } } },
    });
    expect(staff.members.map((m) => m.user.name)).toEqual(["alice"]);
  });

  it("round-trips dates and defaults exactly", async () => {
    const expiresAt = new Date("2031-02-03T04:05:06.789Z");
    const user = await db.user.create({ data: { name: "bob", admin: true, lastActivity: expiresAt } });
    const token = await db.apiToken.create({ data: { userId: user.id, hash: "h1", prefix: "abc", expiresAt } });
    const again = await db.apiToken.findUniqueOrThrow({ where: { hash: "h1" } });
    expect(again.expiresAt?.toISOString()).toBe(expiresAt.toISOString());
    expect(again).toMatchObject({ note: "", scopes: '["inherit"]', lastActivity: null });
    expect(again.createdAt.getTime()).toBe(token.createdAt.getTime());
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).lastActivity).toEqual(expiresAt);
  });

  it("detects a duplicate user name as a unique violation", async () => {
    await db.user.create({ data: { name: "carol" } });
    const err = await db.user.create({ data: { name: "carol" } }).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
    expect(await db.user.count({ where: { name: "carol" } })).toBe(1);

    // Other failures are not mistaken for it.
    const missing = await db.user.update({ where: { name: "nobody" }, data: { admin: true } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Error);
    expect(isUniqueViolation(missing)).toBe(false);
    expect(isUniqueViolation(new Error("P2002"))).toBe(false);
  });

  it("allows one server per (user, name)", async () => {
    const alice = await db.user.create({ data: { name: "alice" } });
    const bob = await db.user.create({ data: { name: "bob" } });
    const server = await db.server.create({ data: { userId: alice.id, name: "" } });
    expect(server).toMatchObject({ status: "stopped", backend: "local", userOptions: "{}", endpoint: null });
    await db.server.create({ data: { userId: alice.id, name: "gpu" } });
    await db.server.create({ data: { userId: bob.id, name: "" } });

    const err = await db.server.create({ data: { userId: alice.id, name: "gpu" } }).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);

    const found = await db.server.findUnique({ where: { userId_name: { userId: alice.id, name: "gpu" } } });
    expect(found?.name).toBe("gpu");
    expect(await db.server.count()).toBe(3);
  });

  it("deletes a user's sessions, tokens, servers and memberships with the user", async () => {
    const dave = await db.user.create({
      data: {
        name: "dave",
        groups: { create: { group: { create: { name: "staff" } } } },
        sessions: { create: { id: "s1", expiresAt: new Date(Date.now() + 60_000) } },
        tokens: { create: { hash: "t1", prefix: "t1" } },
        servers: { create: [{ name: "" }, { name: "gpu" }] },
      },
    });
    const erin = await db.user.create({
      data: { name: "erin", sessions: { create: { id: "s2", expiresAt: new Date(Date.now() + 60_000) } } },
    });

    await db.user.delete({ where: { id: dave.id } });

    expect(await db.session.findMany({ select: { id: true } })).toEqual([{ id: "s2" }]);
    expect(await db.apiToken.count()).toBe(0);
    expect(await db.server.count()).toBe(0);
    expect(await db.userGroup.count()).toBe(0);
    expect(await db.group.count()).toBe(1); // groups outlive their members
    expect(await db.user.findMany({ select: { id: true } })).toEqual([{ id: erin.id }]);
  });

  it("refuses rows that point at a missing user", async () => {
    const err = await db.session
      .create({ data: { id: "orphan", userId: 987_654, expiresAt: new Date() } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await db.session.count()).toBe(0);
  });

  it("gives each user one uid, skipping the machine's ids, and never hands a uid to a second person", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `user${i}`);
    for (const name of names) await db.user.create({ data: { name } });
    const machine = [[1005, 1006]] as const; // e.g. an account and a subordinate range of the machine
    const a = new UnixIdentities(db, { first: 1000, last: 1099 }, () => machine);
    const b = new UnixIdentities(db, { first: 1000, last: 1099 }, () => machine); // a second hub on the same database
    // Concurrent first starts, from two hubs, twice for each user.
    const uids = await Promise.all([...names, ...names].map((name, i) => (i % 2 ? a : b).uidFor(name)));
    const byUser = new Map<string, number>();
    uids.forEach((uid, i) => {
      const name = [...names, ...names][i]!;
      expect(byUser.get(name) ?? uid).toBe(uid);
      byUser.set(name, uid);
    });
    const given = [...byUser.values()].sort((x, y) => x - y);
    expect(new Set(given).size).toBe(names.length);
    expect(given.filter((uid) => uid === 1005 || uid === 1006)).toEqual([]);
    expect(given.every((uid) => uid >= 1000 && uid <= 1099)).toBe(true);

    // A deleted user's uid stays taken; a new user gets a new one.
    const gone = byUser.get("user0")!;
    await db.user.delete({ where: { name: "user0" } });
    expect(await db.unixIdentity.findUnique({ where: { uid: gone } })).toMatchObject({ userId: null });
    await db.user.create({ data: { name: "newcomer" } });
    const fresh = new UnixIdentities(db, { first: 1000, last: 1099 }, () => machine);
    expect(await fresh.uidFor("newcomer")).toBe(Math.max(...given) + 1);
    expect(await fresh.uidFor("user1")).toBe(byUser.get("user1"));

    // An exhausted range is refused with the range in the message.
    await db.user.create({ data: { name: "late" } });
    const full = new UnixIdentities(db, { first: 1000, last: Math.max(...given) + 1 }, () => machine);
    await expect(full.uidFor("late")).rejects.toThrow(/no Unix uid is left for late: every uid of spawner\.local\.uids \(1000–1014\)/);
  });

  it("rolls a transaction back when it throws", async () => {
    await expect(
      db.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { name: "frank" } });
        await tx.server.create({ data: { userId: user.id, name: "" } });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await db.user.count()).toBe(0);
    expect(await db.server.count()).toBe(0);

    // And when a statement inside it fails, nothing before it survives either.
    await db.user.create({ data: { name: "grace" } });
    const err = await db
      .$transaction(async (tx) => {
        await tx.group.create({ data: { name: "temp" } });
        await tx.user.create({ data: { name: "grace" } });
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
    expect(await db.group.count()).toBe(0);
  });
});

describe("openDatabase", () => {
  it("runs SQLite with WAL, a busy timeout and foreign keys", async () => {
    const url = await emptyDatabase("sqlite");
    await applyMigrations(url);
    const { prisma, close } = await openDatabase(url);
    try {
      const [mode] = await prisma.$queryRawUnsafe<{ journal_mode: string }[]>("PRAGMA journal_mode");
      const [timeout] = await prisma.$queryRawUnsafe<{ timeout: unknown }[]>("PRAGMA busy_timeout");
      const [fk] = await prisma.$queryRawUnsafe<{ foreign_keys: unknown }[]>("PRAGMA foreign_keys");
      expect(mode?.journal_mode).toBe("wal");
      expect(Number(timeout?.timeout)).toBeGreaterThanOrEqual(1000);
      expect(Number(fk?.foreign_keys)).toBe(1);
    } finally {
      await close();
    }
  });

  it("rejects URLs of other databases", async () => {
    await expect(openDatabase("mysql://localhost/hub")).rejects.toThrow(/unsupported database URL/);
  });
});
