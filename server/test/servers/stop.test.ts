/**
 * What a failed stop leaves behind (issue 10): never a server "stopping" for ever, never silence. runStop() with a
 * real database, route table and key; the spawner is a scripted neighbour (StopScriptedSpawner below), because a local or
 * Docker server that refuses to die cannot be made on demand, and the subject here is the servers module's handling.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/trail.js";
import { FifoSlots } from "../../src/lib/fifo-slots.js";
import { createLogger } from "../../src/lib/logger.js";
import { SecretBox } from "../../src/lib/secrets.js";
import { RouteTable } from "../../src/proxy/routes.js";
import { persistState } from "../../src/servers/persisted-state.js";
import { SoloBus } from "../../src/cluster/bus.js";
import { Servers } from "../../src/servers/service.js";
import { runStop, type StopDeps } from "../../src/servers/stop.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { PolicyEngine } from "../../src/policy/index.js";
import type { Spawner } from "../../src/spawners/types.js";
import { openDatabase, type Database } from "../../src/store/database.js";
import { applyMigrations } from "../../src/store/migrate.js";
import { repoRoot } from "../support/paths.js";

/** A spawner whose stop() fails `failures` times (or always), and whose server is `running` afterwards or not. */
class StopScriptedSpawner {
  readonly backend = "fake";
  stops: boolean[] = [];
  constructor(
    private readonly failures: number,
    private readonly running: boolean,
  ) {}
  async stop(options: { now?: boolean } = {}): Promise<void> {
    this.stops.push(options.now ?? false);
    if (this.stops.length <= this.failures) throw new Error(`processes 4242 did not exit (attempt ${this.stops.length})`);
  }
  async poll() {
    return this.running ? { running: true as const } : { running: false as const, exitCode: 137 };
  }
  state() {
    return { pid: 4242 };
  }
  restore(): void {}
  enforcement() {
    return null;
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), "ganymede-stop-"));
let database: Database;
let deps: StopDeps;
let routes: RouteTable;
let failures: number;
let rowId: number;

beforeAll(async () => {
  const url = `file:${path.join(tmp, "hub.sqlite")}`;
  await applyMigrations(url);
  database = await openDatabase(url);
});

afterAll(async () => {
  await database?.close();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  const db = database.prisma;
  await db.user.deleteMany();
  const secrets = SecretBox.fromKey(randomBytes(32));
  routes = new RouteTable();
  failures = 0;
  deps = {
    db,
    routes,
    secrets,
    logger: createLogger("silent"),
    metrics: { stopDuration: { observe() {} }, stopFailures: { inc: () => void failures++ } },
    slots: new FifoSlots(2),
    retryDelaysMs: [10, 10],
    audit: new AuditTrail(db, createLogger("silent")),
  };
  const user = await db.user.create({ data: { name: "alice" } });
  const persisted = persistState(new StopScriptedSpawner(0, true) as unknown as Spawner, secrets, "server-token");
  const row = await db.server.create({
    data: { userId: user.id, name: "work", status: "stopping", endpoint: "http://127.0.0.1:41234", ...persisted },
  });
  rowId = row.id;
});

const stop = (spawner: StopScriptedSpawner) =>
  runStop(deps, { user: "alice", serverName: "work", rowId, spawner: spawner as unknown as Spawner, onTicket() {} });
const row = () => database.prisma.server.findUniqueOrThrow({ where: { id: rowId } });

describe("a stop", () => {
  it("that fails once is tried again, immediately this time, and succeeds", async () => {
    const spawner = new StopScriptedSpawner(1, false);
    expect(await stop(spawner)).toBe("stopped");
    expect(spawner.stops).toEqual([false, true]);
    expect(await row()).toMatchObject({ status: "stopped", lastError: null, endpoint: null });
    expect(failures).toBe(0);
  });

  it("that keeps failing while the server runs leaves it running and reachable, with the reason, counted", async () => {
    const spawner = new StopScriptedSpawner(Infinity, true);
    expect(await stop(spawner)).toBe("failed-running");
    expect(spawner.stops).toEqual([false, true, true]);
    const after = await row();
    expect(after.status).toBe("running");
    expect(after.lastError).toBe(
      "Stop failed: processes 4242 did not exit (attempt 3). alice's server 'work' is still running; stop it again, or ask an administrator.",
    );
    expect(routes.get("alice", "work")).toMatchObject({ address: { host: "127.0.0.1", port: 41234 }, token: "server-token" });
    expect(failures).toBe(1);
    // The audit trail has it too: the hub's stop failed, with the same words.
    await deps.audit!.flush();
    const [audited] = (await deps.audit!.query({ action: "server.stop", limit: 1 })).events;
    expect(audited).toMatchObject({ actor: "hub", user: "alice", server: "work", outcome: "failed", detail: { message: after.lastError } });
  });

  it("that fails after the server ended marks it stopped, with the reason", async () => {
    expect(await stop(new StopScriptedSpawner(Infinity, false))).toBe("failed-stopped");
    expect(await row()).toMatchObject({
      status: "stopped",
      endpoint: null,
      lastError: "Stop failed: processes 4242 did not exit (attempt 3). alice's server 'work' has stopped; its next start cleans up what is left.",
    });
    expect(routes.get("alice", "work")).toBeUndefined();
    expect(failures).toBe(1);
  });
});

describe("the servers module after a failed stop", () => {
  it("refuses to start a server that is still running, and stops it when asked again", async () => {
    const db = database.prisma;
    const spawner = new StopScriptedSpawner(3, true); // fails three attempts, then stops
    const policy = await PolicyEngine.open(path.join(repoRoot, "policies"), { logger: createLogger("silent") });
    const servers = new Servers({
      db,
      spawners: { backend: "fake", create: () => spawner as unknown as Spawner, isolation: () => ({ separated: true, summary: "", warnings: [] }) },
      policy,
      routes,
      bus: new SoloBus(),
      replica: { id: "test", alive: async () => new Set(["test"]) },
      secrets: deps.secrets,
      logger: createLogger("silent"),
      metrics: createMetrics(async () => ({})),
      publicUrl: "http://127.0.0.1:8000/",
      startTimeoutMs: 10_000,
      slowSpawnTimeoutMs: 5_000,
      concurrentStops: 4,
      stopRetryDelaysMs: [10, 10],
    });
    await db.server.update({ where: { id: rowId }, data: { status: "running" } });
    const alice = await db.user.findUniqueOrThrow({ where: { name: "alice" } });
    expect(await servers.stop(alice, "work")).toBe("stopped"); // the stop has ended (it failed: the server runs)
    expect(await row()).toMatchObject({ status: "running", lastError: expect.stringMatching(/^Stop failed: /) });
    await expect(servers.start(alice, "work")).rejects.toThrow(/already running/);
    expect(await servers.stop(alice, "work")).toBe("stopped");
    expect(await row()).toMatchObject({ status: "stopped", lastError: null });
    expect(spawner.stops).toHaveLength(4);
    policy.close();
  });
});
