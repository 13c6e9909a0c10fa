import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUILT_IN_POLICY,
  PolicyEngine,
  decide,
  loadPolicyDir,
  policyExplainText,
  resolveRepositoryRules,
  type PolicySet,
  type PolicyUser,
} from "../../src/policy/index.js";
import { DEFAULT_POLICY, defaultDoc, override, policyDir, setOf } from "./fixtures.js";

const withRepositories = (repositories: unknown) => ({ ...defaultDoc, data: { ...defaultDoc.data, repositories } });
const security = override("security", ["everyone"], {}, 100, {
  deny: [{ pattern: "github.com/evil/*", reason: "known malware" }],
});
const students = override("students", ["students"], {}, 0, { allow: ["github.com/course/*"] });
const staff = override("staff", ["staff"], {}, 5, { allow: ["gitlab.com/group/**"] });

function launch(set: PolicySet, user: PolicyUser, repository: string, current?: { builds: number }) {
  return decide(set, { action: "repository.launch", user, repository, ...(current ? { current } : {}) });
}

describe("repository.launch: allow and deny", () => {
  it("allows any repository when no policy restricts", () => {
    const decision = launch(setOf(defaultDoc), { name: "bob", groups: [] }, "https://github.com/anyone/Anything.git");
    expect(decision).toMatchObject({
      allow: true,
      reasons: [],
      repository: { identity: "github.com/anyone/Anything", privateHosts: false },
    });
  });

  it("refuses a denied repository with the reason, the policy and the pattern", () => {
    const set = setOf(defaultDoc, security);
    const decision = launch(set, { name: "eve", groups: ["everyone"] }, "github.com/evil/repo");
    expect(decision.allow).toBe(false);
    expect(decision.reasons).toEqual([
      {
        rule: "repository_denied",
        policy: "security",
        message: "repository github.com/evil/repo is not allowed: known malware (policy `security`, deny pattern github.com/evil/*)",
        limit: "github.com/evil/*",
        value: "github.com/evil/repo",
      },
    ]);
    // Other spellings of the same repository are the same repository.
    for (const spelling of ["https://GitHub.com/Evil/Repo.git", "github.com/evil/%72epo", "github.com//evil/repo/"]) {
      expect(launch(set, { name: "eve", groups: ["everyone"] }, spelling).reasons[0]?.rule).toBe("repository_denied");
    }
    // A deny rule applies only to the users its policy applies to.
    expect(launch(set, { name: "bob", groups: [] }, "github.com/evil/repo").allow).toBe(true);
  });

  it("refuses a repository outside the allow list, naming the list", () => {
    const set = setOf(defaultDoc, students);
    const sam = { name: "sam", groups: ["students"] };
    expect(launch(set, sam, "github.com/course/week1").allow).toBe(true);
    expect(launch(set, sam, "github.com/other/repo").reasons).toEqual([
      {
        rule: "repository_not_allowed",
        policy: "students",
        message: "repository github.com/other/repo is not in any allowed list (policy `students` allows only github.com/course/*)",
        value: "github.com/other/repo",
      },
    ]);
  });

  it("adds up the allow lists of every policy that applies, whatever their priority", () => {
    const set = setOf(defaultDoc, staff, students);
    const both = { name: "tam", groups: ["students", "staff"] };
    expect(launch(set, both, "github.com/course/week1").allow).toBe(true);
    expect(launch(set, both, "gitlab.com/group/sub/tool").allow).toBe(true);
    expect(launch(set, both, "github.com/other/repo").reasons[0]).toMatchObject({
      policy: "staff", // highest priority first
      message:
        "repository github.com/other/repo is not in any allowed list (policy `staff` allows only gitlab.com/group/**; " +
        "policy `students` allows only github.com/course/*)",
    });
  });

  it("an allow list in the default policy is one of the lists, not a ceiling", () => {
    const set = setOf(withRepositories({ allow: ["github.com/public-org/*"] }), students);
    const sam = { name: "sam", groups: ["students"] };
    expect(launch(set, sam, "github.com/public-org/x").allow).toBe(true);
    expect(launch(set, sam, "github.com/course/x").allow).toBe(true);
    expect(launch(set, { name: "bob", groups: [] }, "github.com/course/x").reasons[0]?.message).toBe(
      "repository github.com/course/x is not in any allowed list (policy `default` allows only github.com/public-org/*)",
    );
  });

  it("an empty allow list allows nothing by itself", () => {
    const set = setOf(defaultDoc, override("kiosk", ["kiosk"], {}, 0, { allow: [] }));
    expect(launch(set, { name: "k", groups: ["kiosk"] }, "github.com/a/b").reasons[0]?.message).toBe(
      "repository github.com/a/b is not in any allowed list (policy `kiosk` allows none)",
    );
  });

  it("deny beats allow, and every broken rule is reported at once", () => {
    const set = setOf(
      withRepositories({ deny: [{ pattern: "github.com/course/secret-*", reason: "staff only" }] }),
      students,
      security,
    );
    const user = { name: "sam", groups: ["students", "everyone"] };
    expect(launch(set, user, "github.com/course/secret-answers").reasons.map((r) => [r.rule, r.policy])).toEqual([
      ["repository_denied", "default"],
    ]);
    expect(launch(set, user, "github.com/evil/x").reasons.map((r) => [r.rule, r.policy])).toEqual([
      ["repository_denied", "security"],
      ["repository_not_allowed", "students"],
    ]);
  });

  it("refuses what is not a repository address, as a built-in rule", () => {
    const decision = launch(setOf(defaultDoc), { name: "bob", groups: [] }, "file:///etc/passwd");
    expect(decision.reasons).toEqual([
      {
        rule: "repository_invalid",
        policy: BUILT_IN_POLICY,
        message:
          '"file:///etc/passwd" is not a repository address (expected host/path such as github.com/org/repo, or its https URL)',
      },
    ]);
    expect(decision.repository).toEqual({ identity: null, privateHosts: false });
  });
});

