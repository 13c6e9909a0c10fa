/**
 * Binder launches end to end, with real parts: a real Docker engine and registry (Debian's docker.io and
 * docker-registry, started by the test setup), the base image made locally (debootstrap), git repositories served
 * over HTTP by `git http-backend`, and the hub with the Docker spawner. A requirements.txt repository is built,
 * launched, and its package imported in a kernel through the hub's proxy; the same commit launches again without a
 * build; a new commit builds again; a broken postBuild fails with its output; bad input of every kind ends in `failed`
 * with the reason, leaving the user's other servers running.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DockerEngine } from "../support/docker.js";
import { startBinderHub, type BinderHub } from "../support/binder-hub.js";
import type { GitServer } from "../support/git-server.js";
import { readEvents, type TestHub } from "../support/hub.js";
import { execute, startKernel } from "../support/kernel.js";

const BUILD_MS = 600_000;
let binder: BinderHub;
let engine: DockerEngine;
let git: GitServer;
let t: TestHub;
const tokens: Record<string, string> = {};
const logLines: string[] = [];

const LOCKED_POLICY = `name: locked
appliesTo: { groups: [locked] }
priority: 10
limits:
  buildTimeout: 20s
repositories:
  privateHosts: false
  deny:
    - pattern: example.org/evil/*
      reason: known to mine cryptocurrency
`;

const SLOW_POLICY = `name: slow
appliesTo: { groups: [slow] }
priority: 10
limits:
  buildTimeout: 15s
`;

const NO_BUILDS_POLICY = `name: no-builds
appliesTo: { groups: [visitors] }
priority: 10
limits:
  concurrentBuilds: 0
`;

beforeAll(async () => {
  binder = await startBinderHub({ logLines, policies: { "locked.yaml": LOCKED_POLICY, "slow.yaml": SLOW_POLICY, "no-builds.yaml": NO_BUILDS_POLICY } });
  ({ hub: t, git, engine } = binder);
  tokens.alice = await t.addUser("alice");
  tokens.lou = await t.addUser("lou", { groups: ["locked"] });
  tokens.sam = await t.addUser("sam", { groups: ["slow"] });
  tokens.vic = await t.addUser("vic", { groups: ["visitors"] });
}, BUILD_MS);

afterAll(async () => {
  await binder?.close();
}, 120_000);

/** Launches `spec` as `user` through GET /build/<spec>, the stream the launch page follows; every event, in order. */
async function launch(user: string, spec: string): Promise<{ phase: string; message?: string; url?: string }[]> {
  return (await readEvents(t.url, `/build/${spec}`, tokens[user]!, BUILD_MS)) as { phase: string; message?: string; url?: string }[];
}

const gitSpec = (url: string, ref = "main") => `git/${encodeURIComponent(url)}/${encodeURIComponent(ref)}`;
const phases = (events: { phase: string }[]) => [...new Set(events.map((e) => e.phase))];
const last = (events: { phase: string; message?: string; url?: string }[]) => events.at(-1)!;

async function runInServer(user: string, url: string, code: string): Promise<string> {
  const target = { serverUrl: new URL(url, t.url).toString(), headers: { authorization: `token ${tokens[user]}` } };
  return execute(target, await startKernel(target), code, 60_000);
}

