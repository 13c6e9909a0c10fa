/**
 * The React dashboard (web/) served by a real hub, in a real browser (Debian's Chromium via playwright-core), against
 * real Jupyter servers: the sign-in page; the Home page; the server-name rule checked as it is typed (and by the API
 * when forced); create a named server, follow its start on the spawn page into JupyterLab, come back, stop it, delete
 * it after the confirmation; a sixth named server refused with the policy's own sentence; a start that fails shows
 * the reason and a way back; an administrator stops another user's server, reads their effective policy and finds the
 * stop in the audit trail (filtered, exported); an API
 * token created and revoked; the Home page on a phone-sized screen.
 * Screenshots of every page go to server/test-results/screenshots/ (the README shows copies from docs/screenshots/).
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardDir } from "../../src/http/dashboard.js";
import { launchBrowser, signIn } from "../support/browser.js";
import { startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { jupyterBin, screenshotsDir } from "../support/paths.js";

const TIMEOUT = 120_000;
const SCREENSHOTS = screenshotsDir;

let t: TestHub;
let browser: Browser;
const contexts: BrowserContext[] = [];
const tokens: Record<string, string> = {};

beforeAll(async () => {
  if (!existsSync(path.join(dashboardDir, "index.html"))) {
    throw new Error(`${dashboardDir} is missing: run \`pnpm --filter @ganymede/web run build\` (scripts/setup.sh does)`);
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  // `jupyter lab`, so that a start followed from the dashboard lands in JupyterLab itself.
  const hubOptions = { config: { spawner: { startTimeout: "60s", local: { command: [jupyterBin, "lab"] } } } };
  const [hub, b] = await Promise.all([startTestHub(hubOptions), launchBrowser()]);
  t = hub;
  browser = b;
  tokens.alice = await t.addUser("alice");
  tokens.carol = await t.addUser("carol", { groups: ["students"] });
  tokens.dave = await t.addUser("dave");
  tokens.ann = await t.addUser("ann", { admin: true });
}, TIMEOUT);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
}, TIMEOUT);

async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  return context.newPage();
}

async function signedIn(user: string, hubUrl = t.url, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await newPage(viewport);
  await signIn(page, hubUrl, user, `password-${user}`);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  return page;
}

function card(page: Page, name: string): Locator {
  return page.locator("li.server-card", { has: page.getByRole("heading", { level: 3, name, exact: true }) });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

describe("signing in", () => {
  it("sends an anonymous browser to the sign-in page, which shows the hub's refusal and then signs in", async () => {
    const page = await newPage();
    await page.goto(`${t.url}/hub/home`);
    expect(new URL(page.url()).pathname).toBe("/hub/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/hub/home");
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await shot(page, "sign-in");
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toBe("Invalid username or password.");
    await shot(page, "sign-in-refused");
    await page.getByLabel("Password").fill("password-alice");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  }, TIMEOUT);
});

describe("the Home page", () => {
  it("creates a named server, follows its start into JupyterLab, then stops and deletes it", async () => {
    const page = await signedIn("alice");
    await expect.poll(() => page.getByText("Signed in as alice").count()).toBe(1);
    await expect.poll(() => page.getByTestId("named-count").textContent()).toBe("0 of 5 named servers used");
    // The default server does not exist before its first start, but can be started.
    await card(page, "Default server").getByRole("button", { name: "Start Default server" }).waitFor();
    const name = page.getByLabel("Server name");
    const create = page.getByRole("button", { name: "Create and start" });

    // 21 characters: the rule is shown as it is typed and Create is disabled; the API refuses it too if forced.
    await name.fill("a".repeat(21));
    await page.getByText("A name has at most 20 characters (this one has 21).").waitFor();
    expect(await name.getAttribute("aria-invalid")).toBe("true");
    expect(await create.isDisabled()).toBe(true);
    await shot(page, "new-server-invalid");
    const forced = await t.api("POST", `users/alice/servers/${"a".repeat(21)}`, { token: tokens.alice });
    expect(forced.status).toBe(400);
    expect(forced.body.message).toMatch(/21 characters.*20/);
    await name.fill("Bad-Name");
    await page.getByText(/^Use lowercase letters, digits and single hyphens/).waitFor();
    expect(await create.isDisabled()).toBe(true);

    // A valid name: the spawn page follows the start (progress bar, events), then the browser lands in JupyterLab.
    await name.fill("demo");
    expect(await create.isDisabled()).toBe(false);
    await create.click();
    await page.waitForURL((url) => url.pathname === "/hub/spawn-pending/alice/demo", { timeout: 30_000 });
    await page.getByRole("progressbar", { name: "Starting demo" }).waitFor({ timeout: 30_000 }).catch(() => undefined);
    if (new URL(page.url()).pathname.startsWith("/hub/")) await shot(page, "spawn-progress").catch(() => undefined);
    await page.waitForURL((url) => url.pathname.startsWith("/user/alice/demo/"), { timeout: 60_000 });
    await page.locator(".jp-LabShell").waitFor({ timeout: 60_000 });

    // Back on Home: running, with an Open link, the idle countdown and the count of named servers.
    await page.goto(`${t.url}/hub/home`);
    const demo = card(page, "demo");
    await demo.getByText("Running", { exact: true }).waitFor({ timeout: 30_000 });
    const open = demo.getByRole("link", { name: "Open demo" });
    expect(await open.getAttribute("href")).toBe("/user/alice/demo/");
    await demo.getByText(/in \d+ (h|min)/).waitFor(); // time left before the idle stop
    await expect.poll(() => page.getByTestId("named-count").textContent()).toBe("1 of 5 named servers used");
    await shot(page, "home");

    // Stop: the server stops, its storage kept.
    await demo.getByRole("button", { name: "Stop demo" }).click();
    await demo.getByText("Stopped", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await demo.getByRole("link", { name: "Open demo" }).count()).toBe(0);
    await demo.getByRole("button", { name: "Start demo" }).waitFor();

    // Delete: a confirmation saying the work will be deleted (Cancel focused), then the server is gone.
    await demo.getByRole("button", { name: "Delete demo" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete demo?" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("all the work saved in it will be deleted");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await shot(page, "delete-confirm");
    await dialog.getByRole("button", { name: "Delete server and its work" }).click();
    await demo.waitFor({ state: "detached", timeout: 30_000 });
    const alice = await t.hub.ctx.db.user.findUniqueOrThrow({ where: { name: "alice" } });
    await waitFor(async () => (await t.hub.ctx.db.server.count({ where: { userId: alice.id } })) === 0);
  }, TIMEOUT);

  it("refuses a sixth named server with the policy's sentence", async () => {
    const carol = await t.hub.ctx.db.user.findUniqueOrThrow({ where: { name: "carol" } });
    for (const name of ["one", "two", "three", "four", "five"]) {
      await t.hub.ctx.db.server.create({ data: { userId: carol.id, name } });
    }
    const page = await signedIn("carol");
    await expect.poll(() => page.getByTestId("named-count").textContent()).toBe("5 of 5 named servers used");
    await page.getByTestId("at-limit").waitFor();
    await page.getByLabel("Server name").fill("six");
    await page.getByRole("button", { name: "Create and start" }).click();
    const alert = page.locator("form.new-server").getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^carol already has 5 named servers \(five, four, one, three, two\); policy `default` allows 5/);
    await shot(page, "policy-refused");
    expect(await t.hub.ctx.db.server.count({ where: { userId: carol.id } })).toBe(5);
  }, TIMEOUT);

  it("fits a phone-sized screen without sideways scrolling, and is usable from the keyboard", async () => {
    const page = await signedIn("carol", t.url, { width: 390, height: 844 });
    await card(page, "five").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await shot(page, "home-phone");
    // The first Tab reaches the skip link, which moves focus past the navigation.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(new URL(page.url()).hash).toBe("#main");
  }, TIMEOUT);
});

describe("a start that fails", () => {
  it("shows the hub's reason on the spawn page, with a way back", async () => {
    // A second hub whose Jupyter command fails after a few seconds: past the moment the page stops waiting for the
    // hub's answer and follows the progress stream instead.
    const failing = await startTestHub({
      config: { spawner: { local: { command: ["/bin/sh", "-c", "sleep 3; echo 'no kernel for you' >&2; exit 3", "sh"] } } },
    });
    try {
      await failing.addUser("erin");
      const page = await signedIn("erin", failing.url);
      await card(page, "Default server").getByRole("button", { name: "Start Default server" }).click();
      await page.waitForURL((url) => url.pathname === "/hub/spawn-pending/erin", { timeout: 30_000 });
      const reason = page.locator("section.spawn").getByRole("alert");
      await reason.waitFor({ timeout: 30_000 });
      expect(await reason.textContent()).toMatch(/^Spawn failed: .*exit(?:ed with)? code 3/);
      expect(await reason.textContent()).toContain("no kernel for you"); // the last lines of its log
      await page.getByRole("heading", { name: "The default server did not start" }).waitFor();
      await page.getByRole("button", { name: "Try again" }).waitFor();
      await shot(page, "spawn-failed");
      await page.getByRole("link", { name: "Back to Home" }).click();
      await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
    } finally {
      await failing.close();
    }
  }, TIMEOUT);
});

describe("the Admin page", () => {
  it("lists users with groups and servers, stops another user's server, explains a user's policy, and finds the stop in the audit trail", async () => {
    const started = await t.api("POST", "users/dave/server", { token: tokens.dave });
    expect([201, 202]).toContain(started.status);
    await waitFor(async () => (await t.api("GET", "users/dave", { token: tokens.dave })).body.server !== null, 60_000);

    const page = await signedIn("ann");
    // Only administrators see the Admin link.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    await page.getByRole("heading", { level: 1, name: "Administration" }).waitFor();
    // How servers are kept apart, from the hub itself (this hub is root: one uid per user, nothing to warn about).
    const isolation = page.getByRole("region", { name: "Server isolation" });
    await isolation.getByText(/Each user's servers run as that user's own unprivileged uid/).waitFor();
    expect(await isolation.getByRole("alert").count()).toBe(0);
    const carolRow = page.locator('tr[data-user="carol"]');
    expect(await carolRow.locator("td").first().textContent()).toBe("students");
    const daveServer = page.locator('li[data-server="dave/"]');
    await daveServer.getByText("Running", { exact: true }).waitFor({ timeout: 30_000 });

    await carolRow.getByRole("button", { name: "Explain the policy of carol" }).click();
    const explanation = page.getByTestId("policy-explanation");
    await explanation.getByRole("row", { name: /Named servers 5/ }).waitFor();
    expect(await explanation.getByRole("row", { name: /Storage per server/ }).textContent()).toContain("default (");
    expect(await page.getByTestId("policy-files").getByRole("row", { name: /default\.yaml/ }).textContent()).toContain("valid");
    await shot(page, "admin");

    await daveServer.getByRole("button", { name: "Stop dave/default" }).click();
    await daveServer.getByText("Stopped", { exact: true }).waitFor({ timeout: 30_000 });
    expect((await t.api("GET", "users/dave", { token: tokens.dave })).body.server).toBeNull();

    // The audit trail names ann, as an administrator, stopping dave's server; its export is what the filter shows.
    const audit = page.getByTestId("audit-trail");
    await audit.getByLabel("User").fill("dave");
    await audit.getByLabel("Action").fill("server.");
    await audit.getByRole("button", { name: "Filter" }).click();
    // The rows shown before the filter was applied may still be there for a moment: wait for dave's.
    const stop = audit.getByRole("row", { name: /server\.stop.*dave\/default/ });
    await stop.waitFor();
    expect(await stop.textContent()).toMatch(/ann \(admin\).*server\.stopdave\/defaultok \(20[24]\)/);
    const exported = await page.request.get(new URL(String(await audit.getByRole("link", { name: "Export (JSON lines)" }).getAttribute("href")), t.url).href);
    const lines = (await exported.text()).trim().split("\n").map((l) => JSON.parse(l) as { actor: string; action: string; user: string });
    expect(lines.map((e) => [e.actor, e.action, e.user])).toEqual([["ann", "server.stop", "dave"], ["dave", "server.start", "dave"]]);
  }, TIMEOUT);

  it("is not offered to other users, and its API refuses them", async () => {
    const page = await signedIn("alice");
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).count()).toBe(0);
    expect((await t.api("GET", "policies", { token: tokens.alice })).status).toBe(403);
    expect((await t.api("GET", "users/carol/policy", { token: tokens.alice })).status).toBe(404);
  }, TIMEOUT);
});

describe("the Tokens page", () => {
  it("creates and revokes an API token", async () => {
    const page = await signedIn("alice");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tokens" }).click();
    await page.getByRole("heading", { level: 1, name: "API tokens" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/hub/tokens");
    await page.getByLabel("Note").fill("dashboard-test");
    await page.getByLabel("Expires after").selectOption({ label: "1 day" });
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = (await page.getByLabel("New token secret").textContent()) ?? "";
    expect(secret.length).toBeGreaterThan(20);
    // The secret works against the API.
    expect((await t.api("GET", "user", { token: secret })).body.name).toBe("alice");
    const row = page.getByRole("row", { name: /dashboard-test/ });
    await row.waitFor();
    await shot(page, "tokens");

    await row.getByRole("button", { name: "Revoke dashboard-test" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
    await row.waitFor({ state: "detached" });
    expect((await t.api("GET", "user", { token: secret })).status).toBe(403);
    // A reload lands on the same page (the hub serves the dashboard at /hub/tokens).
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "API tokens" }).waitFor();
  }, TIMEOUT);
});
