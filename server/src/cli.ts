#!/usr/bin/env node
/**
 * The `ganymede` command: start the hub, manage local users and tokens, check and explain policies, migrate the
 * database. Every command reads the same configuration (ganymede.yaml / $GANYMEDE_CONFIG + GANYMEDE_* variables).
 */
import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { Command } from "commander";
import { AuditTrail, type AuditInput } from "./audit/trail.js";
import { ConfigError, loadConfig } from "./config/load.js";
import type { HubConfig } from "./config/schema.js";
import { issueToken } from "./auth/tokens.js";
import { startHub } from "./hub/start.js";
import { HubError } from "./errors.js";
import { PolicyEngine, PolicyLoadError, diffPolicySets, loadPolicyDir, policyCheckReport, policyDiffText, policyExplainText } from "./policy/index.js";
import { createLogger } from "./lib/logger.js";
import { openDatabase, type Db } from "./store/database.js";
import { applyMigrations } from "./store/migrate.js";
import { Users } from "./users/service.js";
import { GANYMEDE_VERSION } from "./version.js";

const program = new Command("ganymede")
  .description("Ganymede: a multi-user notebook hub")
  .version(GANYMEDE_VERSION)
  .option("-c, --config <file>", "configuration file (default: $GANYMEDE_CONFIG or ./ganymede.yaml)");

const config = () => loadConfig({ file: program.opts<{ config?: string }>().config });

/**
 * What an operator does with the CLI on the hub's machine goes into the audit trail like what people do through the
 * API: the actor is the machine's user who ran the command.
 */
async function audited(db: Db, event: Pick<AuditInput, "action" | "user" | "detail">): Promise<void> {
  await new AuditTrail(db, createLogger("silent")).record({ actor: operatorName(), actorKind: "operator", outcome: "ok", ...event });
}

