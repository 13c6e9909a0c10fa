/**
 * Launching the Jupyter process: command lookup, environment, log file, and the first seconds of its life
 * (listening on its socket, or exited).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, openSync, statSync, writeSync } from "node:fs";
import { open, rename, stat } from "node:fs/promises";
import net from "node:net";
import { constants as osConstants } from "node:os";
import path from "node:path";

/** Variables of the hub's own environment passed on to servers; everything else (hub secrets!) is not. */
const ENV_KEEP = [
  "PATH",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
  "PYTHONPATH",
  "VIRTUAL_ENV",
  "CONDA_ROOT",
  "CONDA_DEFAULT_ENV",
];

const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** The server's environment: kept hub variables < configured env < the spawn context's env < the hub's own. */
export function serverEnv(
  configured: Record<string, string>,
  fromContext: Record<string, string>,
  forced: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  for (const key of ENV_KEEP) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...configured, ...fromContext, ...forced };
}

/** Absolute path of an executable, looked up on `PATH` like execvp; undefined when not found. */
export function resolveCommand(cmd: string, searchPath: string): string | undefined {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) {
    const abs = path.resolve(cmd);
    return executable(abs) ? abs : undefined;
  }
  for (const dir of searchPath.split(":")) {
    const candidate = path.resolve(dir || ".", cmd);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** Whether something accepts connections on the Unix socket at `socketPath`. */
export function isListening(socketPath: string, timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Logs above this size are rotated to server.log.1 at the next start. */
const LOG_ROTATE_BYTES = 10 * 2 ** 20;

/** Opens the log for appending (rotating a large one) and returns its fd and current size. */
export async function openLog(logPath: string): Promise<{ fd: number; offset: number }> {
  const size = await stat(logPath).then(
    (s) => s.size,
    () => 0,
  );
  if (size > LOG_ROTATE_BYTES) await rename(logPath, logPath + ".1");
  const fd = openSync(logPath, "a", 0o600);
  return { fd, offset: size > LOG_ROTATE_BYTES ? 0 : size };
}

export function logLine(fd: number, message: string): void {
  writeSync(fd, `[ganymede ${new Date().toISOString()}] ${message}\n`);
}

/**
 * Starts `argv` detached (own session and process group), output appended to the log fd, not tied to the hub:
 * the server survives the hub's death and never writes into a closed pipe. Resolves once exec succeeded.
 */
export function launch(argv: string[], env: Record<string, string>, cwd: string, logFd: number): Promise<ChildProcess> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd!, args, { cwd, env, detached: true, stdio: ["ignore", logFd, logFd] });
    } catch (err) {
      reject(err as Error);
      return;
    } finally {
      closeSync(logFd);
    }
    child.once("error", reject);
    child.once("spawn", () => {
      child.off("error", reject);
      child.on("error", () => undefined);
      child.unref();
      resolve(child);
    });
  });
}

/**
 * The last lines the server wrote since `offset`, each marked as log output, long lines shortened and `secret`
 * masked (a server may print its token in URLs).
 */
export async function logTail(logPath: string, offset: number, secret: string, lines = 20): Promise<string[]> {
  const maxBytes = 64 * 1024;
  try {
    const handle = await open(logPath, "r");
    try {
      const { size } = await handle.stat();
      const start = Math.max(offset, size - maxBytes);
      const buf = Buffer.alloc(Math.max(0, size - start));
      await handle.read(buf, 0, buf.length, start);
      return buf
        .toString("utf8")
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("[ganymede "))
        .slice(-lines)
        .map((l) => (secret ? l.split(secret).join("…") : l))
        .map((l) => `[server log] ${l.length > 300 ? l.slice(0, 300) + "…" : l}`);
    } finally {
      await handle.close();
    }
  } catch {
    return [];
  }
}

/**
 * The options the hub always gives Jupyter (before the configured args, which may override them). It listens on a
 * Unix socket (paths as the server sees them), never on a TCP port that every uid of the machine could connect to.
 */
export function hubOptions(baseUrl: string, socketPath: string, rootDir: string): string[] {
  return [
    `--ServerApp.sock=${socketPath}`,
    "--ServerApp.sock_mode=0600",
    `--ServerApp.base_url=${baseUrl}`,
    `--ServerApp.root_dir=${rootDir}`,
    "--ServerApp.allow_remote_access=True",
    "--no-browser",
  ];
}

/** The exit code of a finished child; killed by a signal: the shell convention 128 + signal number. */
export function exitCodeOf(child: ChildProcess): number | null {
  if (child.exitCode !== null) return child.exitCode;
  if (child.signalCode !== null) return 128 + (osConstants.signals[child.signalCode] ?? 0);
  return null;
}

/** How long start() watches a new process for an early exit before leaving readiness to the hub. */
const WATCH_MS = 3000;

/**
 * Watches a new process until it accepts connections on its socket, exits, or WATCH_MS pass (then it is still
 * starting and readiness is the hub's business). Honours `signal`.
 */
export async function watchFirstSeconds(
  child: ChildProcess,
  socketPath: string,
  signal: AbortSignal,
): Promise<"listening" | "exited" | "running"> {
  const deadline = Date.now() + WATCH_MS;
  for (;;) {
    signal.throwIfAborted();
    if (exitCodeOf(child) !== null) return "exited";
    if (await isListening(socketPath)) return exitCodeOf(child) !== null ? "exited" : "listening";
    if (Date.now() >= deadline) return "running";
    await new Promise((r) => setTimeout(r, 50));
  }
}
