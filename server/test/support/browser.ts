/**
 * A real browser for end-to-end tests: Debian's Chromium (scripts/setup.sh installs it) driven by playwright-core,
 * headless, with a fresh temporary profile and the flags that keep it from talking to anything but the hub.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium (Playwright's own browser downloads need network access the test machines do not have). */
export const chromiumPath = "/usr/bin/chromium";

/** No sandbox (tests run as root in containers), no GPU, and no background traffic to Google's services. */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
];

/**
 * Launches headless Chromium. Each launch gets its own temporary profile directory (Playwright creates and deletes
 * it), so no cookie or cache survives from one test run to the next.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run scripts/setup.sh first`);
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/**
 * Signs `page` in through the hub's real sign-in page (`GET /hub/login` → fill → submit; the page posts the form with
 * its double-submit token and the browser's own Origin) and waits until the browser has gone on to `next` (the page
 * there has at least started loading). Throws with the page's message when the hub refuses the sign-in.
 */
export async function signIn(
  page: Page,
  hubUrl: string,
  username: string,
  password: string,
  options: { next?: string; timeoutMs?: number } = {},
): Promise<void> {
  const next = options.next ?? "/hub/home";
  const timeout = options.timeoutMs ?? 60_000;
  await page.goto(`${hubUrl}/hub/login?next=${encodeURIComponent(next)}`, { timeout });
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  const posted = page.waitForResponse(
    (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/hub/login",
    { timeout },
  );
  await page.getByRole("button", { name: "Sign in" }).click();
  const answer = await posted;
  if (!answer.ok()) {
    const error = await page.getByRole("alert").textContent({ timeout: 5_000 }).catch(() => null);
    throw new Error(`signing in as ${username} failed (${answer.status()}): ${error ?? "no message"}`);
  }
  await page.waitForURL((url) => url.pathname !== "/hub/login", { timeout, waitUntil: "commit" });
}
