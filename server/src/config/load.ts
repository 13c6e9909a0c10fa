/**
 * Loads the configuration: the YAML file (optional) merged with GANYMEDE_* environment overrides, validated once.
 * Environment keys map onto the YAML tree with double underscores between levels and snake case for names:
 * GANYMEDE_SPAWNER__START_TIMEOUT=30s sets spawner.startTimeout; values are read as YAML scalars, so
 * GANYMEDE_SPAWNER__LOCAL__COMMAND='["jupyter","server"]' works. Every problem is collected and reported together.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { configSchema, type HubConfig } from "./schema.js";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const ENV_PREFIX = "GANYMEDE_";

function camel(snake: string): string {
  return snake.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Applies GANYMEDE_A__B_C=value as { a: { bC: value } } onto `tree`. Only names with a section (`__`) are settings:
 * every setting lives in a section, and the project's scripts and tests use other GANYMEDE_* variables of their own
 * (GANYMEDE_CONFIG, GANYMEDE_BINDER_DIR, GANYMEDE_K8S_DIR, GANYMEDE_TEST_LOG…), which are not the hub's to read.
 */
export function applyEnvOverrides(tree: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || !key.includes("__") || raw === undefined) continue;
    const keys = key.slice(ENV_PREFIX.length).split("__").map(camel);
    let node = tree;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      node = (node[k] = typeof next === "object" && next !== null ? next : {}) as Record<string, unknown>;
    }
    node[keys.at(-1)!] = YAML.parse(raw) ?? raw;
  }
  return tree;
}

/**
 * Reads and validates the configuration. `file` defaults to $GANYMEDE_CONFIG or ./ganymede.yaml when it exists.
 * Relative paths in the file are resolved against the file's directory (or the working directory without a file).
 */
export async function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Promise<HubConfig> {
  const env = options.env ?? process.env;
  const explicit = options.file ?? env.GANYMEDE_CONFIG;
  const file = explicit ?? "ganymede.yaml";
  let tree: Record<string, unknown> = {};
  const problems: string[] = [];
  try {
    const parsed: unknown = YAML.parse(await readFile(file, "utf8"));
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed)) problems.push(`${file}: the top level must be a mapping`);
      else tree = parsed as Record<string, unknown>;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" || explicit) problems.push(`${file}: ${code === "ENOENT" ? "file not found" : (err as Error).message}`);
  }
  applyEnvOverrides(tree, env);
  const result = configSchema.safeParse(tree);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return resolvePaths(result.data, path.dirname(path.resolve(file)));
}

function resolvePaths(config: HubConfig, base: string): HubConfig {
  const dataDir = path.resolve(base, config.hub.dataDir);
  const dbUrl = config.database.url ?? `file:${path.join(dataDir, "ganymede.sqlite")}`;
  const resolvedDb = dbUrl.startsWith("file:") ? `file:${path.resolve(base, dbUrl.slice(5))}` : dbUrl;
  return {
    ...config,
    hub: { ...config.hub, dataDir, secretKeyFile: config.hub.secretKeyFile && path.resolve(base, config.hub.secretKeyFile) },
    database: { ...config.database, url: resolvedDb },
    policies: { ...config.policies, dir: path.resolve(base, config.policies.dir) },
  };
}
