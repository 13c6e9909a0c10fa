import { describe, expect, it } from "vitest";
import { PolicyDenied } from "../../src/errors.js";
import { BUILT_IN_POLICY, decide, enforce, type PolicyRequest, type ServerUsage } from "../../src/policy/index.js";
import { defaultDoc, override, setOf } from "./fixtures.js";

const alice = { name: "alice", groups: [] as string[] };
const base = setOf(defaultDoc);

function create(name: string, namedServers = 0, user = alice, set = base, serverNames?: string[]) {
  return decide(set, { action: "server.create", user, server: { name }, current: { namedServers, serverNames } });
}

describe("server names (server.create)", () => {
  it.each(["work", "a", "my-analysis-2", "abcdefghijklmnopqrst" /* 20 */])("allows %j", (name) => {
    expect(create(name)).toMatchObject({ allow: true, reasons: [] });
  });

  it.each([
    ["..", "server_name_characters", 'server name ".." contains "."; server names may contain only lowercase letters a-z, digits and hyphens'],
    ["a/b", "server_name_characters", 'server name "a/b" contains "/"; server names may contain only lowercase letters a-z, digits and hyphens'],
    ["Work", "server_name_characters", 'server name "Work" contains "W"; server names may contain only lowercase letters a-z, digits and hyphens'],
    // Cyrillic а (U+0430) looks exactly like Latin a.
    ["d\u0430ta", "server_name_characters", 'server name "dаta" contains "а" (U+0430); server names may contain only lowercase letters a-z, digits and hyphens'],
    ["my work", "server_name_characters", 'server name "my work" contains U+0020; server names may contain only lowercase letters a-z, digits and hyphens'],
    ["a\nb", "server_name_characters", 'server name "a\\nb" contains U+000A; server names may contain only lowercase letters a-z, digits and hyphens'],
    ["1st", "server_name_start", 'server name "1st" starts with "1"; server names must start with a letter a-z'],
    ["-x", "server_name_start", 'server name "-x" starts with "-"; server names must start with a letter a-z'],
    ["work-", "server_name_hyphens", 'server name "work-" ends with a hyphen; a hyphen must sit alone between letters or digits'],
    ["my--work", "server_name_hyphens", 'server name "my--work" has two hyphens in a row; a hyphen must sit alone between letters or digits'],
    ["", "server_name_empty", "a named server needs a name (the default server has none: it is started, not created)"],
  ])("refuses %j (%s)", (name, rule, message) => {
    const decision = create(name);
    expect(decision.allow).toBe(false);
    expect(decision.reasons).toEqual([expect.objectContaining({ rule, message, policy: BUILT_IN_POLICY })]);
  });

  it("refuses a name over the length limit, naming the policy and the numbers", () => {
    const decision = create("abcdefghijklmnopqrstu");
    expect(decision.reasons).toEqual([
      {
        rule: "server_name_length",
        policy: "default",
        message: 'server name "abcdefghijklmnopqrstu" is 21 characters; policy `default` allows at most 20',
        limit: 20,
        value: 21,
      },
    ]);
  });

  it("reports every broken rule at once", () => {
    const rules = create("9Bad--name-that-is-far-too-long-").reasons.map((r) => r.rule);
    expect(rules).toEqual(["server_name_characters", "server_name_start", "server_name_hyphens", "server_name_length"]);
  });

  it("keeps huge names out of messages", () => {
    const [reason] = create("x".repeat(5000)).reasons;
    expect(reason?.message).toBe(`server name "${"x".repeat(40)}…" is 5000 characters; policy \`default\` allows at most 20`);
  });
});

describe("named server count (server.create)", () => {
  it("allows the fifth and refuses the sixth named server with the exact numbers", () => {
    expect(create("fifth", 4).allow).toBe(true);
    const decision = create("sixth", 5);
    expect(decision.allow).toBe(false);
    expect(decision.reasons).toEqual([
      {
        rule: "named_servers",
        policy: "default",
        message: "alice already has 5 named servers; policy `default` allows 5",
        limit: 5,
        value: 5,
      },
    ]);
  });

  it("lists the existing servers when the caller knows them", () => {
    const [reason] = create("f", 5, alice, base, ["a", "b", "c", "d", "e"]).reasons;
    expect(reason?.message).toBe("alice already has 5 named servers (a, b, c, d, e); policy `default` allows 5");
  });

  it("says so plainly when a policy allows no named servers", () => {
    const set = setOf(defaultDoc, override("kiosk", ["kiosk"], { namedServers: 0 }));
    const [reason] = create("x", 0, { name: "bob", groups: ["kiosk"] }, set).reasons;
    expect(reason).toMatchObject({
      rule: "named_servers",
      policy: "kiosk",
      limit: 0,
      message: "policy `kiosk` allows bob no named servers, only the default server",
    });
  });

  it("enforce() throws PolicyDenied whose message is the reasons' text", () => {
    expect(() => enforce(create("sixth", 5))).toThrow(PolicyDenied);
    expect(() => enforce(create("sixth", 5))).toThrow("alice already has 5 named servers; policy `default` allows 5");
    expect(enforce(create("ok", 0)).memoryBytes).toBe(2e9);
  });
});

