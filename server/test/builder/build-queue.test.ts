/**
 * The build queue and BuildLog without Docker: a FakeBuildBackend stands in for the engine (the subject here is the
 * queue — slots, positions, sharing, limits, timeouts, cancellation — not building), driven through the real
 * BuildService where a checkout is not needed. Also the pure helpers: .dockerignore, push summaries, git progress.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PolicyDenied } from "../../src/errors.js";
import { BuildLog, BuildQueue, formatDuration, type BuildEvent, type BuildLimits, type BuildTask } from "../../src/builder/build/index.js";
import { decide } from "../../src/policy/index.js";
import { DEFAULT_POLICY, setOf } from "../policy/fixtures.js";
import { keepBuildFiles, parseDockerignore, PatternMatcher } from "../../src/builder/build/dockerignore.js";
import { PushProgress } from "../../src/builder/build/push-progress.js";
import { progressFilter } from "../../src/builder/build/checkout.js";
import { parseChallenge, parseImageReference } from "../../src/builder/build/registry.js";

/**
 * Limits whose `admit` is the policy engine's own concurrentBuilds rule (the real decide(), on a default policy
 * allowing `concurrentBuilds`), so the queue is tested with the rule it asks in the hub.
 */
function limitsAllowing(concurrentBuilds: number, user = "alice"): BuildLimits {
  const data = parse(DEFAULT_POLICY) as { limits: Record<string, unknown> };
  const set = setOf({ file: "default.yaml", data: { ...data, limits: { ...data.limits, concurrentBuilds } } });
  return {
    buildTimeoutMs: 60_000,
    admit: (builds) => decide(set, { action: "repository.launch", user: { name: user, groups: [] }, repository: "example.org/r", current: { builds } }).reasons,
  };
}

const limits = limitsAllowing(2);

/** A build that runs until told to finish (or fail), recording what it was asked to do. */
class FakeBuildBackend {
  readonly started: string[] = [];
  readonly aborted: string[] = [];
  private readonly gates = new Map<string, { finish: () => void; fail: (err: Error) => void }>();
  registry = new Set<string>();

  task(image: string, user = "alice", taskLimits = limits): BuildTask {
    return {
      image,
      user,
      limits: taskLimits,
      isBuilt: async () => this.registry.has(image),
      run: (signal, emit) =>
        new Promise<void>((resolve, reject) => {
          this.started.push(image);
          emit({ phase: "building", message: `building ${image}\n` });
          const stop = () => {
            this.aborted.push(image);
            reject(signal.reason);
          };
          signal.addEventListener("abort", stop, { once: true });
          this.gates.set(image, {
            finish: () => {
              signal.removeEventListener("abort", stop);
              this.registry.add(image);
              resolve();
            },
            fail: (err) => reject(err),
          });
        }),
    };
  }

  finish(image: string): void {
    this.gates.get(image)!.finish();
  }
}

