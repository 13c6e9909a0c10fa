import { describe, expect, it } from "vitest";
import { diffPolicySets, policyDiffText } from "../../src/policy/index.js";
import { defaultDoc, override, setOf } from "./fixtures.js";

const current = setOf(defaultDoc, override("research", ["research"], { memory: "16GiB", idleTimeout: "never" }, 10));

describe("policy diff", () => {
  it("names, per group of users with the same changes, each setting that changes, with its value and policy before and after", () => {
    const proposed = setOf(
      { ...defaultDoc, data: { ...defaultDoc.data, limits: { ...defaultDoc.data.limits, idleTimeout: "1h" } } },
      override("research", ["research"], { memory: "32GiB", idleTimeout: "never" }, 10, { privateHosts: true }),
    );
    const users = [
      { name: "alice", groups: ["research"] },
      { name: "bob", groups: [] },
      { name: "carol", groups: [] },
      { name: "dave", groups: ["research"] },
    ];
    const diff = diffPolicySets(current, proposed, users);
    expect(diff).toEqual({
      compared: 4,
      unchanged: 0,
      changed: [
        {
          users: ["alice", "dave"],
          changes: [
            { setting: "memory", from: "16 GiB", to: "32 GiB", fromSource: "research (research.yaml)", toSource: "research (research.yaml)" },
            { setting: "repositories.privateHosts", from: "not allowed", to: "allowed", fromSource: "built in", toSource: "research (research.yaml)" },
          ],
        },
        {
          users: ["bob", "carol"],
          changes: [{ setting: "idleTimeout", from: "2h", to: "1h", fromSource: "default (default.yaml)", toSource: "default (default.yaml)" }],
        },
      ],
    });
    expect(policyDiffText(diff)).toBe(
      [
        "2 users: alice, dave",
        "  memory: 16 GiB → 32 GiB  [research (research.yaml)]",
        "  repositories.privateHosts: not allowed → allowed  [built in → research (research.yaml)]",
        "",
        "2 users: bob, carol",
        "  idleTimeout: 2h → 1h  [default (default.yaml)]",
        "",
        "4 of 4 users would see a change; 0 would not.",
        "",
      ].join("\n"),
    );
  });

  it("reports a value now set by another policy even when it stays the same, and nothing for users the change misses", () => {
    // staff gets its own policy with the default's memory: same value, new source.
    const proposed = setOf(defaultDoc, override("research", ["research"], { memory: "16GiB", idleTimeout: "never" }, 10), override("staff", ["staff"], { memory: "2GB" }));
    const diff = diffPolicySets(current, proposed, [
      { name: "erin", groups: ["staff"] },
      { name: "frank", groups: ["research"] },
    ]);
    expect(diff.unchanged).toBe(1);
    expect(diff.changed).toEqual([
      { users: ["erin"], changes: [{ setting: "memory", from: "2 GB", to: "2 GB", fromSource: "default (default.yaml)", toSource: "staff (staff.yaml)" }] },
    ]);
    expect(policyDiffText(diff)).toContain("memory: 2 GB (unchanged value)  [default (default.yaml) → staff (staff.yaml)]");
  });

  it("lists ten names per entry and counts the rest, so a change to thousands stays one entry", () => {
    const proposed = setOf(defaultDoc, override("research", ["research"], { memory: "8GiB", idleTimeout: "never" }, 10));
    const users = Array.from({ length: 5000 }, (_, i) => ({ name: `student${String(i).padStart(4, "0")}`, groups: ["research"] }));
    const text = policyDiffText(diffPolicySets(current, proposed, users));
    expect(text.split("\n")[0]).toBe("5000 users: student0000, student0001, student0002, student0003, student0004, student0005, student0006, student0007, student0008, student0009, … (4990 more)");
    expect(text).toContain("5000 of 5000 users would see a change");
  });
});
