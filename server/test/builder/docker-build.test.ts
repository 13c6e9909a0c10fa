/**
 * The build service on real parts: Debian's dockerd and docker-registry and Ganymede's base image (support/docker.ts),
 * repositories served over http by git http-backend (support/git-server.ts), packages from PyPI. Every build-side
 * failure must leave no intermediate container and no image tag behind.
 *
 * The first build of a machine installs Jupyter into the venv layer (about a minute); every other build here reuses
 * that layer from the engine's cache, as builds of different repositories do in production.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerfileOptions, parseSpec, type RepoSpec } from "../../src/builder/index.js";
import {
  BuildService,
  DockerBuildBackend,
  RegistryClient,
  type BuildBackend,
  type BuildEvent,
  type BuildJob,
  type BuildLimits,
} from "../../src/builder/build/index.js";
import {
  BASE_IMAGE,
  ensureBaseImage,
  pushImage,
  startDockerEngine,
  startRegistry,
  type DockerEngine,
  type Registry,
} from "../support/docker.js";
import { startGitServer, type GitServer } from "../support/git-server.js";

/** In every repository's files, so that each run builds afresh instead of finding the last run's layers. */
const RUN = randomBytes(4).toString("hex");
const RULES = { allowHttp: true, allowPrivateHosts: true };
/** No cap on this user's builds here (the queue's policy check is tested in build-queue.test.ts). */
const LIMITS: BuildLimits = { buildTimeoutMs: 10 * 60_000, admit: () => [] };

let engine: DockerEngine;
let docker: Docker;
let registry: Registry;
let git: GitServer;
let registryClient: RegistryClient;
let prefix: string;
const builds: string[] = [];
const timings: Record<string, number> = {};

/** The Docker backend, counting the builds it is asked for (to see which requests shared one). */
class CountingBackend implements BuildBackend {
  constructor(private readonly inner: BuildBackend) {}
  hasImage(image: string, signal?: AbortSignal) {
    return this.inner.hasImage(image, signal);
  }
  build(job: BuildJob, signal: AbortSignal, emit: (e: BuildEvent) => void) {
    builds.push(job.image);
    return this.inner.build(job, signal, emit);
  }
}

function service(maxConcurrentBuilds = 2): BuildService {
  return new BuildService({
    backend: new CountingBackend(new DockerBuildBackend({ docker, registry: registryClient })),
    maxConcurrentBuilds,
    dockerfile: dockerfileOptions(),
    imagePrefix: prefix,
    rules: RULES,
  });
}

function specOf(url: string): RepoSpec {
  return parseSpec("git", `${encodeURIComponent(url)}/main`, RULES);
}

async function collect(events: AsyncIterable<BuildEvent>): Promise<BuildEvent[]> {
  const all: BuildEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

async function ensure(svc: BuildService, spec: RepoSpec, commit: string, limits = LIMITS): Promise<BuildEvent[]> {
  return collect(svc.ensureImage({ user: "alice", spec, commit, limits }, new AbortController().signal));
}

const phases = (events: BuildEvent[]) => [...new Set(events.map((e) => e.phase))];
const text = (events: BuildEvent[]) => events.map((e) => e.message ?? "").join("");

/** The intermediate containers a build announced ("---> Running in <id>"). */
function stepContainers(events: BuildEvent[]): string[] {
  return [...text(events).matchAll(/---> Running in ([0-9a-f]{12,64})/g)].map((m) => m[1]!);
}

/** Containers of ours still known to the engine: announced by the build, or running `marker` (a step's command). */
async function leftovers(events: BuildEvent[], marker: string): Promise<string[]> {
  const left: string[] = [];
  for (const id of stepContainers(events)) {
    const found = await docker.getContainer(id).inspect().catch(() => undefined);
    if (found) left.push(`${id} (${found.State.Status})`);
  }
  for (const c of await docker.listContainers({ all: true })) {
    if (c.Command.includes(marker)) left.push(`${c.Id.slice(0, 12)} running ${c.Command}`);
  }
  return left;
}

async function hasLocalTag(image: string): Promise<boolean> {
  return docker
    .getImage(image)
    .inspect()
    .then(() => true)
    .catch(() => false);
}

/** Runs `cmd` in a container of `image` and returns its output; the container is removed afterwards. */
async function runIn(image: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, HostConfig: { AutoRemove: false } });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    let output = "";
    out.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    docker.modem.demuxStream(stream, out, out);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await new Promise((r) => setTimeout(r, 50));
    if (StatusCode !== 0) throw new Error(`${cmd.join(" ")} exited with ${StatusCode}: ${output}`);
    return output;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

