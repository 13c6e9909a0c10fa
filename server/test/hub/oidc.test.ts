/**
 * Sign-in through OpenID Connect against a real provider (oidc-provider on a loopback port): the full redirect flow
 * with PKCE, state and nonce, the hub's group rules, refusals shown on the sign-in page, and sign-out at the provider.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityFromClaims } from "../../src/auth/oidc.js";
import { loginError, startTestHub, type TestHub } from "../support/hub.js";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.js";
import { freePort } from "../support/service-process.js";

let t: TestHub;
let idp: TestOidcProvider;


beforeAll(async () => {
  const hubUrl = `http://127.0.0.1:${await freePort()}`;
  idp = await startOidcProvider({
    hubUrl,
    accounts: {
      alice: { preferred_username: "Alice", email: "alice@example.org", groups: ["staff", "research"] },
      bob: { preferred_username: "bob", email: "bob@example.org", groups: ["visitors"] },
    },
  });
  const provider = { clientId: idp.clientId, clientSecret: idp.clientSecret, allowInsecureHttp: true };
  t = await startTestHub({
    config: {
      hub: { bind: hubUrl },
      auth: {
        allowedGroups: ["staff"],
        adminGroups: ["research"],
        oidc: [
          { name: "test", label: "Sign in with Test ID", issuer: idp.issuer, scopes: ["openid", "profile", "groups"], ...provider },
          // Nothing listens there: the provider is down.
          { name: "down", label: "Sign in with Down ID", issuer: `http://127.0.0.1:${await freePort()}`, ...provider },
        ],
      },
    },
  });
});

afterAll(async () => {
  await t?.close();
  await idp?.close();
});

/** A browser in miniature: cookies per host and path, redirects followed by hand, every hop recorded. */
class Browser {
  private cookies = new Map<string, { value: string; path: string; host: string }>();
  hops: { url: string; status: number; location: string | null }[] = [];

  cookieFor(url: URL): string {
    return [...this.cookies.entries()]
      .filter(([, c]) => c.host === url.hostname && url.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join("; ");
  }

  async go(start: string, init: { method?: string; body?: URLSearchParams } = {}, rewrite = (u: URL) => u): Promise<{ res: Response; url: URL }> {
    let url = rewrite(new URL(start));
    let { method = "GET", body } = init;
    for (let i = 0; i < 20; i++) {
      const headers: Record<string, string> = { cookie: this.cookieFor(url) };
      if (body) headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await fetch(url, { method, body, headers, redirect: "manual" });
      for (const line of res.headers.getSetCookie()) this.store(url, line);
      const location = res.headers.get("location");
      this.hops.push({ url: url.href, status: res.status, location });
      if (res.status < 300 || res.status >= 400 || !location) return { res, url };
      url = rewrite(new URL(location, url));
      method = "GET";
      body = undefined;
    }
    throw new Error("too many redirects");
  }

  private store(url: URL, line: string) {
    const [pair, ...attrs] = line.split(";").map((s) => s.trim());
    const eq = pair!.indexOf("=");
    const name = pair!.slice(0, eq);
    const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? "/";
    const gone = attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && new Date(a.slice(8)).getTime() < Date.now()));
    if (gone) this.cookies.delete(name);
    else this.cookies.set(name, { value: pair!.slice(eq + 1), path, host: url.hostname });
  }

  /** The hop answered at `path` on the hub (e.g. the callback). */
  hop(path: string) {
    return this.hops.find((h) => new URL(h.url).pathname === path)!;
  }
}

