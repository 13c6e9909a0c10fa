/**
 * Brings a database's schema up to date from `prisma/<provider>/migrations`, like `prisma migrate deploy` but without
 * Prisma's CLI or native engine (see schema-engine.ts). Called at hub start and by `ganymede db migrate`.
 * New migrations come from `server/scripts/create-migration.ts`.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { MigrationList } from "@prisma/schema-engine-wasm";
import { migrationsDir, prismaDir, providerOf, redactUrl } from "./provider.js";
import { withSchemaEngine } from "./schema-engine.js";
import type { Db } from "./database.js";

export { migrationsDir, prismaDir };

/** Nothing is filtered out: every table in the database belongs to the hub. */
export const NO_FILTER = { externalTables: [], externalEnums: [] };

/** Prisma's view of a migrations folder: the lock file and every `<name>/migration.sql`, sorted by name. */
export async function listMigrations(dir: string): Promise<MigrationList> {
  const lockfile = {
    path: "migration_lock.toml",
    content: await readFile(path.join(dir, "migration_lock.toml"), "utf8").catch(() => null),
  };
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: await readFile(path.join(dir, name, "migration.sql"), "utf8").then(
          (value) => ({ tag: "ok" as const, value }),
          (err: Error) => ({ tag: "error" as const, value: err.message }),
        ),
      },
    })),
  );
  return { baseDir: dir, lockfile, shadowDbInitScript: "", migrationDirectories };
}

/**
 * Applies the migrations the database does not have yet, recording them in Prisma's `_prisma_migrations` table.
 * Idempotent. A SQLite file (and its directory) is created if missing; a PostgreSQL database must already exist.
 * Returns the names of the migrations applied by this call.
 */
export async function applyMigrations(
  databaseUrl: string,
  log: (msg: string) => void = () => {},
): Promise<{ applied: string[] }> {
  const dir = migrationsDir(providerOf(databaseUrl));
  const migrationsList = await listMigrations(dir);
  // Without this, a missing folder (a broken install) would report an empty database as "up to date".
  if (migrationsList.migrationDirectories.length === 0) throw new Error(`no migrations found in ${dir}`);
  const { appliedMigrationNames: applied } = await withSchemaEngine(
    databaseUrl,
    (engine) => engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
    // The engine's progress ("Applying `<name>`") and its warnings, not its start-up chatter.
    (msg) => /Applying|warn|error/i.test(msg) && log(msg),
  );
  const target = redactUrl(databaseUrl);
  log(applied.length ? `applied ${applied.join(", ")} to ${target}` : `${target} is up to date`);
  return { applied };
}

/**
 * Whether the database already has every migration of the folder, each recorded as applied with the checksum Prisma
 * gives it (the SHA-256 of its file). Then a hub start need not run the schema engine (a child process, about half a
 * second) to hear that there is nothing to do. Anything else — a new migration, an edited one, a failed one, no table
 * yet — is the engine's to apply or to refuse.
 */
export async function isUpToDate(db: Db, databaseUrl: string): Promise<boolean> {
  const { migrationDirectories } = await listMigrations(migrationsDir(providerOf(databaseUrl)));
  let rows: { migration_name: string; checksum: string }[];
  try {
    rows = await db.$queryRawUnsafe(
      "SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
  } catch {
    return false; // a new database: no table yet
  }
  const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]));
  return migrationDirectories.every((dir) => {
    const file = dir.migrationFile.content;
    return file.tag === "ok" && applied.get(dir.path) === createHash("sha256").update(file.value).digest("hex");
  });
}