beforeAll(async () => {
  engine = await startDockerEngine();
  docker = engine.docker;
  registry = await startRegistry();
  await ensureBaseImage(engine, registry);
  git = await startGitServer();
  registryClient = new RegistryClient({ url: registry.url });
  prefix = `${registry.host}/gtest-${randomBytes(3).toString("hex")}/`;
}, 900_000);

afterAll(async () => {
  console.log(`docker build timings (ms): ${JSON.stringify(timings)}`);
  await git?.close();
  // The tags this file made; their layers stay in the engine's cache for the next run.
  if (docker && prefix) {
    const ours = await docker.listImages({ filters: { reference: [`${prefix}*`] } });
    for (const image of ours) {
      for (const tag of image.RepoTags ?? []) await docker.getImage(tag).remove({ noprune: true }).catch(() => undefined);
    }
  }
});

describe("building a requirements.txt repository", () => {
  let spec: RepoSpec;
  let first: string;
  let shared: BuildService;

  it("builds, pushes and runs: the dependency is importable and the context is the repository's", async () => {
    const repo = await git.createRepo("reqs", {
      "requirements.txt": "tabulate==0.9.0\n",
      "analysis.py": `# ${RUN}\nprint('v1')\n`,
      ".dockerignore": "data/\n!data/keep.txt\n",
      "data/big.bin": "not for the image\n",
      "data/keep.txt": "kept\n",
    });
    spec = specOf(repo.url);
    first = repo.commit;
    shared = service();
    const t0 = performance.now();
    const events = await ensure(shared, spec, first);
    timings.coldBuild = Math.round(performance.now() - t0);
    const image = shared.imageFor(spec, first);
    expect(events.at(-1), text(events).slice(-3000)).toEqual({ phase: "built", imageName: image, message: `Built ${image}\n` });
    expect(phases(events)).toEqual(["fetching", "building", "pushing", "built"]);
    // Installed by its own step (or that step's layer from an earlier run: the import below is the proof).
    expect(text(events)).toMatch(/Step \d+\/\d+ : RUN pip install --no-cache-dir -r requirements\.txt/);
    expect(text(events)).toMatch(/Layers: \d+ of \d+ pushed/);
    expect(events.filter((e) => e.phase === "pushing").length).toBeLessThan(30);

    const [repository, tag] = [image.slice(registry.host.length + 1, image.lastIndexOf(":")), first];
    expect(await registry.hasImage(repository, tag)).toBe(true);
    expect(await registryClient.hasImage(image)).toBe(true);

    const out = await runIn(image, [
      "python",
      "-c",
      "import json, os, tabulate; print(json.dumps([tabulate.__version__, sorted(os.listdir('.')), sorted(os.listdir('data'))]))",
    ]);
    const [version, home, data] = JSON.parse(out.trim().split("\n").at(-1)!) as [string, string[], string[]];
    expect(version).toBe("0.9.0");
    expect(home).toEqual(expect.arrayContaining(["analysis.py", "requirements.txt", ".dockerignore", "data"]));
    // The generated Dockerfile and .git are not part of the image; .dockerignore rules applied as the CLI does.
    expect(home.filter((f) => f.includes("ganymede") || f === ".git")).toEqual([]);
    expect(data).toEqual(["keep.txt"]);
    // The local tag is kept: the Docker spawner starts servers from this engine.
    expect(await hasLocalTag(image)).toBe(true);
  }, 900_000);

  it("does not build a commit the registry already has", async () => {
    const before = builds.length;
    const t0 = performance.now();
    const events = await ensure(service(), spec, first);
    timings.cachedLaunchCheck = Math.round(performance.now() - t0);
    expect(events).toEqual([
      { phase: "built", imageName: shared.imageFor(spec, first), message: `Found ${shared.imageFor(spec, first)} in the registry: nothing to build\n` },
    ]);
    expect(events.some((e) => e.phase === "building")).toBe(false);
    expect(builds.length).toBe(before);
  });

  it("builds a new commit again, reusing the dependency layers when only code changed", async () => {
    const commit = await git.commit("reqs", { "analysis.py": `# ${RUN}\nprint('v2')\n` });
    const t0 = performance.now();
    const events = await ensure(shared, spec, commit);
    timings.codeOnlyRebuild = Math.round(performance.now() - t0);
    expect(events.at(-1)?.phase, text(events).slice(-2000)).toBe("built");
    const lines = text(events).split("\n");
    const after = (step: RegExp) => lines[lines.findIndex((l) => step.test(l)) + 1];
    expect(after(/^Step \d+\/\d+ : COPY --chown=1000:1000 requirements\.txt/)).toBe(" ---> Using cache");
    expect(after(/^Step \d+\/\d+ : RUN pip install --no-cache-dir -r requirements\.txt/)).toBe(" ---> Using cache");
    // The repository's own files are copied anew.
    expect(after(/^Step \d+\/\d+ : COPY --chown=1000:1000 \. /)).not.toBe(" ---> Using cache");
    expect(await runIn(shared.imageFor(spec, commit), ["python", "analysis.py"])).toBe("v2\n");
  }, 300_000);

  it("shares one build between two launches of the same image", async () => {
    const commit = await git.commit("reqs", { "analysis.py": `# ${RUN}\nprint('v3')\n` });
    const before = builds.length;
    const svc = service();
    const [a, b] = await Promise.all([ensure(svc, spec, commit), ensure(svc, spec, commit)]);
    expect(builds.length - before).toBe(1);
    expect(a.at(-1)).toEqual({ phase: "built", imageName: svc.imageFor(spec, commit), message: `Built ${svc.imageFor(spec, commit)}\n` });
    expect(b).toEqual(a);
    expect(text(a).match(/Successfully built/g)).toHaveLength(1);
  }, 300_000);
});

