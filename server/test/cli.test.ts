/**
 * The `ganymede` command as an administrator uses it: config problems listed all at once with a non-zero exit,
 * policy check and explain, local users and tokens, database migration.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../src/store/database.js";
import { repoRoot } from "./support/paths.js";

const run = promisify(execFile);

async function ganymede(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", path.join(repoRoot, "server/src/cli.ts"), ...args], {
      cwd: path.join(repoRoot, "server"),
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function workspace() {
  const dir = mkdtempSync(path.join(tmpdir(), "ganymede-cli-"));
  const config = path.join(dir, "ganymede.yaml");
  writeFileSync(config, YAML.stringify({ hub: { dataDir: path.join(dir, "data") }, policies: { dir: path.join(repoRoot, "policies") } }));
  return { dir, config };
}

describe("configuration", () => {
  it("lists every problem and exits non-zero", async () => {
    const { dir } = workspace();
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, YAML.stringify({ hub: { bind: "not a url", colour: "blue" }, spawner: { startTimeout: "soon" } }));
    const result = await ganymede(["--config", bad, "db", "migrate"], { GANYMEDE_CULLER__INTERVAL: "often" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("invalid configuration");
    expect(result.stderr).toMatch(/hub\.bind: Invalid URL/);
    expect(result.stderr).toMatch(/hub: Unrecognized key: "colour"/);
    expect(result.stderr).toMatch(/spawner\.startTimeout: "soon" is not a duration/);
    expect(result.stderr).toMatch(/culler\.interval: "often" is not a duration/);
  });
});

describe("config check (the Helm chart's pre-install and pre-upgrade hook)", () => {
  it("passes a configuration the hub would start with, and refuses a cross-field rule or a broken policy set", async () => {
    const { dir, config } = workspace();
    const ok = await ganymede(["--config", config, "config", "check"]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^configuration: valid\n[\s\S]*polic(y|ies) valid:/);

    const ldapWithoutDirectory = path.join(dir, "ldap.yaml");
    writeFileSync(ldapWithoutDirectory, YAML.stringify({ auth: { backend: "ldap" }, policies: { dir: path.join(repoRoot, "policies") } }));
    const refused = await ganymede(["--config", ldapWithoutDirectory, "config", "check"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/auth\.ldap: backend: ldap needs an `ldap` section/);

    const policies = path.join(dir, "policies");
    mkdirSync(policies);
    writeFileSync(path.join(policies, "default.yaml"), "name: default\nappliesTo: { default: true }\nlimits: { memory: 8XB }\n");
    writeFileSync(config, YAML.stringify({ hub: { dataDir: path.join(dir, "data") }, policies: { dir: policies } }));
    const broken = await ganymede(["--config", config, "config", "check"]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/limits\.memory: "8XB" is not a size[\s\S]*a starting hub refuses to start/);
  });
});

describe("policies", () => {
  it("checks the shipped policies and refuses a broken directory with file and field", async () => {
    const ok = await ganymede(["policy", "check", path.join(repoRoot, "policies")]);
    expect(ok.code).toBe(0);
    const { dir } = workspace();
    writeFileSync(path.join(dir, "default.yaml"), "name: default\nappliesTo: { default: true }\nlimits: { memory: 8XB }\n");
    const broken = await ganymede(["policy", "check", dir]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/INVALID\s+\S*default\.yaml[\s\S]*limits\.memory: "8XB" is not a size/);
  });

  it("explains a user's limits and where each comes from", async () => {
    const { config } = workspace();
    const result = await ganymede(["--config", config, "policy", "explain", "--user", "alice", "--groups", "staff"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/namedServers.*5.*default/);
    expect(result.stdout).toMatch(/idleTimeout.*2h.*default/);
    expect(result.stdout).toMatch(/memory.*2 GB.*default/);
  });
});

describe("policy diff", () => {
  it("previews a proposed policy folder for the database's users and for a hypothetical one, and refuses a broken folder", async () => {
    const { dir, config } = workspace();
    for (const [name, groups] of [["alice", "research"], ["bob", ""], ["carol", "research"]] as const) {
      const added = await ganymede(["--config", config, "user", "add", name, "--groups", groups]);
      expect(added.code, added.stderr).toBe(0);
    }
    const proposed = path.join(dir, "proposed");
    mkdirSync(proposed);
    writeFileSync(path.join(proposed, "default.yaml"), readFileSync(path.join(repoRoot, "policies/default.yaml"), "utf8"));
    writeFileSync(path.join(proposed, "research.yaml"), "name: research\nappliesTo: { groups: [research] }\nlimits: { memory: 8GiB }\n");

    const diff = await ganymede(["--config", config, "policy", "diff", proposed]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/^2 users: alice, carol\n  memory: 2 GB → 8 GiB  \[default \(default\.yaml\) → research \(research\.yaml\)\]/);
    expect(diff.stdout).toContain("2 of 3 users would see a change; 1 would not.");

    const someone = await ganymede(["--config", config, "policy", "diff", proposed, "--user", "newcomer", "--groups", "research"]);
    expect(someone.stdout).toMatch(/^1 user: newcomer\n  memory: 2 GB → 8 GiB/);

    writeFileSync(path.join(proposed, "research.yaml"), "name: research\nappliesTo: { groups: [research] }\nlimits: { memory: lots }\n");
    const broken = await ganymede(["--config", config, "policy", "diff", proposed]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/INVALID\s+\S*research\.yaml[\s\S]*limits\.memory: "lots" is not a size/);
  });
});

describe("users, tokens and the database", () => {
  it("migrates, adds a user, lists users and issues a token, and records them in the audit trail", async () => {
    const { dir, config } = workspace();
    const migrated = await ganymede(["--config", config, "db", "migrate"]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/applied: .*init/);
    expect((await ganymede(["--config", config, "db", "migrate"])).stdout).toMatch(/up to date/);

    const added = await ganymede(["--config", config, "user", "add", "alice", "--admin", "--groups", "research,staff"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/created alice; password: \S{12,}/);
    const list = await ganymede(["--config", config, "user", "list"]);
    expect(list.stdout).toContain("alice (admin) groups=research,staff");

    const token = await ganymede(["--config", config, "token", "create", "--user", "alice"]);
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const unknown = await ganymede(["--config", config, "token", "create", "--user", "nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no such user: nobody");

    // The operator's actions are in the audit trail, under their Unix name, without the password or the token.
    const database = await openDatabase(`file:${path.join(dir, "data", "ganymede.sqlite")}`);
    try {
      const events = await database.prisma.auditEvent.findMany({ orderBy: { id: "asc" } });
      expect(events.map((e) => [e.actor, e.actorKind, e.action, e.user])).toEqual([
        [userInfo().username, "operator", "user.create", "alice"],
        [userInfo().username, "operator", "token.create", "alice"],
      ]);
      const text = JSON.stringify(events);
      expect(text).not.toContain(added.stdout.match(/password: (\S+)/)![1]);
      expect(text).not.toContain(token.stdout.trim());
    } finally {
      await database.close();
    }
  });
});