describe("repository.launch: concurrent builds", () => {
  const set = setOf(defaultDoc, override("kiosk", ["kiosk"], { concurrentBuilds: 0 }));

  it("counts builds only when the caller says the launch needs one", () => {
    const alice = { name: "alice", groups: [] };
    expect(launch(set, alice, "github.com/a/b").allow).toBe(true);
    expect(launch(set, alice, "github.com/a/b", { builds: 1 }).allow).toBe(true);
    expect(launch(set, alice, "github.com/a/b", { builds: 2 }).reasons).toEqual([
      {
        rule: "concurrent_builds",
        policy: "default",
        message: "alice already has 2 builds running or queued; policy `default` allows 2",
        limit: 2,
        value: 2,
      },
    ]);
  });

  it("says so plainly when a policy allows no builds", () => {
    const decision = launch(set, { name: "kim", groups: ["kiosk"] }, "github.com/a/b", { builds: 0 });
    expect(decision.reasons[0]).toMatchObject({
      rule: "concurrent_builds",
      policy: "kiosk",
      message: "policy `kiosk` allows kim no Binder builds; only repositories whose image is already built can be launched",
    });
    expect(launch(set, { name: "kim", groups: ["kiosk"] }, "github.com/a/b").allow).toBe(true);
  });
});

describe("privateHosts", () => {
  const rules = (set: PolicySet, groups: string[]) => resolveRepositoryRules(set, { name: "u", groups });

  it("is false, built in, when no policy sets it", () => {
    expect(rules(setOf(defaultDoc), [])).toMatchObject({ privateHosts: false, privateHostsSource: null });
  });

  it("comes from the default policy, then the highest-priority override that sets it", () => {
    const set = setOf(
      withRepositories({ privateHosts: true }),
      override("lab", ["lab"], {}, 0, { privateHosts: false }),
      override("locked", ["locked"], {}, 10, { privateHosts: false }),
      override("internal", ["internal"], {}, 5, { privateHosts: true }),
      override("other", ["other"], { cpu: 2 }, 50), // does not set it: takes no part
    );
    expect(rules(set, [])).toMatchObject({ privateHosts: true, privateHostsSource: { policy: "default", priority: null } });
    expect(rules(set, ["lab"]).privateHosts).toBe(false); // an override can lower it, like a limit
    expect(rules(set, ["internal", "locked", "other"])).toMatchObject({
      privateHosts: false,
      privateHostsSource: { policy: "locked", file: "policies/locked.yaml", priority: 10 },
    });
    expect(rules(set, ["internal", "lab"]).privateHostsSource?.policy).toBe("internal");
  });

  it("at equal priority true wins, whatever the file order", () => {
    const set = setOf(
      defaultDoc,
      override("a-no", ["a"], {}, 0, { privateHosts: false }),
      override("b-yes", ["b"], {}, 0, { privateHosts: true }),
    );
    expect(rules(set, ["a", "b"])).toMatchObject({ privateHosts: true, privateHostsSource: { policy: "b-yes" } });
    expect(launch(set, { name: "u", groups: ["a", "b"] }, "git.internal/x/y").repository?.privateHosts).toBe(true);
  });
});

