/**
 * Spawns that fail get a clear error and leave nothing behind: no row, no directory, no process, no route.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readEvents, startTestHub, type TestHub } from "../support/hub.js";

let t: TestHub | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

function processesMatching(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function expectNothingLeft(hub: TestHub, user: string, serverName: string) {
  const owner = await hub.hub.ctx.db.user.findUniqueOrThrow({ where: { name: user } });
  expect(await hub.hub.ctx.db.server.findFirst({ where: { userId: owner.id, name: serverName } })).toBeNull();
  expect(existsSync(path.join(hub.dataDir, "servers", user, serverName || "_default"))).toBe(false);
  const proxied = await fetch(`${hub.url}/user/${user}/${serverName}/api/status`, { headers: { authorization: `token ${hub.adminToken}` } });
  expect(proxied.status).toBe(503);
}

describe("a spawn that fails", () => {
  it("reports a Jupyter command that exits at once, and rolls back", async () => {
    t = await startTestHub({ config: { spawner: { local: { command: ["/bin/sh", "-c", "echo broken >&2; exit 3", "sh"] } } } });
    const token = await t.addUser("dora");
    const res = await t.api("POST", "users/dora/servers/broken", { token });
    expect(res.status).toBe(500);
    expect(res.body.error).toBe("spawn_failed");
    expect(res.body.message).toMatch(/exited during its start \(exit code 3\)/);
    const events = await readEvents(t.url, "/hub/api/users/dora/servers/broken/progress", token);
    expect(events.at(-1)).toMatchObject({ failed: true, progress: 100 });
    expect(String(events.at(-1)!.message)).toMatch(/^Spawn failed: .*\(exit code 3\)/);
    await expectNothingLeft(t, "dora", "broken");
  });

  it("reports a server that exits later in its start with the last lines of its log, and rolls back", async () => {
    t = await startTestHub({
      config: { spawner: { local: { command: ["/bin/sh", "-c", "sleep 4; echo 'ImportError: no module named lab' >&2; exit 5", "sh"] } } },
    });
    const token = await t.addUser("erin");
    const res = await t.api("POST", "users/erin/servers/late", { token });
    expect(res.status).toBe(500);
    expect(res.body.message).toMatch(/exited during its start \(exit code 5\)\.\nLast lines of its log:\n.*ImportError: no module named lab/);
    await expectNothingLeft(t, "erin", "late");
    // The audit trail has the request and the hub's roll-back, with the reason.
    await t.hub.ctx.audit.flush();
    const { events } = (await t.api("GET", "audit?action=server.start")).body as { events: Array<Record<string, any>> };
    expect(events.map((e) => [e.actor, e.outcome, e.status])).toEqual(expect.arrayContaining([["erin", "failed", 500], ["hub", "failed", null]]));
    const rollBack = events.find((e) => e.actor === "hub")!;
    expect(rollBack).toMatchObject({ user: "erin", server: "late", detail: { rolledBack: "the new server was removed" } });
    expect(rollBack.detail.message).toMatch(/exit code 5/);
  });

  it("times out a server that never becomes ready, kills it and rolls back", async () => {
    const marker = `never-ready-${process.pid}-${Date.now()}`;
    t = await startTestHub({
      config: { spawner: { startTimeout: "2s", local: { command: ["/bin/sh", "-c", `sleep 300; echo ${marker}`, "sh"] } } },
    });
    const token = await t.addUser("erin");
    const res = await t.api("POST", "users/erin/server", { token });
    expect(res.status).toBe(500);
    expect(res.body.message).toMatch(/did not become ready within 2 s/);
    await expectNothingLeft(t, "erin", "");
    expect(processesMatching(marker)).toEqual([]);
  });
});
