/**
 * The Binder form and launch page in a real browser (Debian's Chromium), against a hub that really builds: the form
 * checks the repository with the hub and shows the shareable link and badge; Launch opens BinderHub's /v2/ page,
 * which draws the phases and streams the build log, then lands in JupyterLab at the file asked for. A refused
 * repository shows the hub's reason in the form. Screenshots go to server/test-results/screenshots/.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signIn } from "../support/browser.js";
import { startBinderHub, type BinderHub } from "../support/binder-hub.js";
import { screenshotsDir } from "../support/paths.js";

const TIMEOUT = 600_000;
const SCREENSHOTS = screenshotsDir;
let binder: BinderHub;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // `jupyter lab`: the launch lands in JupyterLab itself.
  [binder, browser] = await Promise.all([startBinderHub({ command: ["jupyter", "lab"] }), launchBrowser()]);
  await binder.hub.addUser("alice");
}, TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await binder?.close();
}, 120_000);

async function signedIn(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, binder.hub.url, "alice", "password-alice");
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  return page;
}

describe("the Binder form", () => {
  it("shows the link to share, launches, streams the build and lands in JupyterLab at the file", async () => {
    // A unique file, so the launch really builds (and the page really shows a build log).
    const { url } = await binder.git.createRepo("course", {
      "requirements.txt": "tabulate==0.9.0\n",
      "postBuild": `#!/bin/sh\necho "building course ${Date.now()}"\nsleep 2\n`,
      "intro.ipynb": JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }),
    }, { executable: ["postBuild"] });
    const page = await signedIn();
    const form = page.locator("form.binder");
    await form.getByLabel("Git repository URL").fill(url);
    await form.getByLabel("Branch, tag or commit").fill("main");
    await form.getByLabel("File or URL path to open").fill("intro.ipynb");
    const share = form.getByTestId("share");
    await share.waitFor();
    const spec = `git/${encodeURIComponent(url)}/main`;
    expect(await share.textContent()).toContain(`${binder.hub.url}/v2/${spec}?labpath=intro.ipynb`);
    expect(await share.textContent()).toContain(`[![Binder](${binder.hub.url}/badge_logo.svg)]`);
    await form.screenshot({ path: path.join(SCREENSHOTS, "binder-form.png") });

    await form.getByRole("button", { name: "Launch" }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/v2/"));
    const steps = page.getByRole("list", { name: "Launch progress" });
    await steps.locator('[aria-current="step"]').first().waitFor();
    await page.getByRole("log", { name: "Build log" }).getByText(/building course/).waitFor({ timeout: TIMEOUT });
    await page.screenshot({ path: path.join(SCREENSHOTS, "binder-launch.png"), fullPage: true });
    await page.waitForURL((u) => u.pathname === "/user/alice/binder-course/lab/tree/intro.ipynb", { timeout: TIMEOUT });
    await page.locator(".jp-LabShell").waitFor({ timeout: 120_000 });
  }, TIMEOUT);

  it("shows the hub's refusal of a repository it will not fetch", async () => {
    const page = await signedIn();
    const form = page.locator("form.binder");
    await form.getByLabel("Git repository URL").fill("https://user:hunter2@example.org/repo.git");
    const alert = form.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/credentials/);
    expect(await alert.textContent()).not.toContain("hunter2");
    expect(await form.getByRole("button", { name: "Launch" }).isDisabled()).toBe(true);
  }, TIMEOUT);
});
