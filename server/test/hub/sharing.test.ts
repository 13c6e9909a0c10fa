/**
 * Sharing a server (issue 14; JupyterHub 5's sharing API) on a real hub with a real Jupyter server: refused where
 * the owner's policy does not allow it or allows no more; shared with a user, who runs code in it through the proxy
 * (HTTP and a kernel WebSocket); shared with a group, whose members get in; revoked, which the proxy applies to the
 * next request and to the WebSocket left open; left by the user shared with; gone with the server. Each change and
 * refusal is in the audit trail.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute, startKernel } from "../support/kernel.js";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";

const POLICIES = {
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 1GiB, cpu: 1, memory: 1GB, concurrentBuilds: 2, buildTimeout: 30m }
`,
  "collab.yaml": `name: collab
appliesTo: { groups: [collab] }
limits: { shares: 2 }
`,
};

let t: TestHub;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestHub({ policies: POLICIES, config: { culler: { enabled: false } } });
  tokens.alice = await t.addUser("alice", { groups: ["collab"] });
  tokens.bob = await t.addUser("bob");
  tokens.carol = await t.addUser("carol", { groups: ["team"] });
  tokens.dave = await t.addUser("dave");
  for (const [user, server] of [["alice", "work"], ["dave", "mine"]] as const) {
    expect((await t.api("POST", `users/${user}/servers/${server}`, { token: tokens[user] })).status).toBeOneOf([201, 202]);
    expect((await readEvents(t.url, `/hub/api/users/${user}/servers/${server}/progress`, tokens[user]!)).at(-1)).toMatchObject({ ready: true });
  }
});

afterAll(async () => {
  await t?.close();
});

const status = async (as: string, path = "/user/alice/work/api/status") =>
  (await fetch(`${t.url}${path}`, { headers: { authorization: `token ${tokens[as]}` } })).status;
const target = (as: string) => ({ serverUrl: `${t.url}/user/alice/work/`, headers: { authorization: `token ${tokens[as]}` } });

/** A kernel WebSocket kept open; resolves `closed` when the hub ends it. */
function openChannel(as: string, kernel: string) {
  const url = new URL(`/user/alice/work/api/kernels/${kernel}/channels?session_id=${randomUUID()}`, t.url);
  url.protocol = "ws:";
  const ws = new WebSocket(url, { headers: target(as).headers });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  return { ws, opened, closed };
}

