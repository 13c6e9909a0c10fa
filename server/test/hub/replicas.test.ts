/**
 * Two hub replicas on one PostgreSQL database and one data directory, in this process, with real Jupyter servers:
 * any replica answers for any server. A server started through one is proxied by the other within a second (route
 * changes travel by LISTEN/NOTIFY), its start can be followed and stopped from the other, failed sign-ins count on
 * both, and the background work (culler, take-over) has exactly one owner, handed over when its replica shuts down.
 * The kill -9 of a replica under load is the chaos test's (test/ha/chaos.test.ts).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatabase } from "../support/postgres.js";
import { makeDataDir, readEvents, request, signInThroughForm, startTestHub, waitFor, type TestHub } from "../support/hub.js";

/** The shipped default, and a hub-wide capacity for the `class` group: one server at a time among its members. */
const POLICIES = {
  "class.yaml": `name: class
appliesTo: { groups: [class] }
capacity: { runningServers: 1 }
`,
};

let first: TestHub;
let second: TestHub;
let token = "";

beforeAll(async () => {
  const databaseUrl = await createDatabase("replicas");
  const dataDir = makeDataDir();
  const config = { database: { url: databaseUrl }, cluster: { heartbeat: "300ms", leaseTime: "2s" } };
  first = await startTestHub({ dataDir, config, policies: POLICIES });
  second = await startTestHub({ dataDir, config, policies: POLICIES });
  token = await first.addUser("rhea");
});

/** The replica still open at the end stops what runs (the other closed like a replica shutting down). */
const closed = new Set<TestHub>();
afterAll(async () => {
  for (const hub of [first, second]) if (hub && !closed.has(hub)) await hub.close();
});

const status = (hub: TestHub, path: string) =>
  fetch(`${hub.url}${path}`, { headers: { authorization: `token ${token}` } }).then((res) => res.status);

it("proxies a server started through one replica from the other, follows and stops it there", async () => {
  expect(first.hub.ctx.cluster.replica).not.toBe(second.hub.ctx.cluster.replica);
  // Started through the first replica, followed through the second while it starts.
  const started = await first.api("POST", "users/rhea/servers/shared", { token });
  expect([201, 202]).toContain(started.status);
  const events = await readEvents(second.url, "/hub/api/users/rhea/servers/shared/progress", token);
  expect(events.at(-1)).toMatchObject({ ready: true, url: "/user/rhea/shared/" });
  // Ready on the first: routed on the second within a second.
  const readyAt = Date.now();
  await waitFor(async () => (await status(second, "/user/rhea/shared/api/status")) === 200, 1000, 20);
  expect(Date.now() - readyAt).toBeLessThan(1000);
  const model = await second.api("GET", "users/rhea", { token });
  expect(model.body.servers.shared).toMatchObject({ ready: true, pending: null });

  // A second start through the other replica finds it running.
  expect((await second.api("POST", "users/rhea/servers/shared", { token })).status).toBe(400);

  // Stopped through the second: the first stops routing it at once.
  expect([202, 204]).toContain((await second.api("DELETE", "users/rhea/servers/shared", { token })).status);
  await waitFor(async () => (await status(first, "/user/rhea/shared/api/status")) !== 200, 1000, 20);
  await waitFor(async () => (await first.api("GET", "users/rhea", { token })).body.servers.shared === undefined, 10_000);
});

it("cancels a start running on one replica when the other is asked to stop it", async () => {
  const started = await first.api("POST", "users/rhea/servers/cut", { token, body: {} });
  expect([201, 202]).toContain(started.status);
  if (started.status === 201) return; // too fast to catch while starting on this machine: nothing to cancel
  // The second replica has no start of its own: it asks the first to cancel, and answers once the server stopped.
  const stop = await second.api("DELETE", "users/rhea/servers/cut", { token });
  expect([202, 204]).toContain(stop.status);
  await waitFor(async () => (await second.api("GET", "users/rhea?include_stopped_servers", { token })).body.servers.cut?.stopped === true, 15_000);
  expect((await status(second, "/user/rhea/cut/api/status"))).not.toBe(200);
});

it("decides a capacity across replicas: of two starts at once, one through each, one is refused", async () => {
  const [kim, lee] = [await first.addUser("kim", { groups: ["class"] }), await first.addUser("lee", { groups: ["class"] })];
  const [a, b] = await Promise.all([first.api("POST", "users/kim/server", { token: kim }), second.api("POST", "users/lee/server", { token: lee })]);
  const statuses = [a.status, b.status].sort();
  expect(statuses[0]).toBeLessThan(300);
  expect(statuses[1]).toBe(400);
  const refused = a.status === 400 ? a : b;
  expect(refused.body.detail.reasons[0]).toMatchObject({ rule: "capacity_servers", policy: "class", limit: 1 });
  const started = a.status === 400 ? { hub: second, user: "lee", token: lee } : { hub: first, user: "kim", token: kim };
  await waitFor(async () => (await started.hub.api("GET", `users/${started.user}`, { token: started.token })).body.servers[""]?.ready === true, 30_000);
  await started.hub.api("DELETE", `users/${started.user}/server`, { token: started.token });
  await waitFor(async () => (await started.hub.api("GET", `users/${started.user}`, { token: started.token })).body.servers[""] === undefined, 30_000);
});

it("counts failed sign-ins across replicas", async () => {
  const signIn = (hub: TestHub) => signInThroughForm(hub.url, "rhea", "wrong-guess").then((res) => res.status);
  const limit = first.hub.ctx.config.auth.signInLimits.perUser;
  for (let i = 0; i < limit; i++) expect(await signIn(i % 2 ? first : second)).toBe(403);
  // Spread over both replicas, the failures add up: the next attempt is throttled on either.
  expect(await signIn(first)).toBe(429);
  expect(await signIn(second)).toBe(429);
});

it("gives the background work to one replica and hands it over when that one shuts down", async () => {
  const holders = () => [first, second].filter((hub) => hub.hub.background.isHolder);
  await waitFor(() => holders().length === 1, 5000, 50);
  const holder = holders()[0]!;
  const other = holder === first ? second : first;
  const lease = await other.hub.ctx.db.lease.findUniqueOrThrow({ where: { name: "background" } });
  expect(lease.holder).toBe(holder.hub.ctx.cluster.replica);
  // A server running when the holder leaves keeps running and routed through the other.
  expect([201, 202]).toContain((await other.api("POST", "users/rhea/servers/stays", { token })).status);
  await waitFor(async () => (await status(other, "/user/rhea/stays/api/status")) === 200, 30_000);

  const handedOver = Date.now();
  await holder.hub.close();
  closed.add(holder);
  await waitFor(async () => (await other.hub.ctx.db.lease.findUnique({ where: { name: "background" } }))?.holder === other.hub.ctx.cluster.replica, 5000, 50);
  expect(Date.now() - handedOver).toBeLessThan(2000);
  expect(await status(other, "/user/rhea/stays/api/status")).toBe(200);
  const replicas = await other.hub.ctx.db.hubReplica.findMany();
  expect(replicas.map((r) => r.id)).toEqual([other.hub.ctx.cluster.replica]);
  const health = await request(other.url, "GET", "../health", {});
  expect(health.body).toMatchObject({ status: "ok", replica: other.hub.ctx.cluster.replica });
});
