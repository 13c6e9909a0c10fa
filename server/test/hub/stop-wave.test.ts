/**
 * Stopping many servers at once (issue 10): 200 running servers, each its user's own uid in a sandbox, all stopped
 * by 200 simultaneous DELETE requests, with cgroups (each stop reads its own group's process list) and without
 * (stops share snapshots of the process table). Every stop must finish, none may fail or stay "stopping", and no
 * process of those users may be left. Servers are a minimal stand-in (bench/stand-in-server.py): what is tested is
 * the hub's stop path, not Jupyter. How fast it is, is measured by `bench/run.sh stops`, not here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { standInServer } from "../support/paths.js";

const SERVERS = 200;
const users = Array.from({ length: SERVERS }, (_, i) => `wave${String(i).padStart(3, "0")}`);

/** How many live processes run as one of `uids`. */
function processesOf(uids: Set<number>): number {
  let n = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uids.has(uid) && !/^State:\s+Z/m.test(status)) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

describe.each([{ cgroups: "auto" as const }, { cgroups: "off" as const }])("200 servers stopped at once, cgroups $cgroups", ({ cgroups }) => {
  let t: TestHub;
  let uids: Set<number>;

  beforeAll(async () => {
    t = await startTestHub({ config: { spawner: { startTimeout: "120s", local: { command: standInServer, cgroups } } } });
    expect((await t.api("POST", "users", { body: { usernames: users } })).status).toBe(201);
    await pool(users, 16, async (user) => {
      const res = await t.api("POST", `users/${user}/server`);
      expect([201, 202], JSON.stringify(res.body)).toContain(res.status);
    });
    const db = t.hub.ctx.db;
    await waitFor(async () => (await db.server.count({ where: { status: "running" } })) === SERVERS, 180_000, 500);
    uids = new Set((await db.unixIdentity.findMany({ where: { user: { name: { in: users } } } })).map((i) => i.uid));
    expect(uids.size).toBe(SERVERS);
    expect(processesOf(uids)).toBeGreaterThanOrEqual(SERVERS);
  }, 300_000);

  afterAll(async () => {
    await t?.close();
  });

  it("stops every one, with no failure, none left stopping and no process left", async () => {
    const answers = await Promise.all(users.map((user) => t.api("DELETE", `users/${user}/server`)));
    expect(answers.filter((a) => a.status !== 202 && a.status !== 204).map((a) => a.body)).toEqual([]);
    const db = t.hub.ctx.db;
    await waitFor(async () => (await db.server.count({ where: { status: "stopped" } })) === SERVERS, 180_000, 500);
    const rows = await db.server.findMany({ where: { user: { name: { in: users } } } });
    expect(rows.filter((r) => r.status !== "stopped" || r.lastError !== null).map((r) => [r.status, r.lastError])).toEqual([]);
    expect(processesOf(uids)).toBe(0);
    const metrics = await t.hub.ctx.metrics.registry.getSingleMetricAsString("ganymede_stop_failures_total");
    expect(metrics).toMatch(/ganymede_stop_failures_total 0$/m);
    // And the users' models say so.
    const model = await t.api("GET", `users/${users[0]}`);
    expect(model.body.servers).toEqual({});
  }, 240_000);
});