describe("server.start and limits", () => {
  it("starts the default server (empty name) and returns the limits for the spawner", () => {
    const decision = decide(base, { action: "server.start", user: alice, server: { name: "" } });
    expect(decision).toMatchObject({ allow: true, reasons: [] });
    expect(decision.limits).toEqual({
      namedServers: 5,
      serverNameMaxLength: 20,
      idleTimeoutMs: 7_200_000,
      storageBytes: 2 * 1024 ** 3,
      cpu: 1,
      memoryBytes: 2e9,
      concurrentBuilds: 2,
      buildTimeoutMs: 1_800_000,
      maxLifetimeMs: null,
      lifetimeExtensionMs: 0,
      runningServers: null,
      totalCpu: null,
      totalMemoryBytes: null,
      totalStorageBytes: null,
      shares: 0,
    });
  });

  it("does not apply quotas when starting an existing server, but still the safety rules", () => {
    const lowered = setOf({ ...defaultDoc, data: { ...defaultDoc.data, limits: { ...defaultDoc.data.limits, serverNameMaxLength: 3 } } });
    expect(decide(lowered, { action: "server.start", user: alice, server: { name: "analysis" } }).allow).toBe(true);
    const unsafe = decide(base, { action: "server.start", user: alice, server: { name: "../etc" } });
    expect(unsafe.allow).toBe(false);
    expect(unsafe.reasons[0]?.rule).toBe("server_name_characters");
  });

  it("answers `limits` with the effective limits and their sources", () => {
    const decision = decide(base, { action: "limits", user: alice });
    expect(decision.allow).toBe(true);
    expect(decision.sources.memory).toEqual({ policy: "default", file: "policies/default.yaml", priority: null });
  });

  it("refuses an unknown action from an untyped caller", () => {
    expect(() => decide(base, { action: "server.delete", user: alice } as unknown as PolicyRequest)).toThrow(
      'unknown policy action "server.delete"',
    );
  });
});

describe("server.extend (moving a running server's lifetime stop)", () => {
  const HOUR = 3_600_000;
  const started = Date.parse("2026-12-07T08:00:00Z");
  const now = started + 30 * 60_000;
  const lifetimes = setOf(
    { ...defaultDoc, data: { ...defaultDoc.data, limits: { ...defaultDoc.data.limits, maxLifetime: "12h", lifetimeExtension: "2h" } } },
    override("long", ["long"], { lifetimeExtension: "1d" }),
    override("rigid", ["rigid"], { lifetimeExtension: 0 }, 5),
  );
  const extend = (deadline: number, user = alice, set = lifetimes) =>
    decide(set, { action: "server.extend", user, server: { name: "lab", startedAt: started }, deadline, now });

  it("allows any future time up to the maximum lifetime plus the extension, earlier ones too", () => {
    expect(extend(started + 14 * HOUR)).toMatchObject({ allow: true, reasons: [] });
    expect(extend(started + HOUR)).toMatchObject({ allow: true });
    expect(extend(started + 36 * HOUR, { name: "lena", groups: ["long"] })).toMatchObject({ allow: true });
  });

  it("refuses past the extension with both policies, the longest run allowed and the one asked for", () => {
    const decision = extend(started + 14 * HOUR + 1000);
    expect(decision.allow).toBe(false);
    expect(decision.reasons).toEqual([
      {
        rule: "lifetime_extension",
        policy: "default",
        limit: 14 * HOUR,
        value: 14 * HOUR + 1000,
        message:
          "a stop at 2026-12-07T22:00:01.000Z would let the server run 14h1s; policy `default` sets a maximum lifetime of 12h " +
          "and policy `default` allows extending it by at most 2h",
      },
    ]);
    expect(extend(started + 13 * HOUR, { name: "rita", groups: ["rigid", "long"] }).reasons[0]!.message).toMatch(
      /policy `default` sets a maximum lifetime of 12h and policy `rigid` allows no extension$/,
    );
  });

  it("refuses a time in the past, and any move where the policy sets no maximum lifetime", () => {
    expect(extend(now - 1).reasons).toEqual([{ rule: "deadline_past", policy: BUILT_IN_POLICY, message: "the new stop time must be in the future" }]);
    expect(extend(now + HOUR, alice, base).reasons).toEqual([
      { rule: "lifetime_none", policy: BUILT_IN_POLICY, message: "no policy sets a maximum lifetime, so this server has no stop time to move" },
    ]);
  });
});

