/**
 * The audit trail (issue 14) on a real hub with real Jupyter servers: sign-ins and failed sign-ins through the form;
 * users, tokens and servers created, started, stopped and deleted through the API by their owner and by an admin;
 * policy refusals with their reasons; a user refused another's server, by the API and by the proxy; a policy reload
 * with what changed; the culler's stop with its cause. Then the administrators' API: filters, pagination, the JSON
 * lines export, non-admins refused, retention — and no password or token anywhere in it.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInThroughForm, startTestHub, waitFor, type TestHub } from "../support/hub.js";

let t: TestHub;
let aliceToken: string;

const SHORT_IDLE = (idle: string) => `name: default
appliesTo: { default: true }
limits: { namedServers: 2, serverNameMaxLength: 20, idleTimeout: ${idle}, storage: 2GiB, cpu: 1, memory: 2GB, concurrentBuilds: 2, buildTimeout: 30m }
`;

type Event = { id: number; actor: string; actorKind: string; action: string; user: string | null; server: string | null; outcome: string; status: number | null; detail: any; address: string | null };

const trail = async (query = "") => {
  await t.hub.ctx.audit.flush();
  const res = await t.api("GET", `audit${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { events: Event[]; next?: number };
};

beforeAll(async () => {
  t = await startTestHub({ policies: { "default.yaml": SHORT_IDLE("2h") }, config: { policies: { reloadInterval: "200ms" }, culler: { enabled: false } } });
  aliceToken = await t.addUser("alice");
});

afterAll(async () => {
  await t?.close();
});

describe("the audit trail", () => {
  it("records sign-ins, failed sign-ins and sign-outs, with the name typed and never the password", async () => {
    const signedIn = await signInThroughForm(t.url, "alice", "password-alice");
    expect(signedIn.status).toBe(303);
    const session = signedIn.headers.getSetCookie().find((c) => c.startsWith("ganymede-session="))!.split(";")[0]!;
    expect((await fetch(`${t.url}/hub/logout`, { headers: { cookie: session }, redirect: "manual" })).status).toBe(303);
    expect((await signInThroughForm(t.url, "alice", "not-her-password")).status).toBe(403);
    const { events } = await trail("?user=alice");
    expect(events.map((e) => [e.actor, e.actorKind, e.action, e.user, e.outcome])).toEqual([
      ["anonymous", "anonymous", "sign-in", "alice", "refused"],
      ["alice", "user", "sign-out", "alice", "ok"],
      ["alice", "user", "sign-in", "alice", "ok"],
    ]);
    expect(events[0]!.detail).toMatchObject({ reason: "Invalid username or password.", via: "local" });
    expect(events[0]!.address).toMatch(/127\.0\.0\.1/);
  });

  it("records a server's start, stop and delete by its owner, a policy refusal with its reasons, and another user turned away", async () => {
    expect((await t.api("POST", "users/alice/servers/lab", { token: aliceToken })).status).toBeOneOf([201, 202]);
    await waitFor(async () => (await t.api("GET", "users/alice")).body.servers.lab?.ready === true, 60_000, 200);
    const tooLong = "a-name-of-far-more-than-twenty-characters";
    expect((await t.api("POST", `users/alice/servers/${tooLong}`, { token: aliceToken })).status).toBe(400);
    const bobToken = await t.addUser("bob");
    // As JupyterHub does, another user is not told that alice exists (404).
    expect((await t.api("DELETE", "users/alice/servers/lab", { token: bobToken })).status).toBe(404);
    // …and through the proxy, where the refusal is the proxy's own (403, whether or not the server exists).
    const proxied = await fetch(`${t.url}/user/alice/lab/api/contents`, { headers: { authorization: `token ${bobToken}` } });
    expect(proxied.status).toBe(403);
    expect((await t.api("DELETE", "users/alice/servers/lab", { token: aliceToken })).status).toBeOneOf([202, 204]);
    await waitFor(async () => (await t.api("GET", "users/alice")).body.servers.lab?.ready !== true, 30_000, 200);
    expect((await t.api("DELETE", "users/alice/servers/lab", { token: aliceToken, body: { remove: true } })).status).toBeOneOf([202, 204]);

    const { events } = await trail("?action=server.");
    const rows = events.reverse().map((e) => [e.actor, e.action, e.user, e.server, e.outcome, e.status]);
    expect(rows).toEqual([
      ["alice", "server.start", "alice", "lab", "ok", expect.toBeOneOf([201, 202])],
      ["alice", "server.start", "alice", tooLong, "refused", 400],
      ["bob", "server.stop", "alice", "lab", "refused", 404],
      ["alice", "server.stop", "alice", "lab", "ok", expect.toBeOneOf([202, 204])],
      ["alice", "server.delete", "alice", "lab", "ok", expect.toBeOneOf([202, 204])],
    ]);
    const [proxy] = (await trail("?action=proxy.access")).events;
    expect(proxy).toMatchObject({ actor: "bob", actorKind: "user", user: "alice", server: "lab", outcome: "refused", status: 403, detail: { message: "bob may not use servers of alice", method: "GET" } });
    const refusal = events.find((e) => e.outcome === "refused" && e.status === 400)!;
    // The decision's reasons as the API answered them: rule, policy, limit and value.
    expect(refusal.detail).toMatchObject({
      error: "policy_denied",
      detail: { reasons: [expect.objectContaining({ rule: "server_name_length", policy: "default", limit: 20, value: 41 })] },
    });
    expect(refusal.detail.message).toMatch(/is 41 characters; policy `default` allows at most 20/);
  }, 120_000);

  it("records an admin's actions on others as an admin's, and tokens without the token", async () => {
    expect((await t.api("POST", "users/carol")).status).toBe(201);
    expect((await t.api("PATCH", "users/carol", { body: { admin: true } })).status).toBe(200);
    const created = await t.api("POST", "users/alice/tokens", { token: aliceToken, body: { note: "notebook sync" } });
    expect(created.status).toBe(201);
    expect((await t.api("DELETE", `users/alice/tokens/${created.body.id}`, { token: aliceToken })).status).toBe(204);
    expect((await t.api("DELETE", "users/carol")).status).toBe(204);

    const { events } = await trail("?limit=5");
    expect(events.reverse().map((e) => [e.actor, e.actorKind, e.action, e.user, e.outcome])).toEqual([
      ["admin", "admin", "user.create", "carol", "ok"],
      ["admin", "admin", "user.update", "carol", "ok"],
      ["alice", "user", "token.create", "alice", "ok"],
      ["alice", "user", "token.revoke", "alice", "ok"],
      ["admin", "admin", "user.delete", "carol", "ok"],
    ]);
    expect(events[1]!.detail).toEqual({ fields: ["admin"] });
    const everything = JSON.stringify((await trail("?limit=1000")).events);
    expect(everything).not.toContain(created.body.token);
    expect(everything).not.toContain(aliceToken);
    expect(everything).not.toContain("password-alice");
    expect(everything).not.toContain("not-her-password");
  });

  it("records a policy reload with what changed, and a refused one with why", async () => {
    const file = path.join(t.dataDir, "policies", "default.yaml");
    writeFileSync(file, SHORT_IDLE("1h"));
    writeFileSync(path.join(t.dataDir, "policies", "staff.yaml"), "name: staff\nappliesTo: { groups: [staff] }\nlimits: { namedServers: 4 }\n");
    // Two files: the watch may see them in one reload or in two.
    const applied = async () => (await trail("?action=policy.reload&outcome=ok")).events;
    const union = (events: Event[], key: string) => events.flatMap((e) => e.detail[key] as string[]).sort();
    await waitFor(async () => union(await applied(), "added").includes("staff") && union(await applied(), "changed").includes("default"), 10_000, 100);
    const reloads = await applied();
    expect(reloads.every((e) => e.actor === "hub" && e.actorKind === "hub" && e.detail.removed.length === 0)).toBe(true);
    expect([union(reloads, "added"), union(reloads, "changed")]).toEqual([["staff"], ["default"]]);

    writeFileSync(file, SHORT_IDLE('"soon"'));
    await waitFor(async () => (await trail("?action=policy.reload&outcome=failed")).events.length > 0, 10_000, 100);
    const [refused] = (await trail("?action=policy.reload&outcome=failed")).events;
    expect(refused).toMatchObject({ actor: "hub", detail: { kept: "the previous policies stay in force" } });
    expect(refused!.detail.problems.join("\n")).toMatch(/idleTimeout: "soon" is not a duration/);
    writeFileSync(file, SHORT_IDLE("2h"));
  });

  it("records the culler's stop with its cause", async () => {
    writeFileSync(path.join(t.dataDir, "policies", "default.yaml"), SHORT_IDLE("1s"));
    await waitFor(() => t.hub.ctx.policy.limitsFor({ name: "alice", groups: [] }).idleTimeoutMs === 1000, 10_000, 100);
    expect((await t.api("POST", "users/alice/server", { token: aliceToken })).status).toBeOneOf([201, 202]);
    await waitFor(async () => (await t.api("GET", "users/alice")).body.servers[""]?.ready === true, 60_000, 200);
    await waitFor(async () => (await t.hub.culler.cullOnce()).length > 0, 30_000, 500);
    const [stop] = (await trail("?actor=culler")).events;
    expect(stop).toMatchObject({ actorKind: "hub", action: "server.stop", user: "alice", server: "", outcome: "ok", detail: { idleTimeout: "1s" } });
    expect(stop!.detail.reason).toMatch(/^idle for \d+s; policy `default` stops servers idle for 1s$/);
  }, 120_000);

  it("pages newest first, filters, exports JSON lines, refuses non-admins, and forgets past its retention", async () => {
    const all = (await trail("?limit=1000")).events;
    const first = await trail("?limit=3");
    expect(first.events.map((e) => e.id)).toEqual(all.slice(0, 3).map((e) => e.id));
    const second = await trail(`?limit=3&before=${first.next}`);
    expect(second.events.map((e) => e.id)).toEqual(all.slice(3, 6).map((e) => e.id));
    expect((await trail("?outcome=refused")).events.every((e) => e.outcome === "refused")).toBe(true);
    expect((await trail("?user=bob")).events).toEqual([]);
    expect((await trail(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).events).toEqual([]);

    const exported = await fetch(`${t.url}/hub/api/audit?format=jsonl`, { headers: { authorization: `token ${t.adminToken}` } });
    expect(exported.headers.get("content-type")).toMatch(/application\/x-ndjson/);
    const lines = (await exported.text()).trim().split("\n").map((l) => JSON.parse(l) as Event);
    // The export itself is a read: what it returns is what was there before it.
    expect(lines.map((e) => e.id)).toEqual(all.map((e) => e.id));

    const refused = await t.api("GET", "audit", { token: aliceToken });
    expect(refused.status).toBe(403);
    expect((await t.api("GET", "audit?limit=0")).status).toBe(400);
    await t.hub.ctx.audit.flush();
    // alice's refused read is itself recorded (403): someone looking where they may not.
    expect((await trail("?actor=alice&outcome=refused&limit=1")).events[0]).toMatchObject({ action: "GET /audit", status: 403 });

    expect(await t.hub.ctx.audit.purge(60_000, Date.now() + 3_600_000)).toBe(all.length + 1);
    expect((await trail()).events).toEqual([]);
  });
});
