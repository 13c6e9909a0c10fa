/**
 * Which database a URL names, and where the Prisma files for it live.
 * One models file serves both providers (see prisma/models.prisma); everything provider-specific is chosen here,
 * at run time, from the URL.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export type Provider = "sqlite" | "postgresql";

/** `file:<path>` → SQLite; `postgres://`, `postgresql://` → PostgreSQL; anything else is a configuration error. */
export function providerOf(databaseUrl: string): Provider {
  if (databaseUrl.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return "postgresql";
  const shown = JSON.stringify(redactUrl(databaseUrl));
  throw new Error(`unsupported database URL ${shown}: use file:<path> (SQLite) or postgresql://… (PostgreSQL)`);
}

/**
 * The file path of a `file:` URL, relative paths against the working directory (as Prisma does).
 * Accepts `file:rel/path`, `file:/abs/path` and `file:///abs/path`; drops a `?query` (Prisma's old SQLite options).
 */
export function sqlitePath(databaseUrl: string): string {
  const rest = databaseUrl.slice("file:".length).replace(/\?.*$/, "");
  if (rest === ":memory:") return rest;
  const file = rest.startsWith("//") ? fileURLToPath(`file:${rest}`) : rest;
  return path.resolve(file);
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(databaseUrl: string): string {
  return databaseUrl.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

/**
 * The repository's `prisma/` folder. Resolved from this file because both `server/src/store` (tsx, vitest) and
 * `server/dist/store` (after tsc) sit at the same depth below the repository root.
 */
export const prismaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../prisma");

/** `prisma/<provider>`: the provider's schema folder (schema.prisma + a symlink to the shared models). */
export function schemaDir(provider: Provider): string {
  return path.join(prismaDir, provider);
}

/** `prisma/<provider>/migrations`: Prisma's standard migrations layout, one folder per migration. */
export function migrationsDir(provider: Provider): string {
  return path.join(schemaDir(provider), "migrations");
}
