/**
 * A hub that is not root cannot give users identities of their own. It must say so loudly (its start banner, GET
 * /hub/api/info and the admin page for administrators) and start servers for one user only: a second user's servers
 * would share the hub's uid and read the first user's files. The hub really runs as an ordinary uid here, as a child
 * process; the admin page is looked at in Chromium (screenshot: isolation-warning.png).
 */
import { execFile, type ChildProcess } from "node:child_process";
import { chownSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchBrowser, signIn } from "../support/browser.js";
import { identityOf } from "../support/isolation-probes.js";
import { startKernel } from "../support/kernel.js";
import { makeDataDir, readEvents, request, spawnHubProcess, waitFor, waitForHealth, writeHubConfigFile } from "../support/hub.js";
import { repoRoot, screenshotsDir } from "../support/paths.js";
import { freePort } from "../support/service-process.js";

const run = promisify(execFile);

/** The hub's own uid: an ordinary one, outside the ranges users get. */
const HUB = { uid: 1_399_000, gid: 1_399_000 };

let dataDir = "";
let configFile = "";
let baseUrl = "";
let hub: ChildProcess | undefined;
const banner: string[] = [];
/** API tokens, made with the CLI. */
const tokens = { admin: "", alice: "", bob: "" };

/**
 * Runs the hub's CLI as the hub's uid. Asynchronously: a CLI run blocking the event loop for seconds would leave the
 * keep-alive socket of an earlier request, which the hub closes after 5 s idle, looking usable to the next request
 * ("other side closed").
 */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", path.join(repoRoot, "server/src/cli.ts"), "--config", configFile, ...args], {
    cwd: path.join(repoRoot, "server"),
    encoding: "utf8",
    env: { ...process.env, HOME: dataDir, GANYMEDE_LOGGING__LEVEL: "warn" },
    ...HUB,
  });
  return stdout.trim();
}

beforeAll(async () => {
  dataDir = makeDataDir();
  chownSync(dataDir, HUB.uid, HUB.gid);
  baseUrl = `http://127.0.0.1:${await freePort()}`;
  configFile = writeHubConfigFile(dataDir, baseUrl, { cgroupParent: path.basename(dataDir) });
  chownSync(configFile, HUB.uid, HUB.gid);
  hub = spawnHubProcess(configFile, { runAs: HUB, stderr: banner });
  await waitForHealth(baseUrl, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}; the hub wrote:\n${banner.join("")}; exit code ${hub?.exitCode}`);
  });
  await cli("user", "add", "alice");
  await cli("user", "add", "bob");
  for (const user of ["admin", "alice", "bob"] as const) tokens[user] = await cli("token", "create", "--user", user);
}, 90_000);

afterAll(async () => {
  if (hub) {
    const token = tokens.admin;
    for (const user of ["alice", "bob"]) await request(baseUrl, "DELETE", `users/${user}/server`, { token }).catch(() => undefined);
    await waitFor(async () => (await request(baseUrl, "GET", "users/alice?include_stopped_servers", { token })).body.servers?.[""]?.stopped !== false, 20_000).catch(() => undefined);
    hub.kill("SIGTERM");
    await new Promise((r) => hub!.once("exit", r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

it("says loudly that servers share its uid, and starts servers for one user only", async () => {
  expect(banner.join("")).toMatch(/WARNING \(server isolation\): The hub runs as uid 1399000, not root/);

  const { admin, alice, bob } = tokens;
  const info = await request(baseUrl, "GET", "info", { token: admin });
  expect(info.body.spawner.isolation).toMatchObject({ separated: false, summary: expect.stringMatching(/hub's own uid 1399000/) });
  expect(info.body.spawner.isolation.warnings.join(" ")).toMatch(/Servers of only one user may exist.*Run the hub as root.*isolation: none/);


  expect([201, 202]).toContain((await request(baseUrl, "POST", "users/alice/server", { token: alice })).status);
  const events = await readEvents(baseUrl, "/hub/api/users/alice/server/progress", alice);
  expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true });
  const target = { serverUrl: `${baseUrl}/user/alice/`, headers: { authorization: `token ${alice}` } };
  expect((await identityOf(target, await startKernel(target))).uid).toBe(HUB.uid);

  const refused = await request(baseUrl, "POST", "users/bob/server", { token: bob });
  expect(refused.status).toBe(500);
  expect(refused.body.message).toMatch(
    /Refused: the hub runs as uid 1399000, not root, so it cannot start servers under other uids; every server would run as that one uid.*Servers already exist here for alice, so no other user may have one\. An administrator can run the hub as root/,
  );
});

it("shows administrators the warning at the top of the admin page", async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const password = readFileSync(path.join(dataDir, "initial-admin-password"), "utf8").trim();
    await signIn(page, baseUrl, "admin", password, { next: "/hub/admin" });
    const isolation = page.getByRole("region", { name: "Server isolation" });
    const alert = isolation.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Users' servers are not kept apart:.*The hub runs as uid 1399000, not root/);
    mkdirSync(screenshotsDir, { recursive: true });
    await isolation.screenshot({ path: path.join(screenshotsDir, "isolation-warning.png") });
  } finally {
    await browser.close();
  }
});