describe("sharing a server", () => {
  it("is refused where the owner's policy does not allow it, in its words", async () => {
    const res = await t.api("POST", "shares/dave/mine", { token: tokens.dave, body: { user: "bob" } });
    expect(res.status).toBe(400);
    expect(res.body.detail.reasons).toEqual([
      { rule: "sharing_off", policy: "built-in", message: "no policy allows dave to share servers", limit: 0, value: 1 },
    ]);
    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "nobody" } })).status).toBe(404);
    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "bob", group: "team" } })).status).toBe(400);
    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "bob", scopes: ["admin:users"] } })).body.message).toMatch(
      /only the scope access:servers!server=alice\/work can be shared here/,
    );
    // Nobody shares another's server: for bob, alice's server does not exist.
    expect((await t.api("POST", "shares/alice/work", { token: tokens.bob, body: { user: "bob" } })).status).toBe(404);
  });

  it("lets the user shared with run code in it through the proxy, lists it for them, and counts against the policy", async () => {
    expect(await status("bob")).toBe(403);
    const shared = await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "bob" } });
    expect(shared.status).toBe(200);
    expect(shared.body).toMatchObject({
      kind: "share",
      server: { name: "work", user: { name: "alice" }, url: "/user/alice/work/" },
      scopes: ["access:servers!server=alice/work"],
      user: { name: "bob" },
      group: null,
    });
    expect(await status("bob")).toBe(200);
    const kernel = await startKernel(target("bob"));
    expect(await execute(target("bob"), kernel, "print(6 * 7)")).toBe("42\n");
    expect((await t.api("GET", "users/bob/shared", { token: tokens.bob })).body.items).toEqual([
      expect.objectContaining({ server: { name: "work", user: { name: "alice" }, url: "/user/alice/work/", ready: true }, via: { kind: "user", name: "bob" } }),
    ]);
    // A group's members get in too; a third share is one more than the policy allows.
    expect(await status("carol")).toBe(403);
    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { group: "team" } })).status).toBe(200);
    expect(await status("carol")).toBe(200);
    const third = await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "dave" } });
    expect(third.body.detail.reasons[0]).toMatchObject({
      rule: "shares",
      policy: "collab",
      message: "alice's server work is shared with 2 users or groups; policy `collab` allows 2",
    });
    // Sharing again what is shared is no new share.
    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "bob" } })).status).toBe(200);
    expect((await t.api("GET", "shares/alice/work", { token: tokens.alice })).body.items.map((s: any) => s.user?.name ?? `group ${s.group.name}`)).toEqual(["bob", "group team"]);
  }, 120_000);

  it("takes a revocation at once: the next request is refused and the open WebSocket is closed", async () => {
    const kernel = await startKernel(target("bob"));
    const channel = openChannel("bob", kernel);
    await channel.opened;
    const revoked = await t.api("PATCH", "shares/alice/work", { token: tokens.alice, body: { user: "bob" } });
    expect(revoked.status).toBe(204);
    expect(await Promise.race([channel.closed, new Promise((r) => setTimeout(() => r("still open"), 5_000))])).not.toBe("still open");
    expect(await status("bob")).toBe(403);
    await expect(execute(target("bob"), kernel, "print(1)", 5_000)).rejects.toThrow(/refused with 403/);
    // The owner's own connections are left alone, and the group's share stands.
    expect(await execute(target("alice"), kernel, "print('still mine')")).toBe("still mine\n");
    expect(await status("carol")).toBe(200);
  }, 120_000);

  it("can be left by the user shared with, revoked all at once, and goes with the server", async () => {
    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "bob" } })).status).toBe(200);
    expect((await t.api("DELETE", "users/bob/shared/alice/work", { token: tokens.bob })).status).toBe(204);
    expect(await status("bob")).toBe(403);
    // The same answer for a server that does not exist: leaving tells nothing about other users' servers.
    expect((await t.api("DELETE", "users/bob/shared/alice/no-such-server", { token: tokens.bob })).status).toBe(204);
    expect((await t.api("DELETE", "shares/alice/work", { token: tokens.alice })).status).toBe(204);
    expect(await status("carol")).toBe(403);

    expect((await t.api("POST", "shares/alice/work", { token: tokens.alice, body: { user: "bob" } })).status).toBe(200);
    expect((await t.api("DELETE", "users/alice/servers/work", { token: tokens.alice, body: { remove: true } })).status).toBeOneOf([202, 204]);
    await waitFor(async () => (await t.api("GET", "users/bob/shared", { token: tokens.bob })).body.items.length === 0, 20_000, 200);

    await t.hub.ctx.audit.flush();
    const events = (await t.api("GET", "audit?user=alice&action=server.")).body.events as { actor: string; action: string; outcome: string; detail: any }[];
    const sharing = events.filter((e) => e.action === "server.share" || e.action === "server.unshare").map((e) => [e.actor, e.action, e.outcome, e.detail?.user ?? e.detail?.group ?? e.detail?.all ?? e.detail?.error]);
    expect(sharing).toEqual([
      ["alice", "server.share", "ok", "bob"],
      ["alice", "server.unshare", "ok", true],
      ["alice", "server.share", "ok", "bob"],
      ["alice", "server.unshare", "ok", "bob"],
      ["alice", "server.share", "ok", "bob"],
      ["alice", "server.share", "refused", "dave"],
      ["alice", "server.share", "ok", "team"],
      ["alice", "server.share", "ok", "bob"],
      ["bob", "server.share", "refused", "bob"],
      ["alice", "server.share", "refused", "bob"],
      ["alice", "server.share", "refused", "bob"],
      ["alice", "server.share", "refused", "nobody"],
    ]);
  }, 120_000);
});
