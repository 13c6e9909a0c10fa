/**
 * Shared by the tests' real servers (PostgreSQL, slapd, Samba): each runs under a small shell "watchdog" that stops
 * the server and removes its directory when its standard input closes — when the test calls stop(), and also when
 * the test process dies, since the pipe closes with it. Plus the one helper that runs a setup tool to completion.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";

/** Watchdogs still running, closed at exit so their servers stop even if a test forgot to. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.stdin?.destroy();
});

/** Starts `argv` (a watchdog command line) without letting it or its pipe keep this process alive. */
export function startWatchdog(argv: string[], cwd?: string): ChildProcess {
  const [cmd, ...args] = argv;
  const watchdog = spawn(cmd!, args, { cwd, stdio: ["pipe", "ignore", "ignore"] });
  running.add(watchdog);
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  return watchdog;
}

/** Closes the watchdog's input and waits until it (and so its server) is gone. */
export function stopWatchdog(watchdog: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      running.delete(watchdog);
      resolve();
    };
    if (watchdog.exitCode !== null || watchdog.signalCode !== null) return done();
    watchdog.once("exit", done);
    watchdog.ref(); // now the caller waits for the shutdown
    watchdog.stdin?.end();
  });
}

const SETPRIV = "/usr/bin/setpriv";

/**
 * Runs a tool to completion; rejects with the end of its output when it fails. `dieWithTest` runs it under
 * `setpriv --pdeathsig KILL` (util-linux) so an orphaned tool cannot go on writing after cleanup.
 */
export function runTool(argv: string[], options: { cwd?: string; env?: Record<string, string>; dieWithTest?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const wrapped = options.dieWithTest && existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "KILL", "--", cmd!, ...args]] as const : [cmd!, args] as const;
    const child = spawn(wrapped[0], wrapped[1], { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(cmd!)} failed (${code}):\n${output.split("\n").slice(-30).join("\n")}`));
    });
  });
}

/** A loopback port nothing listens on right now (also used by tests as "a server that is down"). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port` (within half a second). */
export function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(500);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}
