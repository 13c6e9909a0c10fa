/**
 * JupyterLab through the hub in a real browser (Debian's Chromium via playwright-core): sign in with the hub's form,
 * open alice's named server's `/lab`, create a Python notebook from the launcher, run `print(6*7)` and see `42`.
 * That one flow proves the page load, cookie authentication through the proxy, the X-XSRFToken header JupyterLab
 * sends with its writes (creating the notebook, starting the kernel session), and the kernel WebSocket. Also: another
 * signed-in user is refused at alice's `/lab`, and an anonymous browser is sent to sign in.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page, Request, WebSocket } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signIn } from "../support/browser.js";
import { readEvents, startTestHub, type TestHub } from "../support/hub.js";
import { jupyterBin, repoRoot } from "../support/paths.js";

const SERVER = "nb";
const LAB = `/user/alice/${SERVER}/lab`;
const SCREENSHOT = path.join(repoRoot, "server/test-results/jupyterlab.png");
const FAILURE_SCREENSHOT = path.join(repoRoot, "server/test-results/jupyterlab-failure.png");
const TIMEOUT = 120_000;

let t: TestHub;
let browser: Browser;
let aliceToken: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  t = await startTestHub({
    // JupyterLab itself (the tests' default `jupyter server` has no UI).
    config: { spawner: { startTimeout: "60s", local: { command: [jupyterBin, "lab"] } } },
  });
  aliceToken = await t.addUser("alice");
  await t.addUser("bob");
  const starting = (async () => {
    const res = await t.api("POST", `users/alice/servers/${SERVER}`, { token: aliceToken });
    expect([201, 202], JSON.stringify(res.body)).toContain(res.status);
    const events = await readEvents(t.url, `/hub/api/users/alice/servers/${SERVER}/progress`, aliceToken);
    expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true });
  })();
  // Settle both before failing, so afterAll can close a browser that launched while the server failed to start.
  const launching = launchBrowser().then((b) => (browser = b));
  for (const result of await Promise.allSettled([launching, starting])) if (result.status === "rejected") throw result.reason;
}, TIMEOUT);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
  if (t) rmSync(t.dataDir, { recursive: true, force: true });
}, TIMEOUT);

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  return context.newPage();
}

/** What the page sent to the user server: every write with its XSRF header and answer, every WebSocket. */
interface Traffic {
  writes: { method: string; path: string; status: number; xsrfHeader: boolean }[];
  refused: Refused[];
  sockets: { path: string; frames: number; error?: string; closed: boolean }[];
  /** Settles (rejects) at the first request the proxy or the server refuses: the test fails at once, explained. */
  firstRefusal: Promise<never>;
  pending: Promise<unknown>[];
}

interface Refused {
  method: string;
  path: string;
  status: number;
  /** Which credentials and proofs the browser sent (names only, never values). */
  sent: string[];
  body: string;
}

function watch(page: Page, prefix: string): Traffic {
  let refuse: (err: Error) => void = () => undefined;
  const firstRefusal = new Promise<never>((_, reject) => (refuse = reject));
  firstRefusal.catch(() => undefined); // observed through Promise.race only
  const traffic: Traffic = { writes: [], refused: [], sockets: [], pending: [], firstRefusal };
  const inScope = (request: Request) => new URL(request.url()).pathname.startsWith(prefix);
  page.on("response", (response) => {
    const request = response.request();
    if (!inScope(request)) return;
    const method = request.method();
    const where = new URL(request.url()).pathname;
    traffic.pending.push(
      (async () => {
        const headers = await request.allHeaders();
        if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") {
          traffic.writes.push({ method, path: where, status: response.status(), xsrfHeader: Boolean(headers["x-xsrftoken"]) });
        }
        if (response.status() === 403 || response.status() >= 500) {
          const cookies = (headers.cookie ?? "").split(";").map((c) => c.trim().split("=")[0]).filter(Boolean);
          const sent = [
            ...(headers.authorization ? [`Authorization: ${headers.authorization.split(" ")[0]} …`] : []),
            ...(headers["x-xsrftoken"] ? ["X-XSRFToken"] : []),
            ...(headers.origin ? [`Origin: ${headers.origin}`] : []),
            `cookies: ${cookies.join(", ") || "none"}`,
          ];
          const refused = { method, path: where, status: response.status(), sent, body: await response.text().catch(() => "") };
          traffic.refused.push(refused);
          refuse(new Error(`JupyterLab's request was refused: ${JSON.stringify(refused)}`));
        }
      })(),
    );
  });
  page.on("websocket", (ws: WebSocket) => {
    const socket: Traffic["sockets"][number] = { path: new URL(ws.url()).pathname, frames: 0, closed: false };
    traffic.sockets.push(socket);
    ws.on("framereceived", () => socket.frames++);
    ws.on("socketerror", (error) => {
      socket.error = error;
      refuse(new Error(`JupyterLab's WebSocket ${socket.path} failed: ${error}`));
    });
    ws.on("close", () => (socket.closed = true));
  });
  return traffic;
}

/**
 * Lets the response handlers finish recording. Bounded: Playwright's `allHeaders()` never settles for some requests
 * (those Chromium reports no extra header info for), and a refusal must be reported, not turn into a test timeout.
 */