/** The Unix user running the command; a uid without an entry in the passwd database (a container's) by its number. */
function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "unknown"}`;
  }
}

/** Opens the migrated database for a one-off command and closes it afterwards. */
async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>["prisma"], cfg: HubConfig) => Promise<T>): Promise<T> {
  const cfg = await config();
  await applyMigrations(cfg.database.url!);
  const database = await openDatabase(cfg.database.url!);
  try {
    return await fn(database.prisma, cfg);
  } finally {
    await database.close();
  }
}

program
  .command("start")
  .description("start the hub")
  .action(async () => {
    const hub = await startHub(await config());
    const banner = [`Ganymede is running at ${hub.url}/hub/`];
    if (hub.adminPasswordFile) {
      banner.push(`First run: sign in as "admin" with the password in ${hub.adminPasswordFile}`);
      banner.push(`(or create an API token: node ${process.argv[1]} token create --user admin)`);
    }
    // Weak isolation is said loudly, outside the JSON log, where whoever started the hub reads it.
    for (const warning of hub.ctx.servers.isolation().warnings) banner.push(`WARNING (server isolation): ${warning}`);
    process.stderr.write(banner.join("\n") + "\n");
    // SIGTERM (Kubernetes, systemd, a rolling restart) drains: requests and starts in flight finish first.
    const shutdown = (drain: boolean) => () => {
      void hub.close({ drain }).then(() => process.exit(0));
    };
    process.once("SIGINT", shutdown(false));
    process.once("SIGTERM", shutdown(true));
    process.on("SIGHUP", () => hub.ctx.policy.sighup());
  });

program
  .command("config")
  .description("check the configuration")
  .command("check")
  .description("would the hub start with this configuration and its policies? (the Helm chart runs this before installs and upgrades)")
  .action(async () => {
    const cfg = await config(); // refuses a configuration the hub would refuse, with every rule it breaks
    const report = await policyCheckReport(cfg.policies.dir);
    process.stdout.write(`configuration: valid\npolicies (${cfg.policies.dir}):\n${report.text}`);
    process.exitCode = report.ok ? 0 : 1;
  });

const user = program.command("user").description("manage local users");
user
  .command("add <name>")
  .description("create a local user; prints a generated password unless --password-stdin is given")
  .option("--admin", "make the user an administrator")
  .option("--groups <groups>", "comma-separated groups", "")
  .option("--password-stdin", "read the password from standard input")
  .action(async (name: string, opts: { admin?: boolean; groups: string; passwordStdin?: boolean }) => {
    const password = opts.passwordStdin ? (await readStdin()).trim() : randomBytes(12).toString("base64url");
    await withDatabase(async (db) => {
      const groups = opts.groups.split(",").map((g) => g.trim()).filter(Boolean);
      await new Users(db).create(name, { admin: opts.admin ?? false, password, groups });
      await audited(db, { action: "user.create", user: name, detail: { admin: opts.admin ?? false, groups: opts.groups.split(",").filter(Boolean), via: "cli" } });
    });
    process.stdout.write(opts.passwordStdin ? `created ${name}\n` : `created ${name}; password: ${password}\n`);
  });
user
  .command("list")
  .description("list users")
  .action(async () => {
    await withDatabase(async (db) => {
      const users = await db.user.findMany({ orderBy: { name: "asc" }, include: { groups: { include: { group: true } } } });
      for (const u of users) {
        const groups = u.groups.map((g) => g.group.name).join(",");
        process.stdout.write(`${u.name}${u.admin ? " (admin)" : ""}${groups ? ` groups=${groups}` : ""}\n`);
      }
    });
  });

program
  .command("token")
  .description("manage API tokens")
  .command("create")
  .description("issue an API token for a user and print it (shown once; stored hashed)")
  .requiredOption("--user <name>", "the token's owner")
  .option("--note <text>", "what the token is for", "created with ganymede token create")
  .option("--expires-in <seconds>", "lifetime in seconds (default: never expires)")
  .action(async (opts: { user: string; note: string; expiresIn?: string }) => {
    const token = await withDatabase(async (db) => {
      const owner = await db.user.findUnique({ where: { name: opts.user } });
      if (!owner) throw new Error(`no such user: ${opts.user}`);
      const issued = await issueToken(db, owner.id, { note: opts.note, expiresInSeconds: opts.expiresIn ? Number(opts.expiresIn) : null });
      await audited(db, { action: "token.create", user: opts.user, detail: { note: opts.note, via: "cli" } });
      return issued;
    });
    process.stdout.write(`${token.token}\n`);
  });

const policy = program.command("policy").description("check and explain policies");
policy
  .command("check [dir]")
  .description("validate the policy files (default: the configured policies directory)")
  .action(async (dir?: string) => {
    const report = await policyCheckReport(dir ?? (await config()).policies.dir);
    process.stdout.write(report.text + "\n");
    process.exitCode = report.ok ? 0 : 1;
  });
policy
  .command("explain")
  .description("print a user's effective limits and the policy each comes from")
  .requiredOption("--user <name>", "the user")
  .option("--groups <groups>", "comma-separated groups (default: the user's groups in the database); with them, the user need not exist")
  .action(async (opts: { user: string; groups?: string }) => {
    const cfg = await config();
    const engine = await PolicyEngine.open(cfg.policies.dir);
    let groups: string[] | undefined = opts.groups?.split(",").map((g) => g.trim()).filter(Boolean);
    if (!groups) {
      groups = await withDatabase(async (db) => {
        const rows = await db.userGroup.findMany({ where: { user: { name: opts.user } }, include: { group: true } });
        return rows.map((r) => r.group.name);
      });
    }
    process.stdout.write(policyExplainText(engine.set, { name: opts.user, groups: groups ?? [] }) + "\n");
  });

policy
  .command("diff <dir>")
  .description("which users' limits and repository rules the policy folder <dir> would change, against the policies in force")
  .option("--user <name>", "only this user")
  .option("--groups <groups>", "comma-separated groups: compare for a user with these groups (who need not exist) instead of the database's users")
  .action(async (dir: string, opts: { user?: string; groups?: string }) => {
    const cfg = await config();
    const [current, proposed] = await Promise.all([loadPolicyDir(cfg.policies.dir), loadPolicyDir(dir)]);
    if (!current.set) throw new PolicyLoadError(cfg.policies.dir, current.problems);
    if (!proposed.set) {
      process.stdout.write((await policyCheckReport(dir)).text);
      process.exitCode = 1;
      return;
    }
    const groupsOption = opts.groups?.split(",").map((g) => g.trim()).filter(Boolean);
    const users =
      groupsOption !== undefined
        ? [{ name: opts.user ?? "(a user)", groups: groupsOption }]
        : await withDatabase(async (db) => {
            const rows = await db.user.findMany({
              where: opts.user ? { name: opts.user } : {},
              orderBy: { name: "asc" },
              include: { groups: { include: { group: true } } },
            });
            return rows.map((u) => ({ name: u.name, groups: u.groups.map((g) => g.group.name) }));
          });
    process.stdout.write(policyDiffText(diffPolicySets(current.set, proposed.set, users)));
  });

program
  .command("db")
  .description("database maintenance")
  .command("migrate")
  .description("apply pending migrations")
  .action(async () => {
    const cfg = await config();
    const result = await applyMigrations(cfg.database.url!, (msg) => process.stderr.write(msg + "\n"));
    process.stdout.write(result.applied.length ? `applied: ${result.applied.join(", ")}\n` : "database is up to date\n");
  });

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyLoadError || err instanceof HubError) {
    process.stderr.write(`ganymede: ${err.message}\n`);
  } else {
    process.stderr.write(`ganymede: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});
