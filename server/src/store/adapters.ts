/**
 * Driver adapter factories, one per provider, shared by the Prisma client (database.ts) and the schema engine
 * (schema-engine.ts) so both see the database configured the same way.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { providerOf, sqlitePath } from "./provider.js";

/** Prisma's `SqlDriverAdapter` (the package that declares it is not a direct dependency; see schema-engine.ts). */
export type DriverAdapter = Awaited<ReturnType<PrismaBetterSqlite3["connect"]>>;

/** Prisma's `SqlMigrationAwareDriverAdapterFactory`: what both the client and the schema engine accept. */
export interface AdapterFactory {
  readonly provider: "sqlite" | "postgres";
  readonly adapterName: string;
  connect(): Promise<DriverAdapter>;
  connectToShadowDb(): Promise<DriverAdapter>;
}

/**
 * Per connection: WAL lets readers proceed while one writer commits; the busy timeout makes a second writer (another
 * process, or `ganymede db migrate` next to a running hub) wait instead of failing with SQLITE_BUSY; better-sqlite3
 * already enables foreign keys by default, but cascades are part of the model's meaning, so say it explicitly.
 *
 * synchronous = NORMAL (SQLite's advice for WAL): commits are written, and synced at checkpoints rather than one
 * fsync each. better-sqlite3 runs on the event loop, so with FULL every commit waited for the disk there: a profile of
 * 150 containers stopped at once (the engine writing hard meanwhile) showed the loop held by commits for up to ~90 ms
 * in one stretch, which every API request waiting behind them felt. What NORMAL risks is the last transactions before a power cut (never a corrupt database, and
 * nothing on a crash of the hub alone); the hub compares its rows with what backends really run at each start.
 */
const SQLITE_PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/**
 * `purpose` selects the work-arounds the schema engine needs and the hub's client must not pay for (see
 * acceptScripts and CharAsTextClient).
 */
export function adapterFactory(databaseUrl: string, purpose: "client" | "schema-engine" = "client"): AdapterFactory {
  return providerOf(databaseUrl) === "sqlite"
    ? sqliteFactory(databaseUrl)
    : postgresFactory(databaseUrl, purpose === "schema-engine");
}

function sqliteFactory(databaseUrl: string): AdapterFactory {
  const file = sqlitePath(databaseUrl);
  // The adapter strips only a leading `file:`; hand it the resolved path so relative paths and file:/// URLs agree.
  const inner = new PrismaBetterSqlite3({ url: file });
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect() {
      if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
      const adapter = await inner.connect();
      await adapter.executeScript(SQLITE_PRAGMAS);
      return adapter;
    },
    // The schema engine's shadow database (only used when creating migrations): the adapter's in-memory default.
    connectToShadowDb: async () => acceptScripts(await inner.connectToShadowDb()),
  };
}

/**
 * The schema engine replays whole migration files into the shadow database with executeRaw, but better-sqlite3
 * prepares one statement at a time ("The supplied SQL string contains more than one statement"): send a
 * parameterless multi-statement text through executeScript instead, which runs scripts.
 */
function acceptScripts(adapter: DriverAdapter): DriverAdapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (err) {
      if (query.args.length > 0 || !/more than one statement/.test(String(err))) throw err;
      await adapter.executeScript(query.sql);
      return 0;
    }
  };
  return adapter;
}

function postgresFactory(databaseUrl: string, forSchemaEngine: boolean): AdapterFactory {
  const inner = pgAdapterFactory(databaseUrl, forSchemaEngine);
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: () => inner.connect(),
    connectToShadowDb: () => connectToShadowPostgres(databaseUrl),
  };
}

function pgAdapterFactory(databaseUrl: string, forSchemaEngine: boolean): PrismaPg {
  if (!forSchemaEngine) return new PrismaPg({ connectionString: databaseUrl });
  const pool = new pg.Pool({ connectionString: databaseUrl, Client: CharAsTextClient });
  return new PrismaPg(pool, { disposeExternalPool: true });
}

/**
 * The schema engine reads PostgreSQL's catalogs, which use the internal one-byte `"char"` type (OID 18, e.g.
 * pg_constraint.contype). adapter-pg has no mapping for it and fails with "Column type 'char' could not be
 * deserialized"; its values arrive as one-character strings anyway, so we announce those columns as `text` (OID 25)
 * before the adapter looks. `_handleRowDescription` is pg's (internal) handler for a result's column list.
 */
const pgClientInternals = pg.Client.prototype as unknown as { _handleRowDescription(msg: unknown): void };

class CharAsTextClient extends pg.Client {
  _handleRowDescription(msg: { fields: { dataTypeID: number }[] }): void {
    for (const field of msg.fields) if (field.dataTypeID === 18) field.dataTypeID = 25;
    pgClientInternals._handleRowDescription.call(this, msg);
  }
}

/**
 * A throwaway database for the schema engine to replay migrations into (only when creating migrations).
 * Not PrismaPg's own connectToShadowDb: it leaves its admin pool open (keeping the process alive) and drops the
 * shadow database while its own pool is still connected to it, which PostgreSQL refuses.
 */
async function connectToShadowPostgres(databaseUrl: string): Promise<DriverAdapter> {
  const name = `ganymede_shadow_${randomUUID().replaceAll("-", "")}`;
  await adminQuery(databaseUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const adapter = await pgAdapterFactory(url.toString(), true).connect();
  const dispose = adapter.dispose.bind(adapter);
  adapter.dispose = async () => {
    await dispose();
    await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  return adapter;
}

/** One statement on its own short-lived connection (CREATE/DROP DATABASE cannot run inside a transaction). */
async function adminQuery(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
