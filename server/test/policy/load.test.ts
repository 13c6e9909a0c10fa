import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decide, loadPolicyDir, policyCheckReport } from "../../src/policy/index.js";
import { DEFAULT_POLICY, policyDir } from "./fixtures.js";

const shippedDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../policies");

describe("loadPolicyDir", () => {
  it("loads the shipped policies with the documented defaults (2 GiB storage, 2 GB memory)", async () => {
    const { set, problems } = await loadPolicyDir(shippedDir);
    expect(problems).toEqual([]);
    expect(set?.overrides).toEqual([]); // examples/ is a subfolder: not loaded
    expect(set?.defaultPolicy.limits).toEqual({
      namedServers: 5,
      serverNameMaxLength: 20,
      idleTimeout: 2 * 3_600_000,
      storage: 2 * 1024 ** 3,
      cpu: 1,
      memory: 2e9,
      concurrentBuilds: 2,
      buildTimeout: 30 * 60_000,
      maxLifetime: null,
      lifetimeExtension: 0,
      runningServers: null,
      totalCpu: null,
      totalMemory: null,
      totalStorage: null,
      shares: 0,
    });
    expect(set?.defaultPolicy.repositories).toEqual({ privateHosts: false });
  });

  it("the shipped example override is itself valid", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    await copyFile(path.join(shippedDir, "examples/research.yaml"), path.join(dir, "research.yaml"));
    const { set, problems } = await loadPolicyDir(dir);
    expect(problems).toEqual([]);
    expect(set?.overrides.map((p) => p.name)).toEqual(["research"]);
  });

  it("the shipped environments example is valid and gives its group the GPU environment by default", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    await copyFile(path.join(shippedDir, "examples/environments.yaml"), path.join(dir, "environments.yaml"));
    const { set, problems } = await loadPolicyDir(dir);
    expect(problems).toEqual([]);
    const start = decide(set!, { action: "server.start", user: { name: "mia", groups: ["ml-research"] }, server: { name: "" } });
    expect(start.environment?.environment).toMatchObject({ name: "gpu-pytorch", gpus: 1, nodeSelector: { accelerator: "nvidia" } });
    expect(start.limits).toMatchObject({ cpu: 4, memoryBytes: 32 * 2 ** 30 });
  });

  it("the shipped Binder course example is valid and restricts its group to the course organisation", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY });
    await copyFile(path.join(shippedDir, "examples/binder-course.yaml"), path.join(dir, "binder-course.yaml"));
    const { set, problems } = await loadPolicyDir(dir);
    expect(problems).toEqual([]);
    const student = { name: "sam", groups: ["data101-students"] };
    const launch = (repository: string) => decide(set!, { action: "repository.launch", user: student, repository });
    expect(launch("https://github.com/data101-course/week-1").allow).toBe(true);
    expect(launch("github.com/data101-course/solutions-week-1").reasons.map((r) => r.rule)).toEqual(["repository_denied"]);
    expect(launch("github.com/someone/else").reasons.map((r) => r.rule)).toEqual(["repository_not_allowed"]);
    expect(decide(set!, { action: "limits", user: student }).limits).toMatchObject({ concurrentBuilds: 1, buildTimeoutMs: 15 * 60_000 });
    expect(decide(set!, { action: "repository.launch", user: { name: "bob", groups: [] }, repository: "github.com/someone/else" }).allow).toBe(true);
  });

  it("checks the build limits: a whole number of builds, a build timeout of more than 0", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "a.yaml": "name: a\nappliesTo: { users: [u] }\nlimits: { concurrentBuilds: 1.5, buildTimeout: never }\n",
      "b.yaml": "name: b\nappliesTo: { users: [u] }\nlimits: { concurrentBuilds: -1, buildTimeout: 0 }\n",
      "c.yaml": "name: c\nappliesTo: { users: [u] }\nlimits: { concurrentBuilds: '2', buildTimeout: soon }\n",
      "d.yaml": "name: d\nappliesTo: { users: [u] }\nlimits: { concurrentBuilds: 0, buildTimeout: 1h30m }\n",
    });
    const at = (f: string) => path.join(dir, f);
    expect((await loadPolicyDir(dir)).problems).toEqual([
      `${at("a.yaml")}: limits.concurrentBuilds: expected a whole number, got 1.5`,
      `${at("a.yaml")}: limits.buildTimeout: "never" is not a duration of more than 0 (examples: 30m, 1h); builds always have a time limit`,
      `${at("b.yaml")}: limits.concurrentBuilds: must be at least 0, got -1`,
      `${at("b.yaml")}: limits.buildTimeout: "0" is not a duration of more than 0 (examples: 30m, 1h); builds always have a time limit`,
      `${at("c.yaml")}: limits.concurrentBuilds: expected number, got string "2"`,
      `${at("c.yaml")}: limits.buildTimeout: "soon" is not a duration of more than 0 (examples: 30m, 1h)`,
    ]);
  });

  it("lists every schema problem with its file and field path", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "research.yaml": `
name: research
appliesTo: { groups: [research, 7] }
priority: high
limits:
  memory: 8XB
  storage: true
  cpu: -1
  idleTimeout: soon
  namedServers: 2.5
  serverNameMaxLength: 64
  namedservers: 3
  gpu: 1
colour: blue
`,
    });
    const { set, problems } = await loadPolicyDir(dir);
    expect(set).toBeUndefined();
    const f = path.join(dir, "research.yaml");
    expect(problems).toEqual(
      expect.arrayContaining([
        `${f}: limits.memory: "8XB" is not a size (examples: 2GiB, 2GB, 512Mi)`,
        `${f}: limits.storage: expected string or number, got boolean true`,
        `${f}: limits.cpu: "-1" is not a CPU amount (examples: 1, 0.5, 500m)`,
        `${f}: limits.idleTimeout: "soon" is not a duration (examples: 30m, 2h, 1h30m, or "never")`,
        `${f}: appliesTo.groups[1]: expected string, got 7`,
        `${f}: priority: expected number, got string "high"`,
        `${f}: limits.namedservers: unknown field (did you mean "namedServers"?)`,
        `${f}: colour: unknown field (known fields: name, description, appliesTo, priority, limits, repositories, environments, sizes, capacity)`,
      ]),
    );
    expect(problems).toContain(`${f}: limits.namedServers: expected a whole number, got 2.5`);
    expect(problems).toContain(`${f}: limits.serverNameMaxLength: must be at most 63, got 64`);
    expect(problems).toContain(
      `${f}: limits.gpu: unknown field (known fields: namedServers, serverNameMaxLength, idleTimeout, storage, cpu, memory, concurrentBuilds, buildTimeout, maxLifetime, lifetimeExtension, runningServers, totalCpu, totalMemory, totalStorage, shares)`,
    );
    expect(problems).toHaveLength(11);
  });

  it("reports the file relative to the directory as given", async () => {
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY, "research.yaml": "name: research\nappliesTo: { groups: [r] }\nlimits: { memory: 8XB }\n" });
    const relative = path.relative(process.cwd(), dir);
    const { problems } = await loadPolicyDir(`./${relative}`);
    expect(problems).toEqual([`${relative}/research.yaml: limits.memory: "8XB" is not a size (examples: 2GiB, 2GB, 512Mi)`]);
  });

  it("requires the default policy to set every limit, without a priority", async () => {
    const dir = await policyDir({
      "default.yaml": "name: default\nappliesTo: { default: true }\npriority: 3\nlimits: { namedServers: 5 }\n",
    });
    const { problems } = await loadPolicyDir(dir);
    const f = path.join(dir, "default.yaml");
    expect(problems).toContain(`${f}: priority: the default policy has no priority: it is the base that override policies replace`);
    for (const limit of ["serverNameMaxLength", "idleTimeout", "storage", "cpu", "memory", "concurrentBuilds", "buildTimeout"]) {
      expect(problems).toContain(`${f}: limits.${limit}: the default policy must set every limit`);
    }
    expect(problems.some((p) => p.includes("no default policy"))).toBe(false);
  });

  it("refuses duplicate names, naming both files", async () => {
    const overrideText = "name: research\nappliesTo: { groups: [research] }\nlimits: { cpu: 2 }\n";
    const dir = await policyDir({ "default.yaml": DEFAULT_POLICY, "a.yaml": overrideText, "b.yml": overrideText });
    const { set, problems, files } = await loadPolicyDir(dir);
    expect(set).toBeUndefined();
    const [a, b] = [path.join(dir, "a.yaml"), path.join(dir, "b.yml")];
    expect(problems).toEqual([
      `${a}: name: "research" is also the name of ${b}; names must be unique`,
      `${b}: name: "research" is also the name of ${a}; names must be unique`,
    ]);
    expect(files.map((f) => [path.basename(f.file), f.valid])).toEqual([["a.yaml", false], ["b.yml", false], ["default.yaml", true]]);
  });

  it("requires exactly one default policy", async () => {
    const none = await policyDir({ "r.yaml": "name: r\nappliesTo: { groups: [g] }\nlimits: {}\n" });
    expect((await loadPolicyDir(none)).problems).toEqual([
      `${none}: no default policy; one file must have \`appliesTo: { default: true }\``,
    ]);

    const two = await policyDir({ "a.yaml": DEFAULT_POLICY, "b.yaml": DEFAULT_POLICY.replace("name: default", "name: other") });
    const [a, b] = [path.join(two, "a.yaml"), path.join(two, "b.yaml")];
    expect((await loadPolicyDir(two)).problems).toEqual([
      `${a}: appliesTo.default: ${a}, ${b} are all default policies; exactly one may be`,
      `${b}: appliesTo.default: ${a}, ${b} are all default policies; exactly one may be`,
    ]);

    const empty = await policyDir({});
    expect((await loadPolicyDir(empty)).problems).toEqual([
      `${empty}: no policy files (*.yaml, *.yml); at least the default policy is needed`,
    ]);
  });

  it("refuses policies that apply to nobody, or mix default with groups", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "nobody.yaml": "name: nobody\nappliesTo: { groups: [] }\nlimits: {}\n",
      "mixed.yaml": "name: mixed\nappliesTo: { default: true, groups: [x] }\nlimits: {}\n",
      "false.yaml": "name: f\nappliesTo: { default: false, users: [bob] }\nlimits: {}\n",
    });
    const { problems } = await loadPolicyDir(dir);
    expect(problems).toEqual(
      expect.arrayContaining([
        `${path.join(dir, "nobody.yaml")}: appliesTo: names no groups and no users, so it would apply to nobody (or write \`default: true\`)`,
        `${path.join(dir, "mixed.yaml")}: appliesTo.default: the default policy applies to everyone; it cannot also list groups or users`,
        `${path.join(dir, "false.yaml")}: appliesTo.default: only \`default: true\` has a meaning; leave it out in group policies`,
      ]),
    );
  });

  it("reports YAML syntax errors with line and column, empty files and second documents", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "broken.yaml": "name: broken\nlimits: [1\n",
      "dup.yaml": "name: a\nname: b\n",
      "empty.yml": "# nothing yet\n",
      "two.yaml": "name: x\n---\nname: y\n",
      "list.yaml": "- name: x\n",
    });
    const { problems } = await loadPolicyDir(dir);
    const at = (f: string) => path.join(dir, f);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${at("broken.yaml")}: line 3, column 1: YAML syntax: `)),
        `${at("dup.yaml")}: line 2, column 1: YAML syntax: Map keys must be unique`,
        `${at("empty.yml")}: the file is empty`,
        `${at("two.yaml")}: line 2, column 1: one policy per file (found a second YAML document)`,
        `${at("list.yaml")}: expected a mapping, got a list`,
      ]),
    );
  });

  it("loads only *.yaml and *.yml files directly in the folder, following symlinks", async () => {
    const dir = await policyDir({ "notes.txt": "not yaml", ".hidden.yaml": "broken: [" });
    await mkdir(path.join(dir, "examples"));
    await writeFile(path.join(dir, "examples/broken.yaml"), "this: [is not loaded");
    await mkdir(path.join(dir, "dir.yaml"));
    // Kubernetes ConfigMap layout: default.yaml -> ..data/default.yaml
    await mkdir(path.join(dir, "..2024_01_01"));
    await writeFile(path.join(dir, "..2024_01_01/default.yaml"), DEFAULT_POLICY);
    await symlink("..2024_01_01", path.join(dir, "..data"));
    await symlink("..data/default.yaml", path.join(dir, "default.yaml"));
    const { set, problems, files } = await loadPolicyDir(dir);
    expect(problems).toEqual([]);
    expect(files.map((f) => path.basename(f.file))).toEqual(["default.yaml"]);
    expect(set?.defaultPolicy.name).toBe("default");
  });

  it("reports a missing directory", async () => {
    const dir = path.join(await policyDir({}), "nope");
    expect((await loadPolicyDir(dir)).problems).toEqual([`${dir}: cannot read the policy directory: it does not exist`]);
  });

  it("parses quantities: never/0 idle timeout, millicores, decimal and binary sizes", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "a.yaml": "name: a\nappliesTo: { users: [u] }\nlimits: { idleTimeout: never, cpu: 500m, memory: 512Mi }\n",
      "b.yaml": "name: b\nappliesTo: { users: [u] }\nlimits: { idleTimeout: 0, cpu: '1.5', storage: 1TB }\n",
    });
    const { set, problems } = await loadPolicyDir(dir);
    expect(problems).toEqual([]);
    const [a, b] = set!.overrides;
    expect(a!.limits).toEqual({ idleTimeout: null, cpu: 0.5, memory: 512 * 1024 ** 2 });
    expect(b!.limits).toEqual({ idleTimeout: null, cpu: 1.5, storage: 1e12 });
  });
});

describe("policyCheckReport", () => {
  it("says ok and lists the policies", async () => {
    const dir = await policyDir({
      "default.yaml": DEFAULT_POLICY,
      "research.yaml": "name: research\nappliesTo: { groups: [research] }\npriority: 10\nlimits: { cpu: 4 }\n",
    });
    const { ok, text } = await policyCheckReport(dir);
    expect(ok).toBe(true);
    expect(text).toContain(`ok       ${path.join(dir, "default.yaml")} (default)`);
    expect(text).toContain("2 policies valid:");
    expect(text).toContain("  research: groups research, priority 10");
  });

  it("lists every problem under its file", async () => {
    const dir = await policyDir({ "research.yaml": "name: research\nappliesTo: { groups: [r] }\nlimits: { memory: 8XB }\n" });
    const { ok, text } = await policyCheckReport(dir);
    expect(ok).toBe(false);
    expect(text).toContain(`INVALID  ${path.join(dir, "research.yaml")} (research)\n           limits.memory: "8XB" is not a size`);
    expect(text).toContain(`${dir}: no default policy`);
    expect(text).toContain("2 problems:");
  });
});