describe("builds that fail", () => {
  it("a broken postBuild ends in failed with its output, leaving no container and no tag", async () => {
    const repo = await git.createRepo(
      "broken",
      { "requirements.txt": "tabulate==0.9.0\n", postBuild: `#!/bin/bash\n# ${RUN}\necho "GANYMEDE-MARKER-$((6 * 7))"\nexit 1\n` },
      { executable: ["postBuild"] },
    );
    const svc = service();
    const events = await ensure(svc, specOf(repo.url), repo.commit);
    const end = events.at(-1)!;
    expect(end.phase).toBe("failed");
    expect(end.message).toMatch(/The image could not be built: The command .*postBuild.* returned a non-zero code: 1/);
    expect(end.message).toContain("GANYMEDE-MARKER-42");
    expect(stepContainers(events).length).toBeGreaterThan(0);
    expect(await leftovers(events, "postBuild")).toEqual([]);
    const image = svc.imageFor(specOf(repo.url), repo.commit);
    expect(await hasLocalTag(image)).toBe(false);
    expect(await registryClient.hasImage(image)).toBe(false);
  }, 300_000);

  it("a repository's own Dockerfile is used as is, and its syntax error is reported", async () => {
    const repo = await git.createRepo("own-dockerfile", { Dockerfile: `FROM ${BASE_IMAGE}\n# ${RUN}\nRUNN echo hi\n` });
    const events = await ensure(service(), specOf(repo.url), repo.commit);
    expect(text(events)).toContain("(buildpack: dockerfile)");
    expect(events.at(-1)?.phase).toBe("failed");
    expect(events.at(-1)?.message).toMatch(/^The image could not be built: .*unknown instruction: RUNN/i);
  });

  it("a build over its time limit is stopped, leaving no container and no tag", async () => {
    const repo = await git.createRepo(
      "slow",
      { "requirements.txt": "tabulate==0.9.0\n", postBuild: `#!/bin/bash\n# ${RUN}\necho going-to-sleep\nexec sleep 300\n` },
      { executable: ["postBuild"] },
    );
    const svc = service();
    const t0 = performance.now();
    const events = await ensure(svc, specOf(repo.url), repo.commit, { ...LIMITS, buildTimeoutMs: 8_000 });
    timings.timedOutBuild = Math.round(performance.now() - t0);
    expect(text(events)).toContain("going-to-sleep"); // it was stopped inside postBuild, not before
    expect(events.at(-1)).toEqual({ phase: "failed", message: "The build exceeded its time limit of 8 s and was stopped\n" });
    expect(await leftovers(events, "sleep 300")).toEqual([]);
    expect(await leftovers(events, "postBuild")).toEqual([]);
    const image = svc.imageFor(specOf(repo.url), repo.commit);
    expect(await hasLocalTag(image)).toBe(false);
    expect(await registryClient.hasImage(image)).toBe(false);
    expect(timings.timedOutBuild).toBeLessThan(30_000);
  }, 120_000);

  it("a build whose launches all went away is cancelled, leaving no container and no tag", async () => {
    const repo = await git.createRepo(
      "cancelled",
      { postBuild: `#!/bin/bash\n# ${RUN}\necho about-to-wait\nexec sleep 301\n` },
      { executable: ["postBuild"] },
    );
    const svc = service();
    const controller = new AbortController();
    const log = svc.start({ user: "alice", spec: specOf(repo.url), commit: repo.commit, limits: LIMITS }, controller.signal);
    for await (const event of log.follow(controller.signal)) {
      if (event.message?.includes("about-to-wait")) controller.abort();
    }
    const end = await log.finished;
    expect(end).toEqual({ phase: "failed", message: "The build was cancelled: nobody is waiting for it any more\n" });
    expect(await leftovers(log.events, "sleep 301")).toEqual([]);
    expect(await hasLocalTag(svc.imageFor(specOf(repo.url), repo.commit))).toBe(false);
  }, 120_000);

  it("a push the registry refuses ends in failed, leaving no local tag", async () => {
    // A registry that has nothing and accepts nothing: the build runs, the engine's push fails.
    const refusing = http.createServer((req, res) => {
      // 403: refused for good (a 5xx would make the engine retry for a minute).
      res.statusCode = req.method === "HEAD" ? 404 : 403;
      res.setHeader("content-type", "application/json");
      res.end(req.method === "HEAD" ? "" : JSON.stringify({ errors: [{ code: "DENIED", message: "read-only for maintenance" }] }));
    });
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
      const client = new RegistryClient({ url });
      const svc = new BuildService({
        backend: new DockerBuildBackend({ docker, registry: client }),
        maxConcurrentBuilds: 1,
        dockerfile: dockerfileOptions(),
        imagePrefix: `${client.host}/gtest/`,
        rules: RULES,
      });
      const repo = await git.createRepo("unpushable", { "notes.md": `${RUN}\n` });
      const events = await ensure(svc, specOf(repo.url), repo.commit);
      expect(phases(events)).toEqual(["fetching", "building", "pushing", "failed"]);
      expect(events.at(-1)?.message).toMatch(
        new RegExp(`^The image was built but could not be pushed to ${client.host}: .*read-only for maintenance`),
      );
      expect(await hasLocalTag(svc.imageFor(specOf(repo.url), repo.commit))).toBe(false);
    } finally {
      refusing.closeAllConnections();
      await new Promise((r) => refusing.close(r));
    }
  }, 120_000);

  it("a repository the builder cannot build ends in failed with the reason, without building", async () => {
    const repo = await git.createRepo("r-project", { "install.R": "install.packages('ggplot2')\n" });
    const before = builds.length;
    const events = await ensure(service(), specOf(repo.url), repo.commit);
    expect(events.at(-1)).toEqual({ phase: "failed", message: "R environments are not supported yet (found install.R)\n" });
    expect(builds.length).toBe(before);
  });
});

