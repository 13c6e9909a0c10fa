import { describe, expect, it } from "vitest";
import { explain, policyExplainText } from "../../src/policy/index.js";
import { formatBytes } from "../../src/lib/units.js";
import { defaultDoc, override, setOf } from "./fixtures.js";

const set = setOf(
  defaultDoc,
  override("bigmem", ["bigmem"], { memory: "64GiB" }),
  override("research", ["research"], { namedServers: 10, memory: "16GiB", idleTimeout: "never" }, 10),
);

describe("explain", () => {
  it("gives every limit, formatted, with the policy and file it came from", () => {
    expect(explain(set, { name: "bob", groups: [] }).map((r) => [r.limit, r.value, r.source.policy, r.source.file])).toEqual([
      ["namedServers", "5", "default", "policies/default.yaml"],
      ["serverNameMaxLength", "20 characters", "default", "policies/default.yaml"],
      ["idleTimeout", "2h", "default", "policies/default.yaml"],
      ["storage", "2 GiB", "default", "policies/default.yaml"],
      ["cpu", "1 CPU", "default", "policies/default.yaml"],
      ["memory", "2 GB", "default", "policies/default.yaml"],
      ["concurrentBuilds", "2 builds", "default", "policies/default.yaml"],
      ["buildTimeout", "30m", "default", "policies/default.yaml"],
      // Left out of this default policy: the hub's built-in values, which limit nothing.
      ["maxLifetime", "never", "built-in", "no policy file sets it"],
      ["lifetimeExtension", "none", "built-in", "no policy file sets it"],
      ["runningServers", "unlimited", "built-in", "no policy file sets it"],
      ["totalCpu", "unlimited", "built-in", "no policy file sets it"],
      ["totalMemory", "unlimited", "built-in", "no policy file sets it"],
      ["totalStorage", "unlimited", "built-in", "no policy file sets it"],
      ["shares", "off", "built-in", "no policy file sets it"],
    ]);
  });

  it("names the override that won and the ones that lost", () => {
    const rows = explain(set, { name: "erin", groups: ["research", "bigmem"] });
    const memory = rows.find((r) => r.limit === "memory")!;
    expect(memory).toMatchObject({
      value: "16 GiB",
      raw: 16 * 1024 ** 3,
      source: { policy: "research", file: "policies/research.yaml", priority: 10 },
      outranked: [
        { policy: "bigmem", file: "policies/bigmem.yaml", priority: 0, value: "64 GiB" },
        { policy: "default", file: "policies/default.yaml", priority: null, value: "2 GB" },
      ],
    });
    expect(rows.find((r) => r.limit === "idleTimeout")).toMatchObject({ value: "never", raw: null, source: { policy: "research" } });
  });

  it("renders the text for `ganymede policy explain --user`", () => {
    expect(policyExplainText(set, { name: "erin", groups: ["research", "bigmem"] })).toBe(
      [
        "Effective policy for erin (groups: research, bigmem)",
        "Policies that apply: default (policies/default.yaml), bigmem (policies/bigmem.yaml), research (policies/research.yaml)",
        "",
        "limit                value          set by",
        "namedServers         10             research (policies/research.yaml)",
        "serverNameMaxLength  20 characters  default (policies/default.yaml)",
        "idleTimeout          never          research (policies/research.yaml)",
        "storage              2 GiB          default (policies/default.yaml)",
        "cpu                  1 CPU          default (policies/default.yaml)",
        "memory               16 GiB         research (policies/research.yaml)",
        "concurrentBuilds     2 builds       default (policies/default.yaml)",
        "buildTimeout         30m            default (policies/default.yaml)",
        "maxLifetime          never          built-in (no policy file sets it)",
        "lifetimeExtension    none           built-in (no policy file sets it)",
        "runningServers       unlimited      built-in (no policy file sets it)",
        "totalCpu             unlimited      built-in (no policy file sets it)",
        "totalMemory          unlimited      built-in (no policy file sets it)",
        "totalStorage         unlimited      built-in (no policy file sets it)",
        "shares               off            built-in (no policy file sets it)",
        "",
        "Overridden:",
        "  memory: bigmem (priority 0) would give 64 GiB; research wins: higher priority (10 > 0)",
        "",
        "Repositories (Binder launches):",
        "  allowed:       any repository (no policy that applies has an allow list)",
        "  denied:        none",
        "  private hosts: not allowed — built in (no policy that applies sets privateHosts)",
        "",
      ].join("\n"),
    );
  });

  it("explains the build limits, formatted, with the policies that lost", () => {
    const builds = setOf(
      defaultDoc,
      override("course", ["course"], { concurrentBuilds: 1, buildTimeout: "15m" }, 10),
      override("lab", ["lab"], { concurrentBuilds: 4, buildTimeout: "1h30m" }),
    );
    const rows = explain(builds, { name: "u", groups: ["course", "lab"] });
    expect(rows.find((r) => r.limit === "concurrentBuilds")).toMatchObject({
      value: "1 build",
      raw: 1,
      source: { policy: "course", priority: 10 },
      outranked: [
        { policy: "lab", priority: 0, value: "4 builds" },
        { policy: "default", priority: null, value: "2 builds" },
      ],
    });
    expect(rows.find((r) => r.limit === "buildTimeout")).toMatchObject({ value: "15m", raw: 15 * 60_000 });
    expect(explain(builds, { name: "u", groups: ["lab"] }).find((r) => r.limit === "buildTimeout")?.value).toBe("1h30m");
    expect(policyExplainText(builds, { name: "u", groups: ["course", "lab"] })).toContain(
      "  concurrentBuilds: lab (priority 0) would give 4 builds; course wins: higher priority (10 > 0)\n",
    );
  });

  it("formats fractional and multiple CPUs", () => {
    const cpus = setOf(defaultDoc, override("half", ["half"], { cpu: "500m" }), override("many", ["many"], { cpu: 4 }));
    expect(explain(cpus, { name: "u", groups: ["half"] }).find((r) => r.limit === "cpu")?.value).toBe("0.5 CPU");
    expect(explain(cpus, { name: "u", groups: ["many"] }).find((r) => r.limit === "cpu")?.value).toBe("4 CPUs");
  });

  it("formats sizes in the unit they were most likely written in", () => {
    expect([2e9, 2 * 1024 ** 3, 512 * 1024 ** 2, 1e12, 1536 * 1024 ** 2, 1234567].map(formatBytes)).toEqual([
      "2 GB",
      "2 GiB",
      "512 MiB",
      "1 TB",
      "1536 MiB",
      "1.23 MB",
    ]);
  });
});
