import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PolicyEngine, PolicyLoadError } from "../../src/policy/index.js";
import { DEFAULT_POLICY, policyDir } from "./fixtures.js";

const RESEARCH = "name: research\nappliesTo: { groups: [research] }\nlimits: { memory: 16GiB }\n";
const researcher = { name: "rita", groups: ["research"] };

function quietLogger() {
  return { info: vi.fn(), warn: vi.fn() };
}

const engines: PolicyEngine[] = [];
afterEach(() => engines.splice(0).forEach((e) => e.close()));

async function open(dir: string, logger = quietLogger()) {
  const engine = await PolicyEngine.open(dir, { logger });
  engines.push(engine);
  return engine;
}

describe("PolicyEngine", () => {
  it("refuses to start without a good policy set, with every problem in the error", async () => {
    const dir = await policyDir({ "research.yaml": "name: research\nappliesTo: { groups: [r] }\nlimits: { memory: 8XB }\n" });
    const attempt = PolicyEngine.open(dir);
    await expect(attempt).rejects.toBeInstanceOf(PolicyLoadError);
    await expect(attempt).rejects.toThrow(
      `cannot load the policies in ${dir}:\n` +
        `  - ${path.join(dir, "research.yaml")}: limits.memory: "8XB" is not a size (examples: 2GiB, 2GB, 512Mi)\n` +
        `  - ${dir}: no default policy; one file must have \`appliesTo: { default: true }\``,
    );
  });

  it("keeps the last good policies when a file breaks, and reports why", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY, "research.yaml": RESEARCH });
    const logger = quietLogger();
    const engine = await open(dir, logger);
    expect(engine.limitsFor(researcher).memoryBytes).toBe(16 * 1024 ** 3);
    const loadedAt = engine.status().loadedAt;

    await writeFile(path.join(dir, "research.yaml"), RESEARCH.replace("16GiB", "lots"));
    const result = await engine.reload();
    expect(result).toEqual({
      ok: false,
      problems: [`${path.join(dir, "research.yaml")}: limits.memory: "lots" is not a size (examples: 2GiB, 2GB, 512Mi)`],
    });
    expect(engine.limitsFor(researcher).memoryBytes).toBe(16 * 1024 ** 3);

    const status = engine.status();
    expect(status.loadedAt).toBe(loadedAt);
    expect(status.active).toEqual(["default", "research"]);
    expect(status.files).toEqual([
      { file: path.join(dir, "default.yaml"), name: "default", valid: true, problems: [] },
      {
        file: path.join(dir, "research.yaml"),
        name: "research",
        valid: false,
        problems: ['limits.memory: "lots" is not a size (examples: 2GiB, 2GB, 512Mi)'],
      },
    ]);
    expect(status.lastError?.message).toContain("the previous policies stay in force");
    expect(status.lastError?.problems).toEqual(result.ok ? [] : result.problems);
    expect(logger.warn).toHaveBeenCalledTimes(1);

    // A deleted default policy is also just a failed reload.
    await rm(path.join(dir, "default.yaml"));
    expect((await engine.reload()).ok).toBe(false);
    expect(engine.limitsFor({ name: "bob", groups: [] }).namedServers).toBe(5);
  });

  it("clears the error once the files are fixed", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    const engine = await open(dir);
    await writeFile(path.join(dir, "research.yaml"), "name: research\n");
    await engine.reload();
    expect(engine.status().lastError).toBeDefined();
    await writeFile(path.join(dir, "research.yaml"), RESEARCH);
    expect(await engine.reload()).toEqual({ ok: true, policies: ["default", "research"] });
    expect(engine.status().lastError).toBeUndefined();
    expect(engine.limitsFor(researcher).memoryBytes).toBe(16 * 1024 ** 3);
  });

  it("watch() keeps the old set while a file is broken and picks up the fix", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    const engine = await open(dir);
    engine.watch(20);

    await writeFile(path.join(dir, "research.yaml"), "name: research\nappliesTo: { groups: [research] }\nlimits: { cpu: many }\n");
    await vi.waitFor(() => expect(engine.status().lastError?.problems[0]).toContain('limits.cpu: "many" is not a CPU amount'), {
      timeout: 2000,
      interval: 10,
    });
    expect(engine.status().active).toEqual(["default"]);

    await writeFile(path.join(dir, "research.yaml"), RESEARCH);
    await vi.waitFor(() => expect(engine.limitsFor(researcher).memoryBytes).toBe(16 * 1024 ** 3), { timeout: 2000, interval: 10 });
    expect(engine.status().lastError).toBeUndefined();
    expect(engine.status().active).toEqual(["default", "research"]);
  });

  it("watch() does not reload an unchanged folder, and stops when asked", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    const logger = quietLogger();
    const engine = await open(dir, logger);
    const stop = engine.watch(10);
    await new Promise((r) => setTimeout(r, 100));
    expect(logger.info).toHaveBeenCalledTimes(1); // the initial load only
    stop();
    await writeFile(path.join(dir, "research.yaml"), RESEARCH);
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.status().active).toEqual(["default"]);
  });

  it("sighup() reloads in the background and never throws", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    const engine = await open(dir);
    await writeFile(path.join(dir, "research.yaml"), RESEARCH);
    engine.sighup();
    await vi.waitFor(() => expect(engine.status().active).toEqual(["default", "research"]), { timeout: 2000, interval: 10 });
    await writeFile(path.join(dir, "research.yaml"), "broken: [");
    expect(() => engine.sighup()).not.toThrow();
    await vi.waitFor(() => expect(engine.status().lastError).toBeDefined(), { timeout: 2000, interval: 10 });
  });

  it("answers decisions for the servers module", async () => {
    const engine = await open(await policyDir({ "default.yaml": DEFAULT_POLICY }));
    const decision = engine.mayCreate({ name: "alice", groups: [] }, "sixth", ["a", "b", "c", "d", "e"]);
    expect(decision.allow).toBe(false);
    expect(decision.reasons[0]?.message).toBe("alice already has 5 named servers (a, b, c, d, e); policy `default` allows 5");
    expect(engine.limitsFor({ name: "alice", groups: [] }).idleTimeoutMs).toBe(7_200_000);
  });
});
