/**
 * A throwaway, real PostgreSQL server for tests (and for server/scripts/create-migration.ts).
 *
 * `startPostgres()` runs `initdb` into a fresh temp directory and starts `postgres` on a free loopback port, tuned for
 * speed over durability (fsync off: the data is thrown away). PostgreSQL refuses to run as root, so under root it
 * runs as the `postgres` user via `runuser`, in a directory that user owns.
 *
 * No process is left behind, whatever happens to the test: postgres is started by a small shell watchdog whose stdin
 * is a pipe from this process. When the pipe closes (stop(), normal exit, a crash, even SIGKILL of the test
 * process), the watchdog shuts postgres down and deletes the directory.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort, runTool, startWatchdog, stopWatchdog } from "./service-process.js";

export interface PostgresServer {
  /** URL of a database created for the caller (named "ganymede"). */
  url: string;
  /** URL of the `postgres` maintenance database, as the superuser. */
  adminUrl: string;
  port: number;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * With `startPostgres({ remote })`: a database of its own for clients on the remote network, owned by a role that
   * signs in with a password (scram-sha-256), at the remote address.
   */
  createRemoteDatabase(name: string): Promise<string>;
  /** Shuts the server down and removes its directory. */
  stop(): Promise<void>;
}

/** Settings for a disposable server: no durability, small footprint, loopback only. */
const SERVER_SETTINGS = {
  listen_addresses: "127.0.0.1",
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: "50",
  shared_buffers: "32MB",
  max_wal_senders: "0",
  wal_level: "minimal",
  log_min_messages: "warning",
};

/**
 * The shell watchdog (runs as the postgres user): start postgres in the background (leaving an `exited` marker if
 * it dies on its own), block on stdin, and when stdin reaches end-of-file ask postgres for a fast shutdown (SIGINT:
 * it disconnects clients a test may have leaked), wait for it, and remove the directory. Its own output goes to the
 * log file too: writing to a pipe whose reader died would kill it with SIGPIPE before it cleans up.
 */
const WATCHDOG = `
dir=$1; shift
exec 2>>"$dir/postgres.log"
{ "$@" >>"$dir/postgres.log" 2>&1 </dev/null & echo $! >"$dir/postgres.pid"; wait $!; : >"$dir/exited"; } &
trap '' INT TERM HUP
read -r _ || true
while [ ! -s "$dir/postgres.pid" ]; do sleep 0.05; done
kill -INT "$(cat "$dir/postgres.pid")" 2>/dev/null
wait
rm -rf "$dir"
`;

/**
 * `remote`: also listen on `address` and let clients of `network` (a CIDR) in with a password, as a hub in a pod
 * reaches its database on this machine (the loopback stays password-less for the test itself).
 */
export interface RemoteClients {
  address: string;
  network: string;
}

export async function startPostgres(options: { remote?: RemoteClients } = {}): Promise<PostgresServer> {
  // A free port can be taken between probing and binding: then start over with a new one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), options.remote);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTaken)) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startOnce(port: number, remote: RemoteClients | undefined): Promise<PostgresServer> {
  const bin = findServerBinaries();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "ganymede-pg-"));
  const data = path.join(dir, "data");
  const asPostgres = (argv: string[]) => (asRoot ? [runuser(), "-u", "postgres", "--", ...argv] : argv);
  try {
    if (asRoot) {
      const { uid, gid } = postgresUser();
      chownSync(dir, uid, gid);
    }
    const initdbFlags = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"];
    await runTool(asPostgres([bin.initdb, "-D", data, ...initdbFlags, "--no-instructions"]), { cwd: dir });
    if (remote) appendFileSync(path.join(data, "pg_hba.conf"), `host all all ${remote.network} scram-sha-256\n`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const listen = [SERVER_SETTINGS.listen_addresses, ...(remote ? [remote.address] : [])].join(",");
  const settings = Object.entries({ ...SERVER_SETTINGS, listen_addresses: listen, port: String(port), unix_socket_directories: dir });
  const postgresArgv = [bin.postgres, "-D", data, ...settings.flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const watchdog = startWatchdog(asPostgres(["sh", "-c", WATCHDOG, "watchdog", dir, ...postgresArgv]), dir);
  const stop = async () => {
    await stopWatchdog(watchdog);
    rmSync(dir, { recursive: true, force: true });
  };

  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitReady(adminUrl, watchdog, dir);
  } catch (err) {
    const log = readLog(dir);
    await stop();
    if (/could not bind|address already in use/i.test(log)) throw new PortTaken(log);
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
  }
  const createDatabase = async (name: string) => {
    await query(adminUrl, `CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  };
  const createRemoteDatabase = async (name: string) => {
    if (!remote) throw new Error("createRemoteDatabase: start PostgreSQL with { remote }");
    const password = randomBytes(12).toString("hex");
    const quoted = `"${name.replaceAll('"', '""')}"`;
    await query(adminUrl, `CREATE ROLE ${quoted} LOGIN PASSWORD '${password}'`);
    await query(adminUrl, `CREATE DATABASE ${quoted} OWNER ${quoted}`);
    return `postgresql://${encodeURIComponent(name)}:${password}@${remote.address}:${port}/${encodeURIComponent(name)}`;
  };
  return { url: await createDatabase("ganymede"), adminUrl, port, createDatabase, createRemoteDatabase, stop };
}

let shared: Promise<PostgresServer> | undefined;

/**
 * Creates a database on a server shared by the whole test process (started on first use, gone when the process
 * exits), so several suites in one process pay for one `initdb`.
 */
export async function createDatabase(name: string): Promise<string> {
  shared ??= startPostgres();
  return (await shared).createDatabase(name);
}

/** The directory holding `postgres` and `initdb`: PATH first, then Debian's /usr/lib/postgresql/<version>/bin. */
function findServerBinaries(): { postgres: string; initdb: string } {
  const pathDirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  const debianDirs = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql")
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  for (const dir of [...pathDirs, ...debianDirs]) {
    const postgres = path.join(dir, "postgres");
    const initdb = path.join(dir, "initdb");
    if (existsSync(postgres) && existsSync(initdb)) return { postgres, initdb };
  }
  throw new Error(
    "PostgreSQL server binaries (postgres, initdb) not found on PATH or in /usr/lib/postgresql/*/bin: " +
      "run scripts/setup.sh, which installs Debian's postgresql package",
  );
}

/** runuser lives in /usr/sbin, which is not always on PATH. */
function runuser(): string {
  return existsSync("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "runuser";
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) {
    throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as: run scripts/setup.sh");
  }
  return { uid: Number(uid), gid: Number(gid) };
}

async function waitReady(adminUrl: string, watchdog: ChildProcess, dir: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (watchdog.exitCode !== null) throw new Error(`watchdog exited with ${watchdog.exitCode}`);
    try {
      await query(adminUrl, "SELECT 1");
      return;
    } catch {
      // not accepting connections yet
    }
    if (existsSync(path.join(dir, "exited"))) throw new Error("postgres exited");
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, "postgres.log"), "utf8");
  } catch {
    return "";
  }
}

async function query(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}


