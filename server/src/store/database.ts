/**
 * The hub's database handle: a Prisma client for SQLite or PostgreSQL, chosen from the URL.
 * Migrations are not applied here: call applyMigrations (migrate.ts) first, at hub start or via `ganymede db migrate`.
 */
import { Prisma, PrismaClient as SqliteClient } from "../generated/sqlite/client.js";
import { PrismaClient as PostgresClient } from "../generated/postgresql/client.js";
import { adapterFactory } from "./adapters.js";
import { providerOf, type Provider } from "./provider.js";

/**
 * The client type the rest of the hub uses, whatever the provider.
 *
 * Both clients are generated from the same models file (prisma/models.prisma) by the same Prisma version, and the
 * models use only types both providers map the same way (Int, String, Boolean, DateTime), so their model APIs are
 * identical; only the provider literal inside differs. Typing the PostgreSQL client as the SQLite one is therefore
 * sound, and it spares every service a union of two structurally equal types. test/store.test.ts runs the same
 * suite against both providers to keep it that way.
 */
export type Db = SqliteClient;

export interface Database {
  provider: Provider;
  prisma: Db;
  /** Disconnects the client: closes the SQLite file or ends the PostgreSQL pool. */
  close(): Promise<void>;
}

/**
 * Opens the database at `databaseUrl` (`file:<path>` or `postgres(ql)://…`) and checks that it answers.
 * SQLite connections run with WAL, a busy timeout and foreign keys on (see adapters.ts).
 */
export async function openDatabase(databaseUrl: string): Promise<Database> {
  const provider = providerOf(databaseUrl);
  const adapter = adapterFactory(databaseUrl);
  const prisma =
    provider === "sqlite" ? new SqliteClient({ adapter }) : (new PostgresClient({ adapter }) as unknown as Db);
  try {
    // Connect now, so a wrong URL or an unreachable server fails at startup rather than on the first request.
    await prisma.$connect();
  } catch (err) {
    await prisma.$disconnect().catch(() => {});
    throw err;
  }
  return { provider, prisma, close: () => prisma.$disconnect() };
}

/**
 * True when `err` is Prisma's unique-constraint violation (P2002), e.g. creating a user whose name is taken.
 * Both generated clients share one runtime, so one class check covers both providers.
 */
export function isUniqueViolation(err: unknown): err is Prisma.PrismaClientKnownRequestError {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";
}
