/**
 * Runs the migrations in a short-lived child process, so that the schema engine's WebAssembly memory (about 38 MiB,
 * which a wasm instance never gives back) is not carried by the hub for its whole life. The child is this module
 * itself: forked with the database URL in its environment, it migrates, reports over IPC and exits.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { applyMigrations } from "./migrate.js";

const URL_VAR = "GANYMEDE_MIGRATE_DATABASE_URL";

type Message = { log: string } | { applied: string[] } | { error: string };

export function applyMigrationsInChild(databaseUrl: string, log: (msg: string) => void = () => {}): Promise<{ applied: string[] }> {
  const self = fileURLToPath(import.meta.url);
  // Under the TypeScript sources (development, tests) the child needs the same loader; the built hub runs plain JS.
  const execArgv = self.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = fork(self, [], { execArgv, env: { ...process.env, [URL_VAR]: databaseUrl }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    let outcome: { applied: string[] } | Error | undefined;
    child.on("message", (msg: Message) => {
      if ("log" in msg) log(msg.log);
      else if ("applied" in msg) outcome = { applied: msg.applied };
      else outcome = new Error(msg.error);
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (outcome instanceof Error) reject(outcome);
      else if (outcome) resolve(outcome);
      else reject(new Error(`the migration process exited with code ${code} without a result`));
    });
  });
}

if (process.env[URL_VAR] && process.send) {
  const send = (msg: Message) => process.send!(msg);
  applyMigrations(process.env[URL_VAR], (line) => send({ log: line })).then(
    (result) => send({ applied: result.applied }),
    (err: unknown) => send({ error: err instanceof Error ? err.message : String(err) }),
  ).finally(() => {
    process.disconnect();
    // The engine closes what it opened; should anything still hold the loop, do not let the hub's start wait on it.
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}
