/**
 * Quotas across servers (issue 14) on a real hub with real Jupyter servers on the local backend: a user's own quotas
 * (servers running at once, CPU and memory of their running servers together, storage of all their servers), a
 * group's capacity that refuses when full, and one that queues: the start waits in line, its place shown as its
 * progress, and starts when a server of the group stops; a queued start that is cancelled leaves nothing. Each
 * refusal names the rule, the policy and the numbers (used, requested, limit), in the API and in the audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";

const POLICIES = {
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 1GiB, cpu: 0.5, memory: 500MB, concurrentBuilds: 2, buildTimeout: 30m }
`,
  "two-at-once.yaml": `name: two-at-once
appliesTo: { users: [alice] }
limits: { runningServers: 2 }
`,
  "memory-budget.yaml": `name: memory-budget
appliesTo: { users: [bob] }
limits: { totalMemory: 800MB, totalCpu: 2 }
`,
  "storage-budget.yaml": `name: storage-budget
appliesTo: { users: [carol] }
limits: { totalStorage: 2GiB }
`,
  "students.yaml": `name: students
appliesTo: { groups: [students] }
capacity: { runningServers: 2 }
`,
  "lab.yaml": `name: lab
appliesTo: { groups: [lab] }
capacity: { runningServers: 1, whenFull: queue }
`,
};

let t: TestHub;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestHub({ policies: POLICIES, config: { culler: { enabled: false } } });
  tokens.alice = await t.addUser("alice");
  tokens.bob = await t.addUser("bob");
  tokens.carol = await t.addUser("carol");
  for (const name of ["sam", "sue", "sid"]) tokens[name] = await t.addUser(name, { groups: ["students"] });
  for (const name of ["quinn", "quentin", "queenie"]) tokens[name] = await t.addUser(name, { groups: ["lab"] });
});

afterAll(async () => {
  await t?.close();
});

const start = (user: string, server: string) => t.api("POST", `users/${user}/servers/${server}`, { token: tokens[user] });
const stop = (user: string, server: string, remove = false) =>
  t.api("DELETE", `users/${user}/servers/${server}`, { token: tokens[user], body: remove ? { remove } : {} });

async function started(user: string, server: string) {
  const res = await start(user, server);
  expect(res.status, JSON.stringify(res.body)).toBeOneOf([201, 202]);
  expect((await readEvents(t.url, `/hub/api/users/${user}/servers/${server}/progress`, tokens[user]!)).at(-1)).toMatchObject({ ready: true });
}

async function stopped(user: string, server: string) {
  expect((await stop(user, server)).status).toBeOneOf([202, 204]);
  await waitFor(async () => (await t.api("GET", `users/${user}?include_stopped_servers`, { token: tokens[user] })).body.servers[server]?.status === "stopped", 20_000, 100);
}

const reasonOf = (res: { status: number; body: any }) => {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error).toBe("policy_denied");
  return res.body.detail.reasons[0];
};

describe("a user's own quotas", () => {
  it("refuses a third server running at once, naming the two, and counts the quota in the user model", async () => {
    await started("alice", "one");
    await started("alice", "two");
    const third = reasonOf(await start("alice", "three"));
    expect(third).toEqual({
      rule: "running_servers",
      policy: "two-at-once",
      limit: 2,
      used: 2,
      requested: 1,
      message: "alice has 2 servers running (one, two); policy `two-at-once` allows 2 at once",
    });
    // Refused before anything was made: no server row, nothing on disk.
    expect((await t.api("GET", "users/alice?include_stopped_servers", { token: tokens.alice })).body.servers.three).toBeUndefined();
    const model = (await t.api("GET", "users/alice", { token: tokens.alice })).body;
    expect(model.quotas).toEqual({
      running_servers: { used: 2, limit: 2 },
      cpu: { used: 1, limit: null },
      memory_bytes: { used: 1e9, limit: null },
      storage_bytes: { used: 2 * 2 ** 30, limit: null },
    });
    // A stopped server frees its place (but not its storage).
    await stopped("alice", "two");
    await started("alice", "three");
    expect((await t.api("GET", "users/alice", { token: tokens.alice })).body.quotas.storage_bytes).toEqual({ used: 3 * 2 ** 30, limit: null });
    await stopped("alice", "one");
    await stopped("alice", "three");

    await t.hub.ctx.audit.flush();
    const [refusal] = (await t.api("GET", "audit?user=alice&outcome=refused")).body.events;
    expect(refusal).toMatchObject({ action: "server.start", server: "three", detail: { error: "policy_denied", detail: { reasons: [third] } } });
  }, 120_000);

  it("refuses a start whose memory would take the user's running servers past their total, with the numbers", async () => {
    await started("bob", "a");
    const second = reasonOf(await start("bob", "b"));
    expect(second).toMatchObject({ rule: "total_memory", policy: "memory-budget", limit: 8e8, used: 5e8, requested: 5e8 });
    expect(second.message).toBe(
      "starting server b needs 500 MB of memory; bob's running servers use 500 MB of the 800 MB policy `memory-budget` allows in total",
    );
    await stopped("bob", "a");
  }, 120_000);

  it("refuses to create a server past the user's total storage, but starts the servers they have", async () => {
    await started("carol", "first");
    await stopped("carol", "first");
    await started("carol", "second");
    await stopped("carol", "second");
    const third = reasonOf(await start("carol", "third"));
    expect(third).toMatchObject({ rule: "total_storage", policy: "storage-budget", limit: 2 ** 31, used: 2 ** 31, requested: 2 ** 30 });
    expect(third.message).toMatch(/^creating server third needs 1 GiB of storage; carol's servers hold 2 GiB of the 2 GiB policy `storage-budget` allows in total \(delete a server to make room\)$/);
    await started("carol", "first"); // an existing server's storage is already counted
    await stopped("carol", "first");
    expect((await stop("carol", "second", true)).status).toBeOneOf([202, 204]);
    await started("carol", "third");
    await stopped("carol", "third");
  }, 120_000);
});

describe("a group's capacity", () => {
  it("refuses a start when the group's servers fill it, shared by all its members", async () => {
    await started("sam", "s");
    await started("sue", "s");
    const full = reasonOf(await start("sid", "s"));
    expect(full).toEqual({
      rule: "capacity_servers",
      policy: "students",
      limit: 2,
      used: 2,
      requested: 1,
      message: "policy `students` allows 2 servers running at once for its group students; 2 are running",
    });
    await stopped("sam", "s");
    await started("sid", "s");
    await stopped("sue", "s");
    await stopped("sid", "s");
  }, 120_000);

  it("counts the servers a restarted hub finds running", async () => {
    await started("sam", "s");
    await started("sue", "s");
    const dataDir = t.dataDir;
    await t.hub.close(); // the servers keep running
    t = await startTestHub({ dataDir, policies: POLICIES, config: { culler: { enabled: false } } });
    expect(reasonOf(await start("sid", "s"))).toMatchObject({ rule: "capacity_servers", used: 2, limit: 2 });
    await stopped("sam", "s");
    await stopped("sue", "s");
  }, 120_000);

  it("queues a start when the capacity says so: it waits in line, shown as progress, starts when room is made, and a cancelled one leaves nothing", async () => {
    await started("quinn", "q");
    // Accepted, but waiting: 202, and the progress says why and where it stands.
    expect((await start("quentin", "q")).status).toBe(202);
    expect((await start("queenie", "q")).status).toBe(202);
    const waiting = await t.api("GET", "users/quentin", { token: tokens.quentin });
    expect(waiting.body.servers.q).toMatchObject({ pending: "spawn", ready: false });
    expect(waiting.body.quotas.running_servers.used).toBe(0); // waiting in line holds nothing
    const first = readEvents(t.url, "/hub/api/users/quentin/servers/q/progress", tokens.quentin!, 60_000);
    const second = readEvents(t.url, "/hub/api/users/queenie/servers/q/progress", tokens.queenie!, 60_000);

    await stopped("quinn", "q");
    const events = await first;
    expect(events.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        "Waiting for room, number 1 in line: policy `lab` allows 1 server running at once for its group lab; 1 is running",
        "Room found: starting",
      ]),
    );
    expect(events.at(-1)).toMatchObject({ ready: true });

    // queenie is next, behind quentin's running server; her cancelled start leaves no server behind.
    expect((await stop("queenie", "q")).status).toBeOneOf([202, 204]);
    const cancelled = await second;
    expect(cancelled.map((e) => e.message)).toContain(
      "Waiting for room, number 2 in line: policy `lab` allows 1 server running at once for its group lab; 1 is running",
    );
    expect(cancelled.at(-1)).toMatchObject({ failed: true, message: "Spawn failed: the start was cancelled while it waited for room" });
    expect((await t.api("GET", "users/queenie?include_stopped_servers", { token: tokens.queenie })).body.servers.q).toBeUndefined();
    await stopped("quentin", "q");
  }, 120_000);
});
