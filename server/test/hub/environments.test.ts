/**
 * Environments and sizes (issue 14; KubeSpawner's profile_list and user_options conventions) on a real hub with real
 * Jupyter servers on the local backend: what each user is offered (a group's environment, sizes within their
 * per-server limits), the default a start without a choice gets, a choice made through the API that runs that
 * environment's own command at its size, the choice remembered across a stop, and refusals that name the rule and
 * who the environment is for.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents, startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { jupyterBin } from "../support/paths.js";

const POLICIES = {
  "default.yaml": `name: default
appliesTo: { default: true }
limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: 2h, storage: 1GiB, cpu: 1, memory: 1GB, concurrentBuilds: 2, buildTimeout: 30m }
environments:
  - name: server
    displayName: Jupyter Server
    description: The bare server, no user interface.
    command: [${jupyterBin}, server]
sizes:
  - { name: small, displayName: "Small: half a CPU, 500 MB", cpu: 0.5, memory: 500MB }
  - { name: huge, displayName: "Huge: 4 CPU, 8 GB", cpu: 4, memory: 8GB }
`,
  "labbers.yaml": `name: labbers
appliesTo: { groups: [labbers] }
environments:
  - name: lab
    displayName: JupyterLab
    command: [${jupyterBin}, lab]
    cpu: 0.5
    default: true
`,
};

let t: TestHub;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestHub({ policies: POLICIES, config: { culler: { enabled: false } } });
  tokens.sam = await t.addUser("sam");
  tokens.lena = await t.addUser("lena", { groups: ["labbers"] });
});

afterAll(async () => {
  await t?.close();
});

async function started(user: string, server: string, options?: Record<string, unknown>) {
  const res = await t.api("POST", `users/${user}/servers/${server}`, { token: tokens[user], ...(options ? { body: options } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBeOneOf([201, 202]);
  expect((await readEvents(t.url, `/hub/api/users/${user}/servers/${server}/progress`, tokens[user]!)).at(-1)).toMatchObject({ ready: true });
  return (await t.api("GET", `users/${user}`, { token: tokens[user] })).body.servers[server];
}

/**
 * Whether the server was started as JupyterLab (`jupyter lab`, whose start page is /lab) rather than the bare Jupyter
 * Server (`jupyter server`, which serves JupyterLab's extension too, but does not start on it).
 */
async function runsLab(user: string, server: string): Promise<boolean> {
  const res = await fetch(`${t.url}/user/${user}/${server}/`, { headers: { authorization: `token ${tokens[user]}` }, redirect: "manual" });
  await res.arrayBuffer();
  return /\/lab\b/.test(res.headers.get("location") ?? "");
}

describe("environments and sizes", () => {
  it("offers each user what their policies offer, and only the sizes within their per-server limits", async () => {
    const sam = (await t.api("GET", "users/sam/environments", { token: tokens.sam })).body;
    expect(sam.environments.map((e: { name: string }) => e.name)).toEqual(["server"]);
    expect(sam).toMatchObject({ default: "server", sizes: [{ name: "small", cpu: 0.5, memory_bytes: 5e8, policy: "default" }] });
    const lena = (await t.api("GET", "users/lena/environments", { token: tokens.lena })).body;
    expect(lena.environments.map((e: { name: string; default: boolean }) => [e.name, e.default])).toEqual([["server", false], ["lab", true]]);
    expect(lena.environments[1]).toMatchObject({ display_name: "JupyterLab", cpu: 0.5, policy: "labbers" });
    expect((await t.api("GET", "users/lena/environments", { token: tokens.sam })).status).toBe(404);
  });

  it("refuses what is not offered, saying to whom it is and what the user has", async () => {
    const lab = await t.api("POST", "users/sam/servers/a", { token: tokens.sam, body: { profile: "lab" } });
    expect(lab.status).toBe(400);
    expect(lab.body.detail.reasons).toEqual([
      { rule: "environment_not_offered", policy: "labbers", value: "lab", message: "environment lab is offered to group labbers; you are in no group; yours: server" },
    ]);
    const huge = await t.api("POST", "users/sam/servers/a", { token: tokens.sam, body: { size: "huge" } });
    expect(huge.body.detail.reasons[0]).toMatchObject({ rule: "size_too_large", policy: "default" });
    expect(huge.body.message).toBe("size huge (4 CPU, 8 GB) is more than your policy allows per server (1 CPU, 1 GB); yours: small");
    expect((await t.api("POST", "users/sam/servers/a", { token: tokens.sam, body: { profile: "gpu" } })).body.message).toBe(
      "there is no environment named gpu; yours: server",
    );
    expect((await t.api("POST", "users/sam/servers/a", { token: tokens.sam, body: { profile: 7 } })).body.error).toBe("invalid_input");
    // Refused before anything was made.
    expect((await t.api("GET", "users/sam?include_stopped_servers", { token: tokens.sam })).body.servers.a).toBeUndefined();
  });

  it("starts the default environment at its resources, and a chosen one with its own command at the chosen size", async () => {
    const byDefault = await started("lena", "b");
    expect(byDefault.limits).toMatchObject({ cpu: 0.5, memory_bytes: 1e9 });
    expect(await runsLab("lena", "b")).toBe(true);

    const chosen = await started("lena", "c", { profile: "server", size: "small" });
    expect(chosen.user_options).toEqual({ profile: "server", size: "small" });
    expect(chosen.limits).toMatchObject({ cpu: 0.5, memory_bytes: 5e8 });
    expect(await runsLab("lena", "c")).toBe(false);
    expect((await fetch(`${t.url}/user/lena/c/api/status`, { headers: { authorization: `token ${tokens.lena}` } })).status).toBe(200);
  }, 120_000);

  it("remembers a server's choice across a stop", async () => {
    expect((await t.api("DELETE", "users/lena/servers/c", { token: tokens.lena })).status).toBeOneOf([202, 204]);
    await waitFor(async () => (await t.api("GET", "users/lena?include_stopped_servers", { token: tokens.lena })).body.servers.c.status === "stopped", 20_000, 100);
    const again = await started("lena", "c");
    expect(again.user_options).toEqual({ profile: "server", size: "small" });
    expect(again.limits).toMatchObject({ cpu: 0.5, memory_bytes: 5e8 });
    expect(await runsLab("lena", "c")).toBe(false);
  }, 120_000);
});
