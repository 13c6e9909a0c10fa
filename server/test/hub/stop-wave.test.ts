/**
 * Stopping many servers at once (issue 10): 200 running servers, each its user's own uid in a sandbox, all stopped
 * by 200 simultaneous DELETE requests (the spawner contract's stop wave, support/stop-wave.ts), with cgroups (each stop reads its own group's process list) and without
 * (stops share snapshots of the process table). Every stop must finish, none may fail or stay "stopping", and no
 * process of those users may be left. Servers are a minimal stand-in (bench/stand-in-server.py): what is tested is
 * the hub's stop path, not Jupyter. How fast it is, is measured by `bench/run.sh stops`, not here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub.js";
import { standInServer } from "../support/paths.js";
import { expectStopWave, startServersOf } from "../support/stop-wave.js";

const SERVERS = 200;
const users = Array.from({ length: SERVERS }, (_, i) => `wave${String(i).padStart(3, "0")}`);

/** Live processes running as one of `uids` (their PIDs). */
function processesOf(uids: Set<number>): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uids.has(uid) && !/^State:\s+Z/m.test(status)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe.each([{ cgroups: "auto" as const }, { cgroups: "off" as const }])("200 servers stopped at once, cgroups $cgroups", ({ cgroups }) => {
  let t: TestHub;
  let uids: Set<number>;

  beforeAll(async () => {
    t = await startTestHub({ config: { spawner: { startTimeout: "120s", local: { command: standInServer, cgroups } } } });
    await startServersOf(t, users);
    uids = new Set((await t.hub.ctx.db.unixIdentity.findMany({ where: { user: { name: { in: users } } } })).map((i) => i.uid));
    expect(uids.size).toBe(SERVERS);
    expect(processesOf(uids).length).toBeGreaterThanOrEqual(SERVERS);
  }, 300_000);

  afterAll(async () => {
    await t?.close();
  });

  it("stops every one, with no failure, none left stopping and no process left", async () => {
    await expectStopWave(t, users, () => processesOf(uids));
  }, 240_000);
});
