/**
 * The policy engine's second part (issue 14) on the dashboard, in a real browser against a real hub and real Jupyter
 * servers. Quotas: the user's quota use drawn on Home, a start past it refused in the policy's words in the
 * new-server form, and a start waiting in line for a group's capacity followed on the spawn page into the server.
 * Environments: the new-server form offers the user's environments and sizes; the chosen ones are what runs.
 * Sharing: a server shared from its card, found and used by the person it is shared with, and revoked.
 * Stop warnings: a server
 * near its maximum lifetime is announced with the time, moved later with one click as far as its policy allows (then
 * the dashboard says no more time is allowed), stopped by the culler at that time, and shown stopped with the reason;
 * a server near its idle stop is kept with "I am still using it". Both end in the audit trail. The warning window
 * (`culler.warnBefore`) is longer than the lifetimes here, so the warnings show at once.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardDir } from "../../src/http/dashboard.js";
import { launchBrowser, signIn } from "../support/browser.js";
import { readEvents, startTestHub, type TestHub } from "../support/hub.js";
import { jupyterBin, screenshotsDir } from "../support/paths.js";

const TIMEOUT = 120_000;
const MINUTE = 60_000;
const POLICIES = {
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 2GiB, cpu: 1, memory: 2GB, concurrentBuilds: 2, buildTimeout: 30m, maxLifetime: 20m, lifetimeExtension: 30m }
`,
  "idle-only.yaml": `name: idle-only
appliesTo: { users: [ida] }
limits: { maxLifetime: never, idleTimeout: 20m }
`,
  "quota.yaml": `name: quota
appliesTo: { users: [quincy] }
limits: { maxLifetime: never, runningServers: 1, totalStorage: 4GiB }
`,
  "collab.yaml": `name: collab
appliesTo: { users: [sara] }
limits: { maxLifetime: never, shares: 2 }
`,
  "envs.yaml": `name: envs
appliesTo: { users: [eve] }
limits: { maxLifetime: never }
environments:
  - { name: bare, displayName: Jupyter Server, description: No user interface., command: [${jupyterBin}, server] }
  - { name: lab, displayName: JupyterLab, description: The full notebook interface., command: [${jupyterBin}, lab], default: true }
sizes:
  - { name: small, displayName: "Small: half a CPU, 500 MB", cpu: 0.5, memory: 500MB }
`,
  "lab.yaml": `name: lab
appliesTo: { groups: [lab] }
limits: { maxLifetime: never }
capacity: { runningServers: 1, whenFull: queue }
`,
};

let t: TestHub;
let browser: Browser;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  if (!existsSync(path.join(dashboardDir, "index.html"))) {
    throw new Error(`${dashboardDir} is missing: run \`pnpm --filter @ganymede/web run build\` (scripts/setup.sh does)`);
  }
  mkdirSync(screenshotsDir, { recursive: true });
  [t, browser] = await Promise.all([
    startTestHub({ policies: POLICIES, config: { culler: { enabled: false, warnBefore: "2h" } } }),
    launchBrowser(),
  ]);
  tokens.alice = await t.addUser("alice");
  tokens.ida = await t.addUser("ida");
  tokens.quincy = await t.addUser("quincy");
  tokens.lea = await t.addUser("lea", { groups: ["lab"] });
  tokens.sara = await t.addUser("sara");
  tokens.eve = await t.addUser("eve");
  tokens.tom = await t.addUser("tom");
  tokens.leo = await t.addUser("leo", { groups: ["lab"] });
}, TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await t?.close();
}, TIMEOUT);

async function started(user: string, server: string) {
  expect((await t.api("POST", `users/${user}/servers/${server}`, { token: tokens[user] })).status).toBeOneOf([201, 202]);
  expect((await readEvents(t.url, `/hub/api/users/${user}/servers/${server}/progress`, tokens[user]!)).at(-1)).toMatchObject({ ready: true });
  return (await t.api("GET", `users/${user}`, { token: tokens[user] })).body.servers[server];
}

async function home(user: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, t.url, user, `password-${user}`);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  return page;
}

const card = (page: Page, name: string) =>
  page.locator("li.server-card", { has: page.getByRole("heading", { level: 3, name, exact: true }) });

describe("the stop warning", () => {
  it("announces a lifetime stop, moves it as far as the policy allows, then shows why the server stopped", async () => {
    const server = await started("alice", "lab");
    const start = Date.parse(server.started);
    const page = await home("alice");
    const lab = card(page, "lab");
    const warning = lab.getByRole("alert");
    await warning.getByText(/lab will be stopped in (19|20) min, at \d\d:\d\d/).waitFor();
    expect(await warning.textContent()).toContain("maximum lifetime (20m plus up to 30 min more on request)");
    await page.screenshot({ path: path.join(screenshotsDir, "stop-warning.png"), fullPage: true });

    // One click asks for an hour more; the policy allows 30 minutes, so the button offers exactly that.
    await warning.getByRole("button", { name: /^Keep it until \d\d:\d\d( [AP]M)?$/ }).click();
    await warning.getByText(/lab will be stopped in (49|50) min/).waitFor();
    await warning.getByText("Its policy allows no more time.").waitFor();
    const moved = (await t.api("GET", "users/alice", { token: tokens.alice })).body.servers.lab;
    expect(Date.parse(moved.deadline)).toBe(start + 50 * MINUTE);
    expect(moved.deadline_latest).toBe(moved.deadline);

    // The culler stops it then; the card says when and why.
    expect(await t.hub.culler.cullOnce(start + 50 * MINUTE)).toEqual(["alice/lab"]);
    await lab.getByText("Stopped", { exact: true }).waitFor({ timeout: 30_000 });
    await lab.getByText(/reached the stop time its owner chose \(.*; a maximum lifetime of 20m \(policy `default`\)\)/).waitFor();
    expect(await lab.getByRole("alert").count()).toBe(0);
    await page.screenshot({ path: path.join(screenshotsDir, "stopped-with-reason.png"), fullPage: true });

    await t.hub.ctx.audit.flush();
    const events = (await t.api("GET", "audit?user=alice&action=server.")).body.events as { actor: string; action: string; outcome: string; detail: any }[];
    expect(events.map((e) => [e.actor, e.action, e.outcome])).toEqual([
      ["culler", "server.stop", "ok"],
      ["alice", "server.extend", "ok"],
      ["alice", "server.start", "ok"],
    ]);
    expect(events[1]!.detail).toEqual({ deadline: moved.deadline });
  }, TIMEOUT);

  it("announces an idle stop, and keeps the server when its owner says they are using it", async () => {
    const server = await started("ida", "quiet");
    expect(server.deadline).toBeNull();
    const page = await home("ida");
    const warning = card(page, "quiet").getByRole("alert");
    await warning.getByText(/quiet will be stopped in (19|20) min if it stays idle/).waitFor();
    const before = Date.parse((await t.api("GET", "users/ida", { token: tokens.ida })).body.servers.quiet.last_activity);
    await page.waitForTimeout(1100); // so that the activity recorded next is later than the start's
    await warning.getByRole("button", { name: "I am still using it" }).click();
    await expect
      .poll(async () => Date.parse((await t.api("GET", "users/ida", { token: tokens.ida })).body.servers.quiet.last_activity), { timeout: 10_000 })
      .toBeGreaterThan(before);
    // Still running for the culler an idle timeout after the start, because of that activity.
    expect(await t.hub.culler.cullOnce(Date.parse(server.started) + 20 * MINUTE + 500)).not.toContain("ida/quiet");
  }, TIMEOUT);
});

describe("quotas", () => {
  it("draws the quota in use on Home, and refuses a start past it in the policy's words", async () => {
    await started("quincy", "one");
    const page = await home("quincy");
    const quota = page.getByRole("region", { name: "Your quota" });
    await quota.getByText("1 of 1", { exact: true }).waitFor();
    await quota.getByText("2.0 GiB of 4.0 GiB held by your servers").waitFor();
    await page.getByLabel("Server name").fill("two");
    await page.getByRole("button", { name: "Create and start" }).click();
    await page.getByText("quincy has 1 server running (one); policy `quota` allows 1 at once").waitFor();
    await page.screenshot({ path: path.join(screenshotsDir, "quota.png"), fullPage: true });
    expect((await t.api("GET", "users/quincy?include_stopped_servers", { token: tokens.quincy })).body.servers.two).toBeUndefined();
  }, TIMEOUT);

  it("follows a start waiting in line for the group's capacity on the spawn page, into the server once room is made", async () => {
    await started("lea", "bench");
    const page = await home("leo");
    await page.getByLabel("Server name").fill("bench");
    await page.getByRole("button", { name: "Create and start" }).click();
    await page.getByText(/Waiting for room, number 1 in line: policy `lab` allows 1 server running at once for its group lab; 1 is running/).waitFor();
    await page.screenshot({ path: path.join(screenshotsDir, "start-waiting-for-room.png"), fullPage: true });
    expect((await t.api("DELETE", "users/lea/servers/bench", { token: tokens.lea })).status).toBeOneOf([202, 204]);
    // Room made: the start goes on by itself and the page lands in the server.
    await page.waitForURL(/\/user\/leo\/bench\//, { timeout: 60_000 });
  }, TIMEOUT);
});

describe("sharing", () => {
  it("shares a server from its card; the other user finds it under Shared with you and uses it until it is revoked", async () => {
    await started("sara", "pair");
    const sara = await home("sara");
    const sharing = card(sara, "pair").getByRole("region", { name: "Sharing of pair" });
    await sharing.getByText(/Nobody yet/).waitFor();
    await sharing.getByLabel("Name to share pair with").fill("tom");
    await sharing.getByRole("button", { name: "Share", exact: true }).click();
    await sharing.getByRole("button", { name: "Stop sharing pair with tom" }).waitFor();
    await sharing.getByText("1 of 2").waitFor();
    await sara.screenshot({ path: path.join(screenshotsDir, "sharing.png"), fullPage: true });

    const tom = await home("tom");
    const shared = tom.getByRole("region", { name: "Shared with you" });
    const entry = shared.locator('li[data-shared="sara/pair"]');
    await entry.getByText("with you").waitFor();
    expect(await entry.getByRole("link", { name: "Open sara/pair" }).getAttribute("href")).toBe("/user/sara/pair/");
    // Tom's browser session reaches the server through the hub.
    expect((await tom.request.get(`${t.url}/user/sara/pair/api/status`)).status()).toBe(200);

    await sharing.getByRole("button", { name: "Stop sharing pair with tom" }).click();
    await sharing.getByText(/Nobody yet/).waitFor();
    expect((await tom.request.get(`${t.url}/user/sara/pair/api/status`)).status()).toBe(403);
    await shared.waitFor({ state: "detached", timeout: 10_000 });
  }, TIMEOUT);
});

describe("environments", () => {
  it("offers the user's environments and sizes in the new-server form, and starts the one chosen", async () => {
    const page = await home("eve");
    const form = page.locator("form.new-server");
    const choice = form.getByRole("group", { name: "Environment" });
    await choice.getByText("The full notebook interface.").waitFor();
    expect(await choice.getByRole("radio", { name: /JupyterLab/ }).isChecked()).toBe(true); // the policy's default
    await page.screenshot({ path: path.join(screenshotsDir, "environment-choice.png"), fullPage: true });
    await choice.getByRole("radio", { name: /Jupyter Server/ }).check();
    await form.getByLabel("Size").selectOption("small");
    await form.getByLabel("Server name").fill("plain");
    await form.getByRole("button", { name: "Create and start" }).click();
    await page.waitForURL(/\/user\/eve\/plain\//, { timeout: 60_000 });
    const model = (await t.api("GET", "users/eve", { token: tokens.eve })).body.servers.plain;
    expect(model.user_options).toEqual({ profile: "bare", size: "small" });
    expect(model.limits).toMatchObject({ cpu: 0.5, memory_bytes: 5e8 });
  }, TIMEOUT);
});