async function collect(log: BuildLog): Promise<BuildEvent[]> {
  const events: BuildEvent[] = [];
  for await (const event of log.follow()) events.push(event);
  return events;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("BuildLog", () => {
  it("replays to late subscribers, follows live and ends at exactly one terminal event", async () => {
    const log = new BuildLog();
    log.push({ phase: "fetching", message: "a\n" });
    const early = collect(log);
    log.push({ phase: "building", message: "b\n" });
    const late = collect(log);
    log.push({ phase: "built", imageName: "r/x:1" });
    log.push({ phase: "building", message: "after the end\n" });
    log.fail("too late");
    const expected = [
      { phase: "fetching", message: "a\n" },
      { phase: "building", message: "b\n" },
      { phase: "built", imageName: "r/x:1" },
    ];
    expect(await early).toEqual(expected);
    expect(await late).toEqual(expected);
    expect(await collect(log)).toEqual(expected);
    expect(await log.finished).toEqual(expected[2]);
  });

  it("keeps the error behind a failure, and stops following when the subscriber's signal aborts", async () => {
    const log = new BuildLog();
    const controller = new AbortController();
    const seen: BuildEvent[] = [];
    const following = (async () => {
      for await (const e of log.follow(controller.signal)) seen.push(e);
    })();
    log.push({ phase: "waiting", message: "w\n" });
    await tick();
    controller.abort();
    await following;
    expect(seen).toEqual([{ phase: "waiting", message: "w\n" }]);
    const err = new Error("x");
    log.fail("it broke\n", err);
    expect(log.error).toBe(err);
    expect(log.result).toEqual({ phase: "failed", message: "it broke\n" });
  });

  it("stops keeping log lines past its limit and says how many it dropped", async () => {
    const log = new BuildLog({ maxEvents: 3, maxMessageLength: 10 });
    log.push({ phase: "building", message: "1\n" });
    for (let i = 0; i < 5; i++) log.push({ phase: "building", message: `line ${i}\n` });
    log.push({ phase: "pushing", message: "a very long message indeed\n" });
    log.push({ phase: "built" });
    expect(log.events.map((e) => e.message)).toEqual([
      "1\n",
      "line 0\n",
      "line 1\n",
      "… 3 more l… (cut)\n",
      "a very lon… (cut)\n",
      undefined,
    ]);
  });

  it("a launch log ends at ready, not at built", () => {
    const log = new BuildLog({ terminal: ["ready", "failed"] });
    log.push({ phase: "built", imageName: "x" });
    log.push({ phase: "ready", url: "/user/a/x/" });
    expect(log.done).toBe(true);
    expect(log.events.map((e) => e.phase)).toEqual(["built", "ready"]);
  });
});

describe("BuildQueue", () => {
  it("runs at most maxConcurrentBuilds at once and tells queued builds their place", async () => {
    const fake = new FakeBuildBackend();
    const queue = new BuildQueue({ maxConcurrentBuilds: 1 });
    const a = queue.ensure(fake.task("r/a:1"));
    const b = queue.ensure(fake.task("r/b:1", "bob"));
    const c = queue.ensure(fake.task("r/c:1", "carol"));
    await tick();
    expect(fake.started).toEqual(["r/a:1"]);
    expect([queue.running, queue.queued]).toEqual([1, 2]);
    expect(b.events[0]).toEqual({ phase: "waiting", message: "Waiting for a free build slot: this build is next (1 running, at most 1 at once)\n" });
    expect(c.events[0]).toEqual({ phase: "waiting", message: "Waiting for a free build slot: 1 build ahead of this one (1 running, at most 1 at once)\n" });
    fake.finish("r/a:1");
    await tick();
    expect(fake.started).toEqual(["r/a:1", "r/b:1"]);
    expect(c.events.map((e) => e.message)).toContain("Waiting for a free build slot: this build is next (1 running, at most 1 at once)\n");
    fake.finish("r/b:1");
    await tick();
    fake.finish("r/c:1");
    for (const log of [a, b, c]) expect((await log.finished).phase).toBe("built");
    expect(b.events.map((e) => e.phase)).toEqual(["waiting", "building", "built"]);
    expect([queue.running, queue.queued]).toEqual([0, 0]);
  });

  it("shares one build between everyone asking for the same image, whoever they are", async () => {
    const fake = new FakeBuildBackend();
    const queue = new BuildQueue({ maxConcurrentBuilds: 2 });
    const first = queue.ensure(fake.task("r/a:1", "alice"));
    const second = queue.ensure(fake.task("r/a:1", "bob"));
    expect(second).toBe(first);
    await tick();
    const late = queue.ensure(fake.task("r/a:1", "carol"));
    expect(late).toBe(first);
    fake.finish("r/a:1");
    expect(await collect(late)).toEqual([
      { phase: "building", message: "building r/a:1\n" },
      { phase: "built", imageName: "r/a:1", message: "Built r/a:1\n" },
    ]);
    expect(fake.started).toEqual(["r/a:1"]);
    // Done: the next request finds the image in the registry and builds nothing.
    const again = queue.ensure(fake.task("r/a:1"));
    expect(await collect(again)).toEqual([{ phase: "built", imageName: "r/a:1", message: "Found r/a:1 in the registry: nothing to build\n" }]);
    expect(fake.started).toEqual(["r/a:1"]);
  });

  it("refuses a user's build past their policy's concurrentBuilds, naming the limit", async () => {
    const fake = new FakeBuildBackend();
    const queue = new BuildQueue({ maxConcurrentBuilds: 4 });
    const one = limitsAllowing(1);
    queue.ensure(fake.task("r/a:1", "alice", one));
    await tick();
    expect(queue.buildsOf("alice")).toBe(1);
    expect(queue.buildsOf("bob")).toBe(0);
    const refused = queue.ensure(fake.task("r/b:1", "alice", one));
    const end = await refused.finished;
    expect(end).toEqual({
      phase: "failed",
      message: "alice already has 1 build running or queued; policy `default` allows 1\n",
    });
    expect(refused.error).toBeInstanceOf(PolicyDenied);
    // Joining someone else's build of the same image starts nothing, so no limit applies.
    expect(queue.ensure(fake.task("r/a:1", "alice", one)).done).toBe(false);
    // An image already in the registry needs no build either.
    fake.registry.add("r/c:1");
    expect((await queue.ensure(fake.task("r/c:1", "alice", one)).finished).phase).toBe("built");
    expect(fake.started).toEqual(["r/a:1"]);
  });

  it("stops a build that exceeds its time limit, counted from when it leaves the queue", async () => {
    const fake = new FakeBuildBackend();
    const queue = new BuildQueue({ maxConcurrentBuilds: 1 });
    const blocker = queue.ensure(fake.task("r/a:1"));
    const slow = queue.ensure(fake.task("r/b:1", "bob", { ...limits, buildTimeoutMs: 50 }));
    await new Promise((r) => setTimeout(r, 120)); // longer than b's limit, all of it in the queue
    expect(slow.done).toBe(false);
    fake.finish("r/a:1");
    await blocker.finished;
    const end = await slow.finished;
    expect(end).toEqual({ phase: "failed", message: "The build exceeded its time limit of 0.1 s and was stopped\n" });
    expect(fake.aborted).toEqual(["r/b:1"]);
    expect(queue.running).toBe(0);
  });

  it("cancels a build once everybody waiting for it has gone, and a new request starts afresh", async () => {
    const fake = new FakeBuildBackend();
    const queue = new BuildQueue({ maxConcurrentBuilds: 1 });
    const one = new AbortController();
    const two = new AbortController();
    const log = queue.ensure(fake.task("r/a:1"), one.signal);
    queue.ensure(fake.task("r/a:1", "bob"), two.signal);
    const queuedController = new AbortController();
    const queued = queue.ensure(fake.task("r/b:1"), queuedController.signal);
    await tick();
    one.abort();
    await tick();
    expect(log.done).toBe(false); // bob still waits
    two.abort();
    expect((await log.finished).message).toBe("The build was cancelled: nobody is waiting for it any more\n");
    expect(fake.aborted).toEqual(["r/a:1"]);
    // The queued build got the slot; cancelling it while it runs frees the slot again.
    await tick();
    expect(fake.started).toEqual(["r/a:1", "r/b:1"]);
    queuedController.abort();
    expect((await queued.finished).phase).toBe("failed");
    const fresh = queue.ensure(fake.task("r/a:1"));
    expect(fresh).not.toBe(log);
    await tick();
    fake.finish("r/a:1");
    expect((await fresh.finished).phase).toBe("built");
  });

  it("a build cancelled while queued leaves the queue and the others move up", async () => {
    const fake = new FakeBuildBackend();
    const queue = new BuildQueue({ maxConcurrentBuilds: 1 });
    queue.ensure(fake.task("r/a:1"));
    const leaving = new AbortController();
    const b = queue.ensure(fake.task("r/b:1", "bob"), leaving.signal);
    const c = queue.ensure(fake.task("r/c:1", "carol"));
    await tick();
    expect(c.last?.message).toMatch(/1 build ahead of this one/);
    leaving.abort();
    expect((await b.finished).phase).toBe("failed");
    expect(c.last?.message).toMatch(/this build is next/);
    expect(queue.queued).toBe(1);
    expect(fake.started).toEqual(["r/a:1"]);
  });

  it("turns unexpected errors into a general sentence and reports them", async () => {
    const reported: unknown[] = [];
    const queue = new BuildQueue({ maxConcurrentBuilds: 1, onUnexpectedError: (err) => reported.push(err) });
    const log = queue.ensure({
      image: "r/a:1",
      user: "alice",
      limits,
      run: async () => {
        throw new TypeError("undefined is not a function");
      },
    });
    expect((await log.finished).message).toMatch(/an error in the hub/);
    expect(reported).toHaveLength(1);
  });
});

describe("pure helpers", () => {
  it("formats limits the way messages show them", () => {
    expect([formatDuration(3000), formatDuration(90_000), formatDuration(3_600_000), formatDuration(250)]).toEqual([
      "3 s",
      "1 min 30 s",
      "60 min",
      "0.3 s",
    ]);
  });

  it("applies .dockerignore as the Docker CLI does", () => {
    const patterns = parseDockerignore(
      "# comment\n\n/data\n*.log\n!keep.log\n**/secret*\nbuild/\n!build/keep\n docs/*.md \n./a/../b\n",
    );
    expect(patterns).toEqual(["data", "*.log", "!keep.log", "**/secret*", "build", "!build/keep", "docs/*.md", "b"]);
    const m = new PatternMatcher(patterns);
    const excluded = (p: string) => m.matchesOrParentMatches(p);
    expect(excluded("data")).toBe(true);
    expect(excluded("data/x.csv")).toBe(true); // a folder's rule covers what is inside
    expect(excluded("sub/data")).toBe(false); // anchored at the root
    expect(excluded("x.log")).toBe(true);
    expect(excluded("sub/x.log")).toBe(false); // "*" does not cross "/"
    expect(excluded("keep.log")).toBe(false);
    expect(excluded("a/b/secret.txt")).toBe(true);
    expect(excluded("secret.txt")).toBe(true);
    expect(excluded("build/out.o")).toBe(true);
    expect(excluded("build/keep")).toBe(false);
    expect(m.mayIncludeBelow("build")).toBe(true);
    expect(m.mayIncludeBelow("data")).toBe(false);
    expect(excluded("docs/readme.md")).toBe(true);
    expect(excluded("docs/sub/readme.md")).toBe(false);
    expect(excluded("b")).toBe(true);
  });

  it("always sends the Dockerfile and .dockerignore, as the CLI does, so the builder can drop them itself", () => {
    const patterns = parseDockerignore("/.ganymede.Dockerfile\n/.dockerignore\n");
    const kept = new PatternMatcher(keepBuildFiles(patterns, ".ganymede.Dockerfile"));
    expect(kept.matchesOrParentMatches(".ganymede.Dockerfile")).toBe(false);
    expect(kept.matchesOrParentMatches(".dockerignore")).toBe(false);
    expect(keepBuildFiles(["*.md"], "Dockerfile")).toEqual(["*.md"]);
  });

  it("summarises a push instead of relaying every progress message", () => {
    let now = 0;
    const progress = new PushProgress(2000, () => now);
    const lines: string[] = [];
    const feed = (m: Parameters<PushProgress["update"]>[0]) => lines.push(...progress.update(m));
    feed({ status: "The push refers to repository [127.0.0.1:5000/x]" });
    for (const id of ["a", "b", "c"]) feed({ status: "Preparing", id });
    feed({ status: "Layer already exists", id: "c" });
    for (let i = 1; i <= 100; i++) {
      now += 100;
      feed({ status: "Pushing", id: "a", progressDetail: { current: i * 1000, total: 100_000 } });
    }
    feed({ status: "Pushed", id: "a" });
    feed({ status: "Pushed", id: "b" });
    feed({ status: "latest: digest: sha256:abc size: 1234" });
    feed({ aux: { Tag: "latest", Digest: "sha256:abc", Size: 1234 } });
    expect(lines.length).toBeLessThan(10);
    expect(lines[0]).toBe("The push refers to repository [127.0.0.1:5000/x]");
    expect(lines.at(-1)).toBe("Layers: 2 of 2 pushed, 1 already in the registry; 100.0 kB of 100.0 kB sent");
    expect(progress.digest).toBe("sha256:abc");
  });

  it("thins out git's progress counters", () => {
    let now = 0;
    const lines: string[] = [];
    const feed = progressFilter((l) => lines.push(l), () => now);
    feed("remote: Enumerating objects: 5, done.\n");
    for (let i = 0; i <= 100; i += 10) {
      now += 100;
      feed(`Receiving objects:  ${i}% (${i}/100)\r`);
    }
    feed("Receiving objects: 100% (100/100), done.\n");
    expect(lines).toEqual([
      "remote: Enumerating objects: 5, done.",
      "Receiving objects:  0% (0/100)",
      "Receiving objects:  100% (100/100)",
      "Receiving objects: 100% (100/100), done.",
    ]);
  });

  it("reads image references and registry challenges", () => {
    expect(parseImageReference("127.0.0.1:5000/ganymede-binder/repo-1a2b:abc")).toEqual({
      host: "127.0.0.1:5000",
      repository: "ganymede-binder/repo-1a2b",
      tag: "abc",
    });
    expect(() => parseImageReference("repo:abc")).toThrow(/not a registry image reference/);
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull" },
    });
  });
});