describe("quotas across servers (server.start with usage)", () => {
  const quotas = setOf(
    defaultDoc,
    override("budget", ["budget"], { runningServers: 2, totalCpu: 1.5, totalMemory: "3GB", totalStorage: "5GiB" }),
    { file: "policies/students.yaml", data: { name: "students", appliesTo: { groups: ["students"] }, limits: {}, capacity: { runningServers: 2, cpu: 3 } } },
    { file: "policies/lab.yaml", data: { name: "lab", appliesTo: { groups: ["lab"] }, limits: {}, capacity: { runningServers: 1, whenFull: "queue" } } },
  );
  const nobody: ServerUsage = { running: [], storageBytes: 0, creates: false, pools: {} };
  const start = (user: { name: string; groups: string[] }, usage: Partial<ServerUsage>) =>
    decide(quotas, { action: "server.start", user, server: { name: "s" }, usage: { ...nobody, ...usage } });
  const bea = { name: "bea", groups: ["budget"] };

  it("allows what fits, and leaves users without quotas alone", () => {
    expect(start(bea, { running: [{ name: "a", cpu: 0.5, memoryBytes: 1e9 }] })).toMatchObject({ allow: true, queue: false });
    expect(start(alice, { running: Array.from({ length: 50 }, (_, i) => ({ name: `s${i}`, cpu: 1, memoryBytes: 2e9 })) }).allow).toBe(true);
  });

  it("refuses past each of the user's own quotas with used, requested and limit", () => {
    const rules = start(bea, { running: [{ name: "a", cpu: 1, memoryBytes: 2e9 }, { name: "", cpu: 1, memoryBytes: 2e9 }] }).reasons;
    expect(rules.map((r) => [r.rule, r.used, r.requested, r.limit])).toEqual([
      ["running_servers", 2, 1, 2],
      ["total_cpu", 2, 1, 1.5],
      ["total_memory", 4e9, 2e9, 3e9],
    ]);
    expect(rules[0]!.message).toBe("bea has 2 servers running (a, default); policy `budget` allows 2 at once");
    const storage = start(bea, { storageBytes: 4 * 2 ** 30, creates: true }).reasons;
    expect(storage).toMatchObject([{ rule: "total_storage", used: 4 * 2 ** 30, requested: 2 * 2 ** 30, limit: 5 * 2 ** 30 }]);
    // Starting a server that exists already takes no new storage.
    expect(start(bea, { storageBytes: 4 * 2 ** 30, creates: false }).allow).toBe(true);
  });

  it("refuses when a capacity the user draws from is full, and queues only where every full pool queues", () => {
    const sam = { name: "sam", groups: ["students"] };
    const full = start(sam, { pools: { students: { servers: 2, cpu: 2, memoryBytes: 4e9 } } });
    expect(full).toMatchObject({ allow: false, queue: false });
    expect(full.reasons[0]).toEqual({
      rule: "capacity_servers",
      policy: "students",
      limit: 2,
      used: 2,
      requested: 1,
      message: "policy `students` allows 2 servers running at once for its group students; 2 are running",
    });
    expect(start(sam, { pools: { students: { servers: 1, cpu: 2.5, memoryBytes: 0 } } }).reasons.map((r) => r.rule)).toEqual(["capacity_cpu"]);
    const lena = { name: "lena", groups: ["lab"] };
    expect(start(lena, { pools: { lab: { servers: 1, cpu: 1, memoryBytes: 0 } } })).toMatchObject({ allow: false, queue: true });
    // In both: the students' pool refuses, so the start does not wait.
    expect(start({ name: "x", groups: ["lab", "students"] }, { pools: { lab: { servers: 1, cpu: 1, memoryBytes: 0 }, students: { servers: 2, cpu: 0, memoryBytes: 0 } } })).toMatchObject({ queue: false });
    // A quota of the user's own is never waited for.
    expect(start({ name: "y", groups: ["lab", "budget"] }, { running: [{ name: "a", cpu: 1, memoryBytes: 1 }, { name: "b", cpu: 0, memoryBytes: 1 }], pools: { lab: { servers: 1, cpu: 1, memoryBytes: 0 } } })).toMatchObject({ queue: false });
  });

  it("counts each pool's servers by who their users are now", async () => {
    const { poolUsage } = await import("../../src/policy/index.js");
    const usage = poolUsage(quotas, [
      { user: { name: "sam", groups: ["students"] }, name: "", cpu: 1, memoryBytes: 1e9 },
      { user: { name: "x", groups: ["students", "lab"] }, name: "a", cpu: 0.5, memoryBytes: 1e9 },
      { user: alice, name: "b", cpu: 4, memoryBytes: 8e9 },
    ]);
    expect(Object.fromEntries(usage)).toEqual({ students: { servers: 2, cpu: 1.5, memoryBytes: 2e9 }, lab: { servers: 1, cpu: 0.5, memoryBytes: 1e9 } });
  });
});

