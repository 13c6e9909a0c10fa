/**
 * Test harness for the local spawner: a throwaway root directory and cgroup parent per test, every spawner created
 * through it stopped and its storage removed after each test, and a check that nothing is left behind (processes,
 * mounts); leftovers are killed/unmounted and fail the test.
 */
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach } from "vitest";
import { createLocalSpawnerFactory, defaultRunRoot, type LocalSpawnerOptions } from "../../src/spawners/local/index.js";
import { detectCgroups } from "../../src/spawners/local/cgroups.js";
import type { ServerIdentity, SpawnContext, Spawner, SpawnerFactory, SpawnProgress } from "../../src/spawners/types.js";
import { request, waitForOk } from "./http-probe.js";
import { mountsBelow, processesMentioning } from "./host-processes.js";
import { jupyterCommand } from "./paths.js";
import { memoryUids } from "./uids.js";

export const alice: ServerIdentity = { user: "alice", serverName: "work" };

export function contextFor(identity: ServerIdentity, overrides: Partial<SpawnContext> = {}): SpawnContext {
  const prefix = identity.serverName ? `/user/${identity.user}/${identity.serverName}/` : `/user/${identity.user}/`;
  return {
    ...identity,
    baseUrl: prefix,
    token: randomBytes(24).toString("hex"),
    limits: { cpu: 1, memoryBytes: 1024 * 2 ** 20, storageBytes: 256 * 2 ** 20 },
    env: {},
    userOptions: {},
    ...overrides,
  };
}

/** Milliseconds from start() to the first 200 from api/status, for every server the tests started. */
export const startTimings: number[] = [];

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : NaN;
}

/** Starts a server and waits until Jupyter answers api/status with the token. */
export async function startReady(
  spawner: Spawner,
  ctx: SpawnContext,
  progress: SpawnProgress[] = [],
): Promise<{ url: string; api: (p: string) => string; headers: Record<string, string>; ms: number }> {
  const t0 = performance.now();
  const { url } = await spawner.start(ctx, new AbortController().signal, (p) => progress.push(p));
  const headers = { authorization: `token ${ctx.token}` };
  const api = (p: string): string => `${url}${ctx.baseUrl}api/${p}`;
  await waitForOk(api("status"), { headers, timeoutMs: 30_000 });
  const ms = Math.round(performance.now() - t0);
  startTimings.push(ms);
  return { url, api, headers, ms };
}

export { request };

export interface Harness {
  readonly rootDir: string;
  readonly cgroupParent: string;
  factory(options?: Partial<LocalSpawnerOptions>): SpawnerFactory;
  /** A spawner that the harness cleans up after the test. */
  spawner(factory: SpawnerFactory, identity?: ServerIdentity): Spawner;
}

export function useLocalSpawnerHarness(defaults: Partial<LocalSpawnerOptions> = {}): Harness {
  let rootDir = "";
  let spawners: Spawner[] = [];
  const cgroupParent = `ganymede-test-${process.pid}-${randomBytes(3).toString("hex")}`;
  const uids = memoryUids();

  beforeEach(() => {
    rootDir = mkdtempSync(path.join(tmpdir(), "ganymede-local-"));
    spawners = [];
  });

  afterEach(async () => {
    const problems: string[] = [];
    for (const s of spawners) {
      await s.stop({ now: true }).catch((e: Error) => problems.push(`stop: ${e.message}`));
      await s.removeStorage().catch((e: Error) => problems.push(`removeStorage: ${e.message}`));
    }
    const leftovers = processesMentioning(rootDir);
    for (const p of leftovers) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // already gone
      }
      problems.push(`process left running: ${p.pid} ${p.cmdline}`);
    }
    for (const mp of mountsBelow(rootDir).reverse()) {
      execFileSync("umount", ["-l", mp]);
      problems.push(`mount left behind: ${mp}`);
    }
    rmSync(rootDir, { recursive: true, force: true });
    rmSync(defaultRunRoot(rootDir), { recursive: true, force: true });
    if (problems.length) throw new Error(`cleanup found problems:\n${problems.join("\n")}`);
  });

  afterAll(() => {
    const support = detectCgroups();
    if (!support.available) return;
    const roots = support.version === 2 ? [support.root] : [support.memoryRoot, support.cpuRoot, support.pidsRoot ?? support.cpuRoot];
    for (const root of new Set(roots)) {
      try {
        rmdirSync(path.join(root, cgroupParent));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
  });

  return {
    get rootDir() {
      return rootDir;
    },
    cgroupParent,
    factory: (options = {}) =>
      createLocalSpawnerFactory({
        rootDir,
        command: jupyterCommand,
        args: [],
        env: {},
        storage: "directory",
        cgroups: "off",
        pidsLimit: 256,
        isolation: "users",
        uids,
        sandbox: "auto",
        stopGraceMs: 3000,
        cgroupParent,
        ...defaults,
        ...options,
      }),
    spawner: (factory, identity = alice) => {
      const s = factory.create(identity);
      spawners.push(s);
      return s;
    },
  };
}