async function settled(traffic: Traffic, ms = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(traffic.pending), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Waits for `step`, but fails at once (with the refused request) if the proxy refuses anything meanwhile. */
function unlessRefused<T>(traffic: Traffic, step: Promise<T>): Promise<T> {
  return Promise.race([step, traffic.firstRefusal]);
}

describe("JupyterLab through the hub", () => {
  it("runs a notebook cell for its signed-in owner", async () => {
    const started = Date.now();
    let labLoadedMs = 0;
    const page = await newPage();
    const traffic = watch(page, `/user/alice/${SERVER}/`);

    await signIn(page, t.url, "alice", "password-alice", { next: LAB });
    expect(new URL(page.url()).pathname).toBe(LAB);
    // The server's own token never reaches the browser (server/jupyter-config hides it from JupyterLab's pages).
    const pageConfig = JSON.parse((await page.locator("#jupyter-config-data").textContent()) ?? "{}") as { token?: string };
    expect(pageConfig.token).toBe("");

    try {
      // The launcher's "Python 3 (ipykernel)" card: a POST to the contents API, then a POST to the sessions API that
      // starts the kernel, then the kernel's WebSocket.
      const card = page.locator('.jp-LauncherCard[data-category="Notebook"]').first();
      await unlessRefused(traffic, card.waitFor({ state: "visible", timeout: 60_000 }));
      labLoadedMs = Date.now() - started;
      await card.click();

      const editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first();
      await unlessRefused(traffic, editor.waitFor({ state: "visible", timeout: 30_000 }));
      // The status bar shows "Idle" only once the kernel's WebSocket is connected and the kernel answered (the
      // toolbar's indicator says idle earlier; a cell run before the connection is up is silently not sent).
      await unlessRefused(traffic, page.locator(".jp-StatusBar-TextItem", { hasText: /Python 3.*\| Idle$/ }).waitFor({ timeout: 60_000 }));
      await editor.click();
      await page.keyboard.type("print(6*7)");
      await page.keyboard.press("Shift+Enter");

      const output = page.locator(".jp-NotebookPanel .jp-OutputArea-output").first();
      await unlessRefused(traffic, output.filter({ hasText: "42" }).waitFor({ timeout: 30_000 }));
      await expect.poll(() => page.locator(".jp-NotebookPanel .jp-InputArea-prompt").first().textContent(), { timeout: 10_000 }).toContain("[1]");
      expect(await output.textContent()).toBe("42\n");
    } catch (err) {
      mkdirSync(path.dirname(FAILURE_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: FAILURE_SCREENSHOT }).catch(() => undefined);
      await settled(traffic);
      const refused = traffic.refused.length ? `\n${traffic.refused.length} refused, the first: ${JSON.stringify(traffic.refused.slice(0, 3), null, 1)}` : "";
      throw new Error(`${(err as Error).message}\n(screenshot: ${FAILURE_SCREENSHOT})${refused}`, { cause: err });
    }

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    await settled(traffic);
    const summary = JSON.stringify({ writes: traffic.writes, refused: traffic.refused, sockets: traffic.sockets }, null, 1);
    // Nothing JupyterLab sent was refused by the proxy (or failed at the server).
    expect(traffic.refused, summary).toEqual([]);
    // JupyterLab's writes went through, each with its X-XSRFToken header (the proxy's `xsrf` rule demands one).
    const created = traffic.writes.find((w) => w.method === "POST" && w.path === `/user/alice/${SERVER}/api/contents`);
    expect(created, summary).toMatchObject({ status: 201, xsrfHeader: true });
    const session = traffic.writes.find((w) => w.method === "POST" && w.path === `/user/alice/${SERVER}/api/sessions`);
    expect(session, summary).toMatchObject({ status: 201, xsrfHeader: true });
    expect(traffic.writes.every((w) => w.xsrfHeader), summary).toBe(true);
    // The kernel's WebSocket went through the proxy and carried the execution's messages.
    const kernel = traffic.sockets.find((s) => /\/api\/kernels\/[^/]+\/channels$/.test(s.path));
    expect(kernel, summary).toBeDefined();
    expect(kernel!.error, summary).toBeUndefined();
    expect(kernel!.frames, summary).toBeGreaterThan(0);
    console.info(`JupyterLab loaded in ${labLoadedMs} ms; cell ran, whole flow ${Date.now() - started} ms`);
  }, TIMEOUT);

  it("refuses another signed-in user at alice's /lab", async () => {
    const page = await newPage();
    await signIn(page, t.url, "bob", "password-bob");
    const response = await page.goto(`${t.url}${LAB}`);
    expect(response?.status()).toBe(403);
    expect(await page.locator("body").textContent()).toContain("bob may not use servers of alice");
    expect(await page.locator(".jp-LabShell").count()).toBe(0);
  }, TIMEOUT);

  it("sends an anonymous browser to sign in, and back to /lab afterwards", async () => {
    const page = await newPage();
    const response = await page.goto(`${t.url}${LAB}`);
    const redirect = response?.request().redirectedFrom();
    expect(redirect && new URL(redirect.url()).pathname).toBe(LAB);
    expect((await redirect?.response())?.status()).toBe(302);
    expect(page.url()).toBe(`${t.url}/hub/login?next=${encodeURIComponent(LAB)}`);
    // The form carries `next`: signing in there lands on alice's /lab.
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("password-alice");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${t.url}${LAB}`, { waitUntil: "commit", timeout: 30_000 });
  }, TIMEOUT);
});
