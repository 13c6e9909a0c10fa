/**
 * The stop-wave clause of the spawner contract (issue 10): whatever the backend, N servers stopped by N simultaneous
 * `DELETE …/server` all end stopped — no failure, none left "stopping", nothing of theirs left on the backend — and
 * the users' models say so. Each backend's test runs it at the size its machine holds (local processes, Docker
 * containers; the Kubernetes backend's contract suite at what its test cluster holds). How fast, is measured by
 * `bench/run.sh stops`, not here.
 */
import { expect } from "vitest";
import { waitFor, type TestHub } from "./hub.js";

/** Runs `fn` over `items`, at most `n` at a time. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

/** Creates `users` and starts each one's default server, `concurrency` at a time, until every one runs. */
export async function startServersOf(t: TestHub, users: readonly string[], { concurrency = 16, timeoutMs = 180_000 } = {}): Promise<void> {
  expect((await t.api("POST", "users", { body: { usernames: users } })).status).toBe(201);
  await pool(users, concurrency, async (user) => {
    const res = await t.api("POST", `users/${user}/server`);
    expect([201, 202], JSON.stringify(res.body)).toContain(res.status);
  });
  await waitFor(async () => (await t.hub.ctx.db.server.count({ where: { status: "running", user: { name: { in: [...users] } } } })) === users.length, timeoutMs, 500);
}

/**
 * Stops every server of `users` at once and checks the contract. `leftovers` lists what of those servers the backend
 * still has once all are stopped (processes, containers, pods): it must be empty.
 */
export async function expectStopWave(t: TestHub, users: readonly string[], leftovers: () => Promise<unknown[]> | unknown[], { timeoutMs = 180_000 } = {}): Promise<void> {
  const answers = await Promise.all(users.map((user) => t.api("DELETE", `users/${user}/server`)));
  expect(answers.filter((a) => a.status !== 202 && a.status !== 204).map((a) => a.body)).toEqual([]);
  const db = t.hub.ctx.db;
  const ours = { user: { name: { in: [...users] } } };
  await waitFor(async () => (await db.server.count({ where: { ...ours, status: "stopped" } })) === users.length, timeoutMs, 500);
  const rows = await db.server.findMany({ where: ours });
  expect(rows.filter((r) => r.status !== "stopped" || r.lastError !== null).map((r) => [r.status, r.lastError])).toEqual([]);
  expect(await leftovers()).toEqual([]);
  const failures = await t.hub.ctx.metrics.registry.getSingleMetricAsString("ganymede_stop_failures_total");
  expect(failures).toMatch(/ganymede_stop_failures_total 0$/m);
  for (const user of [users[0]!, users.at(-1)!]) expect((await t.api("GET", `users/${user}`)).body.servers).toEqual({});
}
