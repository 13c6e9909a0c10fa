/**
 * Local accounts and browser sessions: the sign-in form (XSRF, Origin, safe `next`), session cookies, CSRF on
 * cookie-authenticated API writes, sign-out, and API tokens stored hashed.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginError, signInThroughForm, startTestHub, type TestHub } from "../support/hub.js";

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub();
  await t.addUser("alice");
});

afterAll(async () => {
  await t?.close();
});

const signIn = (username: string, password: string, options: { next?: string; origin?: string } = {}) =>
  signInThroughForm(t.url, username, password, { next: options.next ?? "/hub/home", origin: options.origin });

function cookiesOf(res: Response): Record<string, string> {
  return Object.fromEntries(res.headers.getSetCookie().map((c) => c.split(";")[0]!.split("=") as [string, string]));
}

describe("signing in", () => {
  it("refuses a wrong password, an empty password and an unknown user with the same message", async () => {
    for (const [user, password] of [["alice", "wrong-password"], ["alice", ""], ["nobody", "password-nobody"]] as const) {
      const res = await signIn(user, password);
      expect(res.status).toBe(403);
      expect(loginError(res)).toContain("Invalid username or password.");
    }
  });

  it("refuses a sign-in posted from another origin", async () => {
    const res = await signIn("alice", "password-alice", { origin: "https://evil.example" });
    expect(res.status).toBe(403);
  });

  it("sets httpOnly SameSite session cookies and returns to a safe next page only", async () => {
    const res = await signIn("alice", "password-alice", { next: "/user/alice/lab" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/user/alice/lab");
    const session = res.headers.getSetCookie().find((c) => c.startsWith("ganymede-session="))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    for (const evil of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const r = await signIn("alice", "password-alice", { next: evil });
      expect(r.headers.get("location")).toBe("/hub/home");
    }
  });
});

describe("a browser session", () => {
  it("reads the API, needs XSRF proof to write, and ends at sign-out", async () => {
    const cookies = cookiesOf(await signIn("alice", "password-alice"));
    const cookie = `ganymede-session=${cookies["ganymede-session"]}; ganymede-xsrf=${cookies["ganymede-xsrf"]}`;
    const me = await fetch(`${t.url}/hub/api/user`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { name: string }).name).toBe("alice");

    const noProof = await fetch(`${t.url}/hub/api/users/alice/tokens`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}" });
    expect(noProof.status).toBe(403);
    expect(((await noProof.json()) as { message: string }).message).toMatch(/XSRF/);

    const foreign = await fetch(`${t.url}/hub/api/users/alice/tokens`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-xsrftoken": cookies["ganymede-xsrf"]!, origin: "https://evil.example" },
      body: "{}",
    });
    expect(foreign.status).toBe(403);

    const withProof = await fetch(`${t.url}/hub/api/users/alice/tokens`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-xsrftoken": cookies["ganymede-xsrf"]!, origin: t.url },
      body: JSON.stringify({ note: "from the browser" }),
    });
    expect(withProof.status).toBe(201);

    await fetch(`${t.url}/hub/logout`, { headers: { cookie }, redirect: "manual" });
    expect((await fetch(`${t.url}/hub/api/user`, { headers: { cookie } })).status).toBe(403);
  });
});

describe("API tokens", () => {
  it("are stored only as hashes and can be revoked", async () => {
    const created = await t.api("POST", "users/alice/tokens", { body: { note: "script" } });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    const rows = await t.hub.ctx.db.apiToken.findMany();
    expect(rows.some((r) => r.hash === createHash("sha256").update(token).digest("hex"))).toBe(true);
    expect(rows.some((r) => JSON.stringify(r).includes(token))).toBe(false);
    expect((await t.api("GET", "user", { token, headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    const list = await t.api("GET", "users/alice/tokens");
    expect(list.body.api_tokens.map((x: { note: string }) => x.note)).toContain("script");
    expect((await t.api("DELETE", `users/alice/tokens/${created.body.id}`)).status).toBe(204);
    expect((await t.api("GET", "user", { token })).status).toBe(403);
  });
});

describe("sign-in rules", () => {
  it("refuses people outside the allowed groups (ending their sessions) and makes admin-group members admins", async () => {
    const ruled = await startTestHub({ config: { auth: { allowedGroups: ["staff"], adminGroups: ["ops"] } } });
    try {
      await ruled.addUser("sam", { groups: ["staff"] });
      await ruled.addUser("olga", { groups: ["staff", "ops"] });
      await ruled.addUser("vic", { groups: ["visitors"] });
      const post = (username: string) => signInThroughForm(ruled.url, username, `password-${username}`);
      const refused = await post("vic");
      expect(refused.status).toBe(403);
      expect(loginError(refused)).toContain("vic may not sign in: not a member of an allowed group (staff)");

      expect((await post("sam")).status).toBe(303);
      expect((await ruled.api("GET", "users/sam")).body.admin).toBe(false);
      expect((await post("olga")).status).toBe(303);
      expect((await ruled.api("GET", "users/olga")).body.admin).toBe(true);

      // Sam leaves the staff group: the next sign-in is refused and the session sam still had ends.
      const sam = await post("sam");
      const session = sam.headers.getSetCookie().find((c) => c.startsWith("ganymede-session="))!.split(";")[0]!;
      expect((await fetch(`${ruled.url}/hub/api/user`, { headers: { cookie: session } })).status).toBe(200);
      await ruled.hub.ctx.users.setGroups("sam", ["alumni"]);
      expect((await post("sam")).status).toBe(403);
      expect((await fetch(`${ruled.url}/hub/api/user`, { headers: { cookie: session } })).status).toBe(403);
    } finally {
      await ruled.close();
    }
  });
});

describe("throttling failed sign-ins", () => {
  it("answers 429 with Retry-After per username and per address, and never logs the password", async () => {
    const lines: string[] = [];
    const throttled = await startTestHub({
      config: { auth: { signInLimits: { perUser: 3, perAddress: 5, window: "60s" } }, logging: { level: "info" } },
      logLines: lines,
    });
    try {
      await throttled.addUser("uma");
      const post = (username: string, password: string) => signInThroughForm(throttled.url, username, password);
      for (let i = 0; i < 3; i++) expect((await post("uma", "guess-secret-" + i)).status).toBe(403);
      const blocked = await post("uma", "password-uma");
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(loginError(blocked)).toMatch(/too many failed sign-ins for the account uma; try again in \d+ s/);

      // Two more failures from this address (other names) use up the address's 5.
      expect((await post("x1", "guess-secret-x")).status).toBe(403);
      expect((await post("x2", "guess-secret-y")).status).toBe(403);
      const anyone = await post("someone", "whatever-secret");
      expect(anyone.status).toBe(429);
      expect(loginError(anyone)).toMatch(/too many failed sign-ins for your address/);
    } finally {
      await throttled.close();
    }
    expect(lines.join("")).toContain("sign-in refused");
    expect(lines.join("")).not.toMatch(/guess-secret|password-uma|whatever-secret/);
  });
});
