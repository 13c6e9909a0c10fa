/**
 * The React dashboard (web/) served by a real hub, in a real browser (Debian's Chromium via playwright-core), against
 * real Jupyter servers: sign in, the Home page; the server-name rule checked as it is typed; create a named server and
 * follow its start (progress bar, events, then running with an Open link); stop it; delete it after the confirmation;
 * a sixth named server refused with the policy's own sentence; an API token created and revoked.
 * Screenshots go to server/test-results/dashboard-*.png.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardDir } from "../../src/http/pages.js";
import { launchBrowser, signIn } from "../support/browser.js";
import { startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { repoRoot } from "../support/paths.js";

const TIMEOUT = 120_000;
const RESULTS = path.join(repoRoot, "server/test-results");

let t: TestHub;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(dashboardDir, "index.html"))) {
    throw new Error(`${dashboardDir} is missing: run \`pnpm --filter @ganymede/web run build\` (scripts/setup.sh does)`);
  }
  mkdirSync(RESULTS, { recursive: true });
  const [hub, b] = await Promise.all([startTestHub(), launchBrowser()]);
  t = hub;
  browser = b;
  await t.addUser("alice");
  await t.addUser("carol");
}, TIMEOUT);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
}, TIMEOUT);

async function signedIn(user: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await signIn(page, t.url, user, `password-${user}`);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  return page;
}

function card(page: Page, name: string): Locator {
  return page.locator("li.server-card", { has: page.getByRole("heading", { level: 3, name, exact: true }) });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(RESULTS, `dashboard-${name}.png`), fullPage: true });
}

describe("the dashboard", () => {
  it("serves the built app at /hub/home, and sends an anonymous browser to sign in", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${t.url}/hub/home`);
      expect(new URL(page.url()).pathname).toBe("/hub/login");
      expect(new URL(page.url()).searchParams.get("next")).toBe("/hub/home");
    } finally {
      await page.close();
    }
  });

  it("creates, follows, stops and deletes a named server", async () => {
    const page = await signedIn("alice");
    await expect.poll(() => page.getByText("Signed in as alice").count()).toBe(1);
    const name = page.getByLabel("Server name");
    const create = page.getByRole("button", { name: "Create and start" });

    // 21 characters: the rule is shown as it is typed and Create is disabled.
    await name.fill("a".repeat(21));
    await page.getByText("A name has at most 20 characters (this one has 21).").waitFor();
    expect(await name.getAttribute("aria-invalid")).toBe("true");
    expect(await create.isDisabled()).toBe(true);
    await shot(page, "invalid-name");
    await name.fill("Bad-Name");
    await page.getByText(/^Use lowercase letters, digits and single hyphens/).waitFor();
    expect(await create.isDisabled()).toBe(true);

    // A valid name: the server is created and started, its progress followed, then it runs with an Open link.
    await name.fill("demo");
    expect(await create.isDisabled()).toBe(false);
    await create.click();
    const demo = card(page, "demo");
    await demo.getByRole("progressbar", { name: "Starting demo" }).waitFor({ timeout: 60_000 });
    await demo.getByRole("list", { name: "Starting demo: events" }).getByRole("listitem").first().waitFor();
    await demo.getByText("Running", { exact: true }).waitFor({ timeout: 60_000 });
    const open = demo.getByRole("link", { name: "Open demo" });
    await open.waitFor();
    expect(await open.getAttribute("href")).toBe("/user/alice/demo/");
    await demo.getByText(/in \d+ (h|min)/).waitFor(); // time left before the idle stop
    await expect.poll(() => page.getByTestId("named-count").textContent()).toBe("1 named server in use");
    await shot(page, "running");

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
    await expect.poll(() => page.getByTestId("named-count").textContent()).toBe("5 named servers in use");
    await page.getByLabel("Server name").fill("six");
    await page.getByRole("button", { name: "Create and start" }).click();
    const alert = page.locator("form.new-server").getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^carol already has 5 named servers \(five, four, one, three, two\); policy `default` allows 5/);
    await shot(page, "policy-refused");
    expect(await t.hub.ctx.db.server.count({ where: { userId: carol.id } })).toBe(5);
  }, TIMEOUT);

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
