/**
 * The hub on PostgreSQL (the production store): migrations, users, tokens, a real server started and restored by a
 * second hub process on the same database, and policy refusals — the same code paths as on SQLite.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatabase } from "../support/postgres.js";
import { makeDataDir, readEvents, startTestHub, type TestHub } from "../support/hub.js";

let databaseUrl = "";
const hubs: TestHub[] = [];

beforeAll(async () => {
  databaseUrl = await createDatabase("hub_e2e");
});

afterAll(async () => {
  for (const hub of hubs.reverse()) await hub.close().catch(() => undefined);
});

it("runs servers on PostgreSQL and restores them in a new hub on the same database", async () => {
  const dataDir = makeDataDir();
  const first = await startTestHub({ dataDir, config: { database: { url: databaseUrl } } });
  expect(first.hub.ctx.config.database.url).toMatch(/^postgres/);
  const token = await first.addUser("paula");
  expect((await first.api("POST", "users/paula/servers/pg", { token })).status).toBeLessThan(300);
  expect((await readEvents(first.url, "/hub/api/users/paula/servers/pg/progress", token)).at(-1)).toMatchObject({ ready: true });
  const list = await first.api("GET", "users?state=ready", { headers: { accept: "application/jupyterhub-pagination+json" } });
  expect(list.body._pagination).toMatchObject({ offset: 0, total: 1, next: null });
  expect(list.body.items.map((u: { name: string }) => u.name)).toEqual(["paula"]);

  // A second hub process on the same database and data directory (the first one closes without stopping servers).
  await first.hub.close();
  const second = await startTestHub({ dataDir, config: { database: { url: databaseUrl } } });
  hubs.push(second);
  const status = await fetch(`${second.url}/user/paula/pg/api/status`, { headers: { authorization: `token ${token}` } });
  expect(status.status).toBe(200);

  const dup = await second.api("POST", "users/paula");
  expect(dup.status).toBe(409);
  const bad = await second.api("POST", "users/paula/servers/Bad_Name", { token });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toBe("policy_denied");
});
