/**
 * Prisma's schema engine (the part behind `prisma migrate`) running in WebAssembly, talking to the database through a
 * driver adapter. It replaces the native `schema-engine` binary, which Prisma's CLI downloads from a host that is not
 * reachable here, and behaves the same on every machine the hub runs on.
 *
 * The wasm package is internal to Prisma ("its API will break without prior warning"): every @prisma/* package is
 * pinned to one exact version in package.json, and this file is the only place that touches it.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";
import * as bindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import { adapterFactory, type AdapterFactory, type DriverAdapter } from "./adapters.js";
import { providerOf, schemaDir } from "./provider.js";

export type { SchemaEngine };

const require = createRequire(import.meta.url);

interface ErrorRegistry {
  /** JS exceptions the engine saw, by the id it reports them with ("External error id#<id>"). */
  consumeError(id: number): { error: unknown } | undefined;
}

/** Prisma's wrapper that turns adapter exceptions into the Result values the engine expects. */
type BindFactory = (factory: AdapterFactory) => AdapterFactory & { errorRegistry: ErrorRegistry };

// Pinned to the adapters' exact version, so the error protocol is the one they speak.
const bind = bindMigrationAwareSqlAdapterFactory as unknown as BindFactory;

/**
 * Timers the engine armed (its connection and statement timeouts). It never clears them, and an armed timer keeps
 * Node alive, so `ganymede db migrate` would linger for their duration: they are cleared when the engine is done.
 */
const engineTimers = new Set<NodeJS.Timeout>();

let loaded: Promise<void> | undefined;

/**
 * Instantiates the wasm module once per process. The package's main entry imports the .wasm file as an ES module,
 * which Node 20 cannot do without a flag, so we compile it here and hand the instance to the JS bindings, with the
 * bindings' setTimeout import replaced by one that records the timers.
 */
function loadWasm(): Promise<void> {
  loaded ??= (async () => {
    const wasmFile = path.join(path.dirname(require.resolve("@prisma/schema-engine-wasm")), "schema_engine_bg.wasm");
    const imports: Record<string, WebAssembly.ImportValue> = { ...bindings };
    for (const name of Object.keys(imports).filter((n) => n.startsWith("__wbg_setTimeout_"))) {
      imports[name] = (callback: () => void, ms: number) => {
        const timer = setTimeout(() => {
          engineTimers.delete(timer);
          callback();
        }, ms >>> 0);
        engineTimers.add(timer);
        return timer;
      };
    }
    const module = await WebAssembly.compile(await readFile(wasmFile));
    const instance = await WebAssembly.instantiate(module, { "./schema_engine_bg.js": imports });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  return loaded;
}

/** The provider's schema files (schema.prisma and the shared models), as the engine wants them. */
export async function schemaFiles(databaseUrl: string): Promise<{ path: string; content: string }[]> {
  const dir = schemaDir(providerOf(databaseUrl));
  return Promise.all(
    ["schema.prisma", "models.prisma"].map(async (name) => {
      const file = path.join(dir, name);
      return { path: file, content: await readFile(file, "utf8") };
    }),
  );
}

/** Engine operations run one at a time: the bindings hold one wasm instance per process and the timers are global. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `use` with a schema engine connected to `databaseUrl`; afterwards frees the engine, closes every connection
 * it opened and clears its timers, so nothing keeps the process alive. `log` receives the engine's log messages.
 */
export function withSchemaEngine<T>(
  databaseUrl: string,
  use: (engine: SchemaEngine) => Promise<T>,
  log: (msg: string) => void = () => {},
): Promise<T> {
  const run = async () => {
    await loadWasm();
    const files = await schemaFiles(databaseUrl);
    const connections = tracked(adapterFactory(databaseUrl, "schema-engine"));
    const factory = bind(connections.factory);
    let engine: SchemaEngine | undefined;
    try {
      engine = await bindings.SchemaEngine.new(
        { datamodels: files.map((f): [string, string] => [f.path, f.content]) },
        (line: string) => forwardLog(line, log),
        factory,
      );
      return await use(engine);
    } catch (err) {
      throw explain(err, factory.errorRegistry);
    } finally {
      engine?.free();
      await connections.disposeAll();
      for (const timer of engineTimers) clearTimeout(timer);
      engineTimers.clear();
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => {});
  return result;
}

/**
 * Records every connection the engine opens. Freeing the engine does not dispose them: the SQLite file would stay
 * open, and locked (the engine sets `locking_mode=EXCLUSIVE`), and a PostgreSQL pool would keep the process alive.
 * So whatever is still open is disposed when the engine is done; disposal is made idempotent for the connections the
 * engine closes itself.
 */
function tracked(inner: AdapterFactory): { factory: AdapterFactory; disposeAll(): Promise<unknown> } {
  const open = new Set<DriverAdapter>();
  const track = async (connecting: Promise<DriverAdapter>) => {
    const adapter = await connecting;
    const dispose = adapter.dispose.bind(adapter);
    let disposing: Promise<void> | undefined;
    adapter.dispose = () => {
      open.delete(adapter);
      return (disposing ??= dispose());
    };
    open.add(adapter);
    return adapter;
  };
  return {
    factory: {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: () => track(inner.connect()),
      connectToShadowDb: () => track(inner.connectToShadowDb()),
    },
    disposeAll: () => Promise.allSettled([...open].map((adapter) => adapter.dispose())),
  };
}

/** The engine logs JSON lines (`{level, fields: {message | sql, …}}`); pass on the message, not the SQL scripts. */
function forwardLog(line: string, log: (msg: string) => void): void {
  try {
    const { level, fields } = JSON.parse(line) as { level?: string; fields?: { message?: string } };
    if (fields?.message) log(`schema engine ${level?.toLowerCase() ?? "info"}: ${fields.message}`);
  } catch {
    log(`schema engine: ${line.trim()}`);
  }
}

/**
 * Makes engine errors say what happened. It reports a JS exception from the adapter only as "External error id#<n>"
 * (we add the real one), and it cannot decode the adapter's `SocketTimeout`, which is how better-sqlite3's
 * SQLITE_BUSY arrives.
 */
function explain(err: unknown, registry: ErrorRegistry): unknown {
  if (!(err instanceof Error)) return err;
  if (/unknown variant `SocketTimeout`/.test(err.message)) {
    err.message += "\n(SQLite: another connection kept the database locked for longer than the busy timeout)";
  }
  const id = /External error id#(\d+)/.exec(err.message)?.[1];
  const cause = id === undefined ? undefined : registry.consumeError(Number(id))?.error;
  if (cause !== undefined) {
    err.message += `\nCaused by: ${cause instanceof Error ? cause.message : String(cause)}`;
    err.cause = cause;
  }
  return err;
}