describe("server.share", () => {
  const sharing = setOf(defaultDoc, override("collab", ["collab"], { shares: 3 }));
  const share = (user: { name: string; groups: string[] }, shares: number) =>
    decide(sharing, { action: "server.share", user, server: { name: "work" }, current: { shares } });

  it("is off unless a policy allows it, and then counts the users and groups a server is shared with", () => {
    expect(share(alice, 0).reasons).toEqual([{ rule: "sharing_off", policy: BUILT_IN_POLICY, message: "no policy allows alice to share servers", limit: 0, value: 1 }]);
    const cleo = { name: "cleo", groups: ["collab"] };
    expect(share(cleo, 2)).toMatchObject({ allow: true, reasons: [] });
    expect(share(cleo, 3).reasons).toEqual([
      { rule: "shares", policy: "collab", message: "cleo's server work is shared with 3 users or groups; policy `collab` allows 3", limit: 3, value: 4 },
    ]);
  });
});

describe("environments and sizes (server.start with options)", () => {
  const envDoc = {
    ...defaultDoc,
    data: {
      ...defaultDoc.data,
      environments: [
        { name: "python", displayName: "Python", image: "py:1" },
        { name: "r", displayName: "R", image: "r:1", cpu: 4, default: true },
      ],
      sizes: [{ name: "half", displayName: "Half", cpu: 0.5, memory: "1GB" }],
    },
  };
  const gpuDoc = {
    file: "policies/ml.yaml",
    data: { name: "ml", appliesTo: { groups: ["ml"] }, priority: 5, limits: { cpu: 8, memory: "64GB" }, environments: [{ name: "gpu", displayName: "GPU", image: "gpu:1", gpus: 1, default: true }] },
  };
  const set = setOf(envDoc, gpuDoc);
  const start = (user: { name: string; groups: string[] }, options = {}) => decide(set, { action: "server.start", user, server: { name: "s" }, options });

  it("gives the default environment of the highest priority, its resources capped by the per-server limits", () => {
    const plain = start(alice);
    expect(plain.environment?.environment?.name).toBe("r");
    expect(plain.limits).toMatchObject({ cpu: 1, memoryBytes: 2e9 }); // r asks for 4 CPU; alice may have 1
    const ml = start({ name: "mia", groups: ["ml"] });
    expect(ml.environment?.environment).toMatchObject({ name: "gpu", gpus: 1, policy: "ml" });
    expect(ml.limits).toMatchObject({ cpu: 8, memoryBytes: 64e9 });
  });

  it("takes a size in place of the environment's resources, and refuses what is not offered", () => {
    expect(start(alice, { profile: "python", size: "half" }).limits).toMatchObject({ cpu: 0.5, memoryBytes: 1e9 });
    expect(start(alice, { profile: "gpu" }).reasons).toEqual([
      { rule: "environment_not_offered", policy: "ml", value: "gpu", message: "environment gpu is offered to group ml; you are in no group; yours: python, r" },
    ]);
    expect(start(alice, { size: "xl" }).reasons[0]).toMatchObject({ rule: "size_unknown", message: "there is no size named xl; yours: half" });
  });

  it("refuses a set where two policies define an environment of the same name", async () => {
    const { policySetFromObjects } = await import("../../src/policy/index.js");
    const twice = policySetFromObjects("policies", [envDoc, { ...gpuDoc, data: { ...gpuDoc.data, environments: [{ name: "r", displayName: "R again" }] } }]);
    expect(twice.set).toBeUndefined();
    expect(twice.problems).toEqual(['policies/ml.yaml: environments[0].name: "r" is also defined in policies/default.yaml; names must be unique']);
  });
});