describe("the queue on real builds", () => {
  it("with one build at a time, a second build waits first, then builds", async () => {
    const a = await git.createRepo("queue-a", { postBuild: `#!/bin/bash\n# ${RUN}\nsleep 2\n` }, { executable: ["postBuild"] });
    const b = await git.createRepo("queue-b", { "notes.md": `${RUN}\n` });
    const svc = service(1);
    const first = ensure(svc, specOf(a.url), a.commit);
    await new Promise((r) => setTimeout(r, 200)); // a has its slot (the registry said no at once)
    const second = await ensure(svc, specOf(b.url), b.commit);
    const firstEvents = await first;
    expect(firstEvents.at(-1)?.phase, text(firstEvents).slice(-2000)).toBe("built");
    expect(second[0]).toEqual({
      phase: "waiting",
      message: "Waiting for a free build slot: this build is next (1 running, at most 1 at once)\n",
    });
    expect(phases(second)).toEqual(["waiting", "fetching", "building", "pushing", "built"]);
  }, 300_000);
});

describe("the registry client on the real registry", () => {
  it("finds a tag and removes it (what a cancelled push leaves)", async () => {
    const target = `${prefix}removable:1`;
    await pushImage(docker, BASE_IMAGE, target);
    expect(await registryClient.hasImage(target)).toBe(true);
    expect(await registryClient.deleteImage(target)).toBe(true);
    expect(await registryClient.hasImage(target)).toBe(false);
    expect(await registryClient.deleteImage(target)).toBe(false);
  });
});