describe("a requirements.txt repository", () => {
  let url: string;

  it("is built, launched, and its package imports in a kernel through the hub's proxy", async () => {
    ({ url } = await git.createRepo("analysis", {
      "requirements.txt": "tabulate==0.9.0\n",
      "notebook.py": "print('hello')\n",
    }));
    const events = await launch("alice", gitSpec(url));
    expect(last(events), JSON.stringify(events.slice(-5))).toMatchObject({ phase: "ready", url: "/user/alice/binder-analysis/" });
    expect(phases(events)).toEqual(["fetching", "building", "pushing", "built", "launching", "ready"]);
    const out = await runInServer("alice", "/user/alice/binder-analysis/", "import tabulate, os; print(tabulate.__version__, sorted(os.listdir(os.path.expanduser('~'))))");
    expect(out).toContain("0.9.0");
    expect(out).toContain("notebook.py");
    const alice = await t.api("GET", "users/alice", { token: tokens.alice });
    expect(alice.body.servers["binder-analysis"].user_options.binder).toMatchObject({ spec: gitSpec(url) });
    // BinderHub's and JupyterHub's variables, from the launch specification.
    const env = await runInServer("alice", "/user/alice/binder-analysis/", "import os; print(os.environ['BINDER_REPO_URL'], os.environ['BINDER_REQUEST'], os.environ['JUPYTERHUB_USER'])");
    expect(env.trim()).toBe(`${url} v2/${gitSpec(url)} alice`);
  }, BUILD_MS);

  it("launches the same commit again without building", async () => {
    const before = git.requests();
    const events = await launch("alice", gitSpec(url));
    expect(last(events).phase).toBe("ready");
    expect(phases(events)).not.toContain("building");
    // The commit was resolved (ls-remote), but nothing was cloned for a build.
    expect(git.requests() - before).toBeLessThanOrEqual(2);
  }, BUILD_MS);

  it("builds a new commit again and restarts the server on it", async () => {
    await git.commit("analysis", { "notebook.py": "print('hello again')\n" });
    const events = await launch("alice", gitSpec(url));
    expect(last(events), JSON.stringify(events.slice(-5))).toMatchObject({ phase: "ready" });
    expect(phases(events)).toContain("building");
    // Only the code changed: the dependency layers came from the cache.
    expect(events.some((e) => e.phase === "building" && /Using cache/.test(e.message ?? ""))).toBe(true);
    expect(await runInServer("alice", "/user/alice/binder-analysis/", "print(open('notebook.py').read())")).toContain("hello again");
  }, BUILD_MS);
});

describe("a user whose policy allows no builds", () => {
  it("launches an image that is already built, and is refused a build with the policy's reason", async () => {
    const built = await launch("vic", gitSpec(git.urlOf("analysis")));
    expect(last(built), JSON.stringify(built.slice(-3))).toMatchObject({ phase: "ready", url: "/user/vic/binder-analysis/" });
    expect(phases(built)).not.toContain("building");
    const { url } = await git.createRepo("unbuilt", { "requirements.txt": "tabulate==0.9.0\n", "README.md": "never built\n" });
    const refused = await launch("vic", gitSpec(url));
    expect(last(refused)).toMatchObject({ phase: "failed", message: expect.stringContaining("policy `no-builds` allows vic no Binder builds") });

    // Both launches are in the audit trail, with how each ended.
    await t.hub.ctx.audit.flush();
    const { events } = (await t.api("GET", "audit?action=binder.launch&user=vic")).body as { events: Array<Record<string, any>> };
    expect(events.map((e) => [e.actor, e.outcome, e.detail.phase])).toEqual([["vic", "failed", "failed"], ["vic", "ok", "ready"]]);
    expect(events[0]!.detail.message).toContain("policy `no-builds` allows vic no Binder builds");
  }, BUILD_MS);
});

describe("a repository with its own Dockerfile", () => {
  it("is built from that Dockerfile as it is, and launched", async () => {
    const { url } = await git.createRepo("own-dockerfile", {
      Dockerfile: `FROM ${binder.serverImage}\nRUN echo built-from-the-repository > /home/jovyan/marker.txt\n`,
    });
    const events = await launch("alice", gitSpec(url));
    expect(last(events), JSON.stringify(events.slice(-5))).toMatchObject({ phase: "ready" });
    expect(events.some((e) => /buildpack: dockerfile/.test(e.message ?? ""))).toBe(true);
    const server = last(events).url!;
    const file = await fetch(new URL(`${server}api/contents/marker.txt?content=1`, t.url), { headers: { authorization: `token ${tokens.alice}` } });
    expect(((await file.json()) as { content: string }).content).toBe("built-from-the-repository\n");
  }, BUILD_MS);
});