/** Starts at the hub's provider button and completes the provider's login and consent forms as `login`. */
async function signInWithProvider(login: string, options: { next?: string; rewrite?: (u: URL) => URL } = {}) {
  const browser = new Browser();
  let page = await browser.go(`${t.url}/hub/oauth_login/test?next=${encodeURIComponent(options.next ?? "/hub/home")}`, {}, options.rewrite);
  for (let i = 0; i < 4 && page.url.origin === idp.issuer; i++) {
    const html = await page.res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page ${page.url}: ${html.slice(0, 500)}`);
    const fields: Record<string, string> = prompt === "login" ? { prompt, login, password: "any" } : { prompt };
    page = await browser.go(new URL(action, page.url).href, { method: "POST", body: new URLSearchParams(fields) }, options.rewrite);
  }
  return { browser, page };
}

describe("the sign-in page", () => {
  it("offers one button per provider beside the password form", async () => {
    const options = await (await fetch(`${t.url}/hub/login/options`)).json();
    expect(options).toEqual({
      password: { backend: "local" },
      providers: [
        { name: "test", label: "Sign in with Test ID", login_url: "/hub/oauth_login/test" },
        { name: "down", label: "Sign in with Down ID", login_url: "/hub/oauth_login/down" },
      ],
    });
  });
});

describe("signing in through OpenID Connect", () => {
  it("sends the browser to the provider with PKCE (S256), state and nonce in a sealed httpOnly cookie", async () => {
    const res = await fetch(`${t.url}/hub/oauth_login/test?next=/hub/home`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location")!);
    expect(to.origin).toBe(idp.issuer);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    for (const p of ["code_challenge", "state", "nonce"]) expect(to.searchParams.get(p)).toBeTruthy();
    expect(to.searchParams.get("redirect_uri")).toBe(`${t.url}/hub/oauth_callback`);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("ganymede-oidc-flow="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toContain(to.searchParams.get("state")!);
  });

  it("signs alice in with her groups, an admin by her admin group, and returns to the next page", async () => {
    const { browser, page } = await signInWithProvider("alice", { next: "/hub/api/user" });
    expect(browser.hop("/hub/oauth_callback")).toMatchObject({ status: 303, location: "/hub/api/user" });
    expect(page.res.status).toBe(200);
    const me = (await page.res.json()) as { name: string; groups: string[]; admin: boolean };
    expect(me.name).toBe("alice");
    expect([...me.groups].sort()).toEqual(["research", "staff"]);
    expect(me.admin).toBe(true);
  });

  it("never returns to another site", async () => {
    const { browser } = await signInWithProvider("alice", { next: "//evil.example/" });
    expect(browser.hop("/hub/oauth_callback")).toMatchObject({ status: 303, location: "/hub/home" });
  });

  it("refuses bob, who is in no allowed group, with the reason on the sign-in page", async () => {
    const { browser, page } = await signInWithProvider("bob");
    expect(browser.hop("/hub/oauth_callback").status).toBe(403);
    expect(loginError(page.res)).toContain("bob may not sign in: not a member of an allowed group (staff)");
    expect(browser.cookieFor(new URL(`${t.url}/hub/api/user`))).not.toContain("ganymede-session=");
  });

  it("refuses an answer whose state was tampered with", async () => {
    const rewrite = (u: URL) => {
      if (u.pathname === "/hub/oauth_callback") u.searchParams.set("state", "forged");
      return u;
    };
    const { browser, page } = await signInWithProvider("alice", { rewrite });
    expect(browser.hop("/hub/oauth_callback").status).toBe(403);
    expect(loginError(page.res)).toContain("Your sign-in attempt expired or could not be verified");
    expect(browser.cookieFor(new URL(`${t.url}/hub/api/user`))).not.toContain("ganymede-session=");
  });

  it("refuses a callback without the browser's flow cookie", async () => {
    const res = await fetch(`${t.url}/hub/oauth_callback?code=abc&state=xyz`, { redirect: "manual" });
    expect(res.status).toBe(403);
    expect(loginError(res)).toContain("Your sign-in attempt expired or could not be verified");
  });

  it("says clearly on the sign-in page when the provider is unreachable", async () => {
    const res = await fetch(`${t.url}/hub/oauth_login/down?next=/hub/home`, { redirect: "manual" });
    expect(res.status).toBe(503);
    expect(loginError(res)).toBe("Sign in with Down ID is unavailable right now; please try again later.");
  });

  it("answers 404 for an unknown provider", async () => {
    expect((await fetch(`${t.url}/hub/oauth_login/nope`, { redirect: "manual" })).status).toBe(404);
  });
});

describe("signing out", () => {
  it("ends the hub session, then the provider's, with the ID token as hint", async () => {
    const { browser } = await signInWithProvider("alice");
    const hubCookie = () => browser.cookieFor(new URL(`${t.url}/hub/api/user`));
    expect((await fetch(`${t.url}/hub/api/user`, { headers: { cookie: hubCookie() } })).status).toBe(200);
    const session = hubCookie();

    const res = await fetch(`${t.url}/hub/logout`, { headers: { cookie: browser.cookieFor(new URL(`${t.url}/hub/logout`)) }, redirect: "manual" });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(`${idp.issuer}/session/end`);
    expect(to.searchParams.get("id_token_hint")).toBeTruthy();
    expect(to.searchParams.get("post_logout_redirect_uri")).toBe(`${t.url}/hub/login`);
    expect((await fetch(`${t.url}/hub/api/user`, { headers: { cookie: session } })).status).toBe(403);
  });

  it("goes back to the sign-in page after a password sign-in", async () => {
    const res = await fetch(`${t.url}/hub/logout`, { redirect: "manual" });
    expect(res.headers.get("location")).toBe("/hub/login");
  });
});

describe("identityFromClaims", () => {
  const config = { label: "Test ID", usernameClaim: "email", groupsClaim: "roles", stripDomain: true };
  it("lowercases the username, strips the domain when asked and keeps only string groups", () => {
    expect(identityFromClaims({ email: " Alice@Example.org ", roles: ["staff", 3, "staff", ""] }, config)).toEqual({ username: "alice", groups: ["staff"] });
    expect(identityFromClaims({ email: "Alice@Example.org", roles: "staff" }, { ...config, stripDomain: false })).toEqual({ username: "alice@example.org", groups: ["staff"] });
  });
  it("refuses claims that do not name anyone", () => {
    expect(() => identityFromClaims({ roles: [] }, config)).toThrow("Test ID did not say who you are (no `email` claim).");
  });
});
