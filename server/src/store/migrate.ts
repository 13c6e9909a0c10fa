/**
 * Brings a database's schema up to date from `prisma/<provider>/migrations`, like `prisma migrate deploy` but without
 * Prisma's CLI or native engine (see schema-engine.ts). Called at hub start and by `ganymede db migrate`.
 * New migrations come from `server/scripts/create-migration.ts`.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { MigrationList } from "@prisma/schema-engine-wasm";
import { migrationsDir, prismaDir, providerOf, redactUrl } from "./provider.js";
import { withSchemaEngine } from "./schema-engine.js";

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