describe("a repository that fails to build", () => {
  it("ends in `failed` with postBuild's output, and the user's other servers keep running", async () => {
    const { url } = await git.createRepo("broken", { postBuild: "#!/bin/sh\necho 'POSTBUILD-MARKER: cannot continue'\nexit 1\n" }, { executable: ["postBuild"] });
    const events = await launch("alice", gitSpec(url));
    expect(last(events).phase).toBe("failed");
    expect(last(events).message).toContain("POSTBUILD-MARKER");
    const alice = await t.api("GET", "users/alice", { token: tokens.alice });
    expect(Object.keys(alice.body.servers)).not.toContain(expect.stringMatching(/^binder-broken/));
    expect(alice.body.servers["binder-analysis"].ready).toBe(true);
  }, BUILD_MS);
});

describe("a build past its time limit", () => {
  it("ends in `failed` naming the limit, and leaves no build container behind", async () => {
    const { url } = await git.createRepo("forever", { postBuild: "#!/bin/sh\necho starting a long job\nsleep 600\n" }, { executable: ["postBuild"] });
    const started = Date.now();
    const events = await launch("sam", gitSpec(url));
    expect(last(events)).toMatchObject({ phase: "failed", message: expect.stringMatching(/time limit of 15 ?s/) });
    expect(Date.now() - started).toBeLessThan(90_000);
    const sam = await t.api("GET", "users/sam", { token: tokens.sam });
    expect(sam.body.servers).toEqual({});
    // The step's container (running `sleep 600`) was removed with the cancelled build.
    const running = await engine.docker.listContainers({ all: true });
    expect(running.filter((c) => /sleep 600|postBuild/.test(c.Command))).toEqual([]);
  }, BUILD_MS);
});

describe("bad input", () => {
  const refusals: [string, string, RegExp][] = [
    ["a file:// URL", gitSpec("file:///etc/passwd"), /https/],
    ["an ssh:// URL", gitSpec("ssh://git@example.org/repo.git"), /https/],
    ["git's ext:: transport", gitSpec("ext::sh -c touch% /tmp/pwned"), /https|URL/],
    ["credentials in the URL", gitSpec("https://user:secret@example.org/repo.git"), /credentials/],
    ["an option-like ref", gitSpec("https://example.org/repo.git", "--upload-pack=touch /tmp/pwned"), /ref/],
  ];
  for (const [what, spec, reason] of refusals) {
    it(`refuses ${what}`, async () => {
      const events = await launch("alice", spec);
      expect(events).toHaveLength(1);
      expect(last(events).phase).toBe("failed");
      expect(last(events).message).toMatch(reason);
      expect(last(events).message).not.toContain("secret");
    });
  }

  it("never writes a pasted password to the hub's log or its audit trail", async () => {
    const logged = logLines.join("\n");
    expect(logged).toContain('"msg":"binder launch"');
    expect(logged).toContain("//***@example.org");
    expect(logged).not.toContain("secret");
    await t.hub.ctx.audit.flush();
    const audited = JSON.stringify((await t.api("GET", "audit?action=binder.launch&limit=1000")).body);
    expect(audited).toContain("//***@example.org");
    expect(audited).not.toContain("secret");
  });

  it("refuses a ref that does not exist", async () => {
    const events = await launch("alice", gitSpec(git.urlOf("analysis"), "no-such-branch"));
    expect(last(events)).toMatchObject({ phase: "failed", message: expect.stringMatching(/ref 'no-such-branch' not found/) });
  });

  it("refuses a host on a private address when the user's policy forbids them", async () => {
    const events = await launch("lou", gitSpec(git.urlOf("analysis")));
    expect(last(events).phase).toBe("failed");
    expect(last(events).message).toMatch(/127\.0\.0\.1|loopback|private/);
  });

  it("refuses a repository the policy denies, with its reason", async () => {
    const events = await launch("lou", gitSpec("https://example.org/evil/miner.git"));
    expect(last(events)).toMatchObject({ phase: "failed", message: expect.stringContaining("known to mine cryptocurrency") });
  });
});
