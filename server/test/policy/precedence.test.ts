import { describe, expect, it } from "vitest";
import { decide, resolveLimits } from "../../src/policy/index.js";
import { defaultDoc, override, setOf } from "./fixtures.js";

const GiB = 1024 ** 3;
const limitsOf = (set: ReturnType<typeof setOf>, groups: string[], name = "u") => resolveLimits(set, { name, groups }).limits;

describe("group overrides and precedence", () => {
  it("raises limits for a group and leaves the others from the default policy", () => {
    const set = setOf(defaultDoc, override("research", ["research"], { namedServers: 10, memory: "16GiB", idleTimeout: "8h" }));
    expect(limitsOf(set, ["research"])).toEqual({
      namedServers: 10,
      serverNameMaxLength: 20,
      idleTimeoutMs: 8 * 3_600_000,
      storageBytes: 2 * GiB,
      cpu: 1,
      memoryBytes: 16 * GiB,
      concurrentBuilds: 2,
      buildTimeoutMs: 30 * 60_000,
      maxLifetimeMs: null,
      lifetimeExtensionMs: 0,
      runningServers: null,
      totalCpu: null,
      totalMemoryBytes: null,
      totalStorageBytes: null,
      shares: 0,
    });
    expect(limitsOf(set, ["other"]).namedServers).toBe(5);
  });

  it("lowers limits too, and the refusal names the overriding policy", () => {
    const set = setOf(defaultDoc, override("students", ["students"], { namedServers: 2, serverNameMaxLength: 10 }));
    const decision = decide(set, {
      action: "server.create",
      user: { name: "sam", groups: ["students"] },
      server: { name: "a-long-name" },
      current: { namedServers: 2 },
    });
    expect(decision.reasons.map((r) => r.message)).toEqual([
      'server name "a-long-name" is 11 characters; policy `students` allows at most 10',
      "sam already has 2 named servers; policy `students` allows 2",
    ]);
  });

  it("matches explicit users as well as groups", () => {
    const set = setOf(defaultDoc, {
      file: "policies/vip.yaml",
      data: { name: "vip", appliesTo: { users: ["alice"] }, limits: { cpu: 8 } },
    });
    expect(limitsOf(set, [], "alice").cpu).toBe(8);
    expect(limitsOf(set, ["alice"], "bob").cpu).toBe(1); // a group called alice is not the user alice
  });

  it("the highest priority wins, even when it is less generous", () => {
    const set = setOf(
      defaultDoc,
      override("bigmem", ["bigmem"], { memory: "64GiB" }),
      override("research", ["research"], { memory: "16GiB" }, 10),
    );
    expect(limitsOf(set, ["research", "bigmem"]).memoryBytes).toBe(16 * GiB);
    expect(resolveLimits(set, { name: "u", groups: ["bigmem", "research"] }).sources.memory.policy).toBe("research");
  });

  it("at equal priority the most generous value wins, whatever the file order", () => {
    const set = setOf(
      defaultDoc,
      override("a-teaching", ["teaching"], { namedServers: 2, idleTimeout: "never" }),
      override("b-research", ["research"], { namedServers: 10, idleTimeout: "8h" }),
    );
    const limits = limitsOf(set, ["teaching", "research"]);
    expect(limits.namedServers).toBe(10);
    expect(limits.idleTimeoutMs).toBeNull(); // never is the most generous idle timeout
  });

  it("resolves each limit independently", () => {
    const set = setOf(
      defaultDoc,
      override("research", ["research"], { namedServers: 10, memory: "16GiB" }, 10),
      override("teaching", ["teaching"], { namedServers: 2, idleTimeout: "8h" }),
    );
    const { limits, sources } = resolveLimits(set, { name: "dave", groups: ["research", "teaching"] });
    expect([limits.namedServers, limits.idleTimeoutMs, limits.memoryBytes]).toEqual([10, 8 * 3_600_000, 16 * GiB]);
    expect([sources.namedServers.policy, sources.idleTimeout.policy, sources.storage.policy]).toEqual([
      "research",
      "teaching",
      "default",
    ]);
  });

  it("resolves the build limits by the same rule: priority first, then the more generous", () => {
    const set = setOf(
      defaultDoc,
      override("course", ["course"], { concurrentBuilds: 1, buildTimeout: "15m" }, 10),
      override("lab", ["lab"], { concurrentBuilds: 4, buildTimeout: "1h" }),
      override("lab-long", ["lab"], { buildTimeout: "2h" }),
      override("kiosk", ["kiosk"], { concurrentBuilds: 0 }),
    );
    const of = (groups: string[]) => {
      const { limits, sources } = resolveLimits(set, { name: "u", groups });
      return [limits.concurrentBuilds, limits.buildTimeoutMs, sources.concurrentBuilds.policy, sources.buildTimeout.policy];
    };
    expect(of([])).toEqual([2, 30 * 60_000, "default", "default"]);
    expect(of(["kiosk"])).toEqual([0, 30 * 60_000, "kiosk", "default"]); // 0 lowers it: no builds
    expect(of(["lab"])).toEqual([4, 2 * 3_600_000, "lab", "lab-long"]); // equal priority: the longer timeout
    expect(of(["lab", "course", "kiosk"])).toEqual([1, 15 * 60_000, "course", "course"]); // priority 10, though less
  });

  it("a negative priority loses to priority 0 but still beats the default policy", () => {
    const set = setOf(
      defaultDoc,
      override("low", ["g"], { cpu: 0.5 }, -5),
      override("mid", ["h"], { cpu: 2 }),
    );
    expect(limitsOf(set, ["g"]).cpu).toBe(0.5);
    expect(limitsOf(set, ["g", "h"]).cpu).toBe(2);
  });
});