describe("the repositories section in files", () => {
  it("lists every bad pattern and field with its path", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "bad.yaml": `
name: bad
appliesTo: { groups: [g] }
limits: {}
repositories:
  allow: ["https://github.com/org/*", "", github.com]
  deny:
    - { pattern: "github.com/a b/*", reason: spaces }
    - { pattern: github.com/x/*, reason: "" }
    - { pattern: github.com/y/*, reason: y, note: extra }
  privateHosts: yes please
  allowed: []
`,
    });
    const { set, problems } = await loadPolicyDir(dir);
    expect(set).toBeUndefined();
    const f = path.join(dir, "bad.yaml");
    expect(problems.sort()).toEqual(
      [
        `${f}: repositories.allow[0]: "https://github.com/org/*" has a scheme; write host/path without it (e.g. github.com/org/* or gitlab.com/group/**)`,
        `${f}: repositories.allow[1]: must not be empty`,
        `${f}: repositories.allow[2]: "github.com" names only a host; write github.com/** for every repository on it`,
        `${f}: repositories.deny[0].pattern: "github.com/a b/*" contains a space or control character`,
        `${f}: repositories.deny[1].reason: must say why (it is shown to the user who is refused)`,
        `${f}: repositories.deny[2].note: unknown field (known fields: pattern, reason)`,
        `${f}: repositories.privateHosts: expected boolean, got string "yes please"`,
        `${f}: repositories.allowed: unknown field (known fields: allow, deny, privateHosts)`,
      ].sort(),
    );
  });

  it("suggests the right case of a misspelt field", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "a.yaml": "name: a\nappliesTo: { groups: [g] }\nlimits: { concurrentbuilds: 1 }\nrepositories: { privatehosts: true }\n",
    });
    const f = path.join(dir, "a.yaml");
    expect((await loadPolicyDir(dir)).problems).toEqual([
      `${f}: limits.concurrentbuilds: unknown field (did you mean "concurrentBuilds"?)`,
      `${f}: repositories.privatehosts: unknown field (did you mean "privateHosts"?)`,
    ]);
  });

  it("is optional, in the default policy too, and loads from YAML", async () => {
    const dir = await policyDir({
      "default.yaml": `${DEFAULT_POLICY}repositories:\n  deny:\n    - pattern: github.com/evil/**\n      reason: malware\n`,
      "course.yaml": "name: course\nappliesTo: { groups: [c] }\nlimits: {}\nrepositories: { allow: [github.com/course/*], privateHosts: true }\n",
      "plain.yaml": "name: plain\nappliesTo: { groups: [p] }\nlimits: { cpu: 2 }\n",
    });
    const { set, problems } = await loadPolicyDir(dir);
    expect(problems).toEqual([]);
    expect(set!.defaultPolicy.repositories).toEqual({ deny: [{ pattern: "github.com/evil/**", reason: "malware" }] });
    expect(set!.overrides.map((p) => p.repositories)).toEqual([{ allow: ["github.com/course/*"], privateHosts: true }, undefined]);
  });
});

describe("repositories in the engine and in explain", () => {
  it("answers the builder: mayLaunchRepository and repositoryRules", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "course.yaml":
        "name: course\nappliesTo: { groups: [c] }\nlimits: { concurrentBuilds: 1 }\nrepositories: { allow: [github.com/course/*], privateHosts: true }\n",
    });
    const engine = await PolicyEngine.open(dir);
    const student = { name: "sam", groups: ["c"] };
    expect(engine.repositoryRules(student).privateHosts).toBe(true);
    expect(engine.repositoryRules({ name: "bob", groups: [] }).privateHosts).toBe(false);
    expect(engine.mayLaunchRepository(student, "https://github.com/course/week1.git")).toMatchObject({
      allow: true,
      repository: { identity: "github.com/course/week1", privateHosts: true },
    });
    expect(engine.mayLaunchRepository(student, "github.com/course/week1", { builds: 1 }).reasons.map((r) => r.message)).toEqual([
      "sam already has 1 build running or queued; policy `course` allows 1",
    ]);
    expect(engine.mayLaunchRepository(student, "github.com/x/y").reasons[0]?.rule).toBe("repository_not_allowed");
  });

  it("explains allow lists, deny rules and private hosts with their files", () => {
    const set = setOf(
      withRepositories({ privateHosts: false, deny: [{ pattern: "github.com/evil/*", reason: "malware" }] }),
      override("students", ["students"], {}, 0, { allow: ["github.com/course/*", "github.com/course-extra/*"], privateHosts: true }),
      override("locked", ["locked"], {}, 10, { privateHosts: false }),
    );
    const text = policyExplainText(set, { name: "sam", groups: ["students", "locked"] });
    expect(text.slice(text.indexOf("Repositories"))).toBe(
      [
        "Repositories (Binder launches):",
        "  allowed:       github.com/course/*, github.com/course-extra/* — students (policies/students.yaml)",
        "  denied:        github.com/evil/*: malware — default (policies/default.yaml)",
        "  private hosts: not allowed — locked (policies/locked.yaml)",
        "    students (priority 0) would say allowed; locked wins: higher priority (10 > 0)",
        "",
      ].join("\n"),
    );
  });
});
