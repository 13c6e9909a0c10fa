/**
 * Maximum lifetimes (issue 14) on a real hub with real Jupyter servers on the local backend: the deadline the API
 * shows, moving it within the policy's extension (and the refusals, in the policy's words), the culler's stop at the
 * deadline with its reason kept on the server and in the audit trail, a group's longer extension, and the reason of
 * every other kind of stop (the owner, an administrator, the idle timeout). The culler runs with a clock of the test's
 * own (cullOnce(now)), so an hour of lifetime takes no hour.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents, startTestHub, type TestHub } from "../support/hub.js";

const HOUR = 3_600_000;
const POLICIES = {
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 2GiB, cpu: 1, memory: 2GB, concurrentBuilds: 2, buildTimeout: 30m, maxLifetime: 1h, lifetimeExtension: 30m }
`,
  "night-owls.yaml": `name: night-owls
appliesTo: { groups: [night-owls] }
limits: { lifetimeExtension: 3h }
`,
  "forever.yaml": `name: forever
appliesTo: { users: [fay] }
limits: { maxLifetime: never, idleTimeout: 1m }
`,
};

let t: TestHub;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestHub({ policies: POLICIES, config: { culler: { enabled: false, warnBefore: "15m" } } });
  tokens.alice = await t.addUser("alice");
  tokens.owen = await t.addUser("owen", { groups: ["night-owls"] });
  tokens.fay = await t.addUser("fay");
});

afterAll(async () => {
  await t?.close();
});

async function start(user: string, server: string) {
  const res = await t.api("POST", `users/${user}/servers/${server}`, { token: tokens[user] });
  expect(res.status, JSON.stringify(res.body)).toBeOneOf([201, 202]);
  expect((await readEvents(t.url, `/hub/api/users/${user}/servers/${server}/progress`, tokens[user]!)).at(-1)).toMatchObject({ ready: true });
  return model(user, server);
}

async function model(user: string, server: string) {
  return (await t.api("GET", `users/${user}?include_stopped_servers=1`, { token: tokens[user] })).body.servers[server];
}

const moveTo = (user: string, server: string, deadline: number | string) =>
  t.api("PUT", `users/${user}/servers/${server}/deadline`, {
    token: tokens[user],
    body: { deadline: typeof deadline === "number" ? new Date(deadline).toISOString() : deadline },
  });

describe("a server's maximum lifetime", () => {
  it("shows the deadline, moves it within the extension, refuses past it in the policy's words, and stops the server there", async () => {
    const running = await start("alice", "lab");
    const started = Date.parse(running.started);
    expect(running.limits).toMatchObject({ max_lifetime_seconds: 3600, max_lifetime: "1h", lifetime_extension_seconds: 1800 });
    expect(Date.parse(running.deadline)).toBe(started + HOUR);
    expect(Date.parse(running.deadline_latest)).toBe(started + 1.5 * HOUR);
    expect(running.stop_warning_seconds).toBe(900);

    // Within the extension: the new deadline is the server's.
    const moved = await moveTo("alice", "lab", started + 1.25 * HOUR);
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(Date.parse(moved.body.deadline)).toBe(started + 1.25 * HOUR);
    expect((await model("alice", "lab")).deadline).toBe(moved.body.deadline);

    // Past it: refused with the rule, both policies and the numbers, and nothing changes.
    const tooLate = await moveTo("alice", "lab", started + 2 * HOUR);
    expect(tooLate.status).toBe(400);
    expect(tooLate.body).toMatchObject({ error: "policy_denied" });
    expect(tooLate.body.detail.reasons[0]).toMatchObject({ rule: "lifetime_extension", policy: "default", limit: 1.5 * HOUR, value: 2 * HOUR });
    expect(tooLate.body.message).toMatch(/would let the server run 2h; policy `default` sets a maximum lifetime of 1h and policy `default` allows extending it by at most 30m/);
    expect((await moveTo("alice", "lab", Date.now() - 1000)).body.detail.reasons[0]).toMatchObject({ rule: "deadline_past" });
    expect((await moveTo("alice", "lab", "tomorrow")).body).toMatchObject({ error: "invalid_input" });
    expect((await model("alice", "lab")).deadline).toBe(moved.body.deadline);
    // Nobody moves another user's stop.
    expect((await t.api("PUT", "users/alice/servers/lab/deadline", { token: tokens.owen, body: { deadline: moved.body.deadline } })).status).toBe(404);

    // The culler leaves it running until the chosen deadline, then stops it and says why.
    expect(await t.hub.culler.cullOnce(started + HOUR + 60_000)).toEqual([]);
    expect(await t.hub.culler.cullOnce(started + 1.25 * HOUR)).toEqual(["alice/lab"]);
    const stopped = await model("alice", "lab");
    expect(stopped).toMatchObject({ status: "stopped", deadline: null, deadline_latest: null });
    expect(stopped.stop_reason).toBe(
      `reached the stop time its owner chose (${moved.body.deadline}; a maximum lifetime of 1h (policy \`default\`))`,
    );
    expect(Date.parse(stopped.stopped_at)).toBeGreaterThanOrEqual(started);
    expect((await moveTo("alice", "lab", Date.now() + 60_000)).body).toMatchObject({ error: "conflict" });

    // The audit trail has the move, the refusal and the culler's stop with its reason.
    await t.hub.ctx.audit.flush();
    const events = (await t.api("GET", "audit?user=alice&action=server.")).body.events as { actor: string; action: string; outcome: string; detail: any }[];
    expect(events.slice(0, 8).map((e) => [e.actor, e.action, e.outcome])).toEqual([
      ["alice", "server.extend", "refused"],
      ["culler", "server.stop", "ok"],
      ["owen", "server.extend", "refused"],
      ["alice", "server.extend", "refused"],
      ["alice", "server.extend", "refused"],
      ["alice", "server.extend", "refused"],
      ["alice", "server.extend", "ok"],
      ["alice", "server.start", "ok"],
    ]);
    expect(events[0]!.detail).toMatchObject({ error: "conflict" });
    expect(events[1]!.detail).toMatchObject({ reason: stopped.stop_reason, maxLifetime: "1h" });
    expect(events[5]!.detail).toMatchObject({ error: "policy_denied", message: tooLate.body.message });
    expect(events[6]!.detail).toEqual({ deadline: moved.body.deadline });

    // A new start: a new lifetime, and the last stop's reason is gone.
    const again = await start("alice", "lab");
    expect(again).toMatchObject({ stop_reason: null, stopped_at: null });
    expect(Date.parse(again.deadline)).toBe(Date.parse(again.started) + HOUR);
    expect((await t.api("DELETE", "users/alice/servers/lab", { token: tokens.alice })).status).toBeOneOf([202, 204]);
  }, 120_000);

  it("stops at start + maximum lifetime when nobody moved it; a group's policy allows a longer extension", async () => {
    const running = await start("owen", "night");
    const started = Date.parse(running.started);
    expect(Date.parse(running.deadline_latest)).toBe(started + 4 * HOUR);
    expect((await moveTo("owen", "night", started + 3.5 * HOUR)).status).toBe(200);
    // Earlier again is always allowed.
    expect((await moveTo("owen", "night", started + 0.5 * HOUR)).status).toBe(200);
    expect(await t.hub.culler.cullOnce(started + 0.5 * HOUR)).toEqual(["owen/night"]);

    const other = await start("owen", "day");
    expect(await t.hub.culler.cullOnce(Date.parse(other.started) + HOUR - 1000)).toEqual([]);
    expect(await t.hub.culler.cullOnce(Date.parse(other.started) + HOUR)).toEqual(["owen/day"]);
    expect((await model("owen", "day")).stop_reason).toBe("reached a maximum lifetime of 1h (policy `default`)");
  }, 120_000);

  it("has no deadline where the policy sets no maximum lifetime; the idle timeout's stop keeps its reason", async () => {
    const running = await start("fay", "free");
    expect(running).toMatchObject({ deadline: null, deadline_latest: null, limits: { max_lifetime: "never", max_lifetime_seconds: null } });
    const refused = await moveTo("fay", "free", Date.now() + HOUR);
    expect(refused.body.detail.reasons[0]).toMatchObject({ rule: "lifetime_none", policy: "forever" });
    expect(refused.body.message).toBe("policy `forever` sets no maximum lifetime, so this server has no stop time to move");
    expect(await t.hub.culler.cullOnce(Date.parse(running.started) + 1000 * HOUR)).toEqual(["fay/free"]);
    expect((await model("fay", "free")).stop_reason).toMatch(/^idle for 41d1[56]h(\d+m)?(\d+s)?; policy `forever` stops servers idle for 1m$/);
  }, 120_000);

  it("keeps who stopped a server: its owner, or an administrator", async () => {
    await start("alice", "mine");
    expect((await t.api("DELETE", "users/alice/servers/mine", { token: tokens.alice, body: {} })).status).toBeOneOf([202, 204]);
    await expect.poll(async () => (await model("alice", "mine")).stop_reason, { timeout: 20_000 }).toBe("stopped by alice");
    await start("alice", "mine");
    expect((await t.api("DELETE", "users/alice/servers/mine")).status).toBeOneOf([202, 204]);
    await expect.poll(async () => (await model("alice", "mine")).stop_reason, { timeout: 20_000 }).toBe("stopped by admin (an administrator)");
  }, 120_000);
});
