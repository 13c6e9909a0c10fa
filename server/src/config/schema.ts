/**
 * The hub's configuration: one YAML file plus GANYMEDE_* environment overrides, validated here once at startup.
 * Every field is documented; `describe()` texts double as `ganymede config --help` material.
 */
import { z } from "zod";
import { durationSchema } from "../lib/units.js";

const hub = z
  .object({
    bind: z.url().default("http://127.0.0.1:8000").describe("Where the hub listens (scheme://host:port)."),
    publicUrl: z
      .url()
      .optional()
      .describe("The URL people use to reach the hub, when it differs from `bind` (behind TLS or an ingress)."),
    dataDir: z.string().default("./.data").describe("Directory for the SQLite file, server storage and the secret key."),
    cookieSecure: z
      .enum(["auto", "always", "never"])
      .default("auto")
      .describe("Mark cookies Secure: `auto` does so when publicUrl/bind is https."),
    sessionMaxAge: durationSchema.prefault("14d").describe("How long a browser session lasts without sign-in."),
    trustProxy: z.boolean().default(false).describe("Trust X-Forwarded-* headers (set when behind an ingress)."),
    publicMetrics: z
      .boolean()
      .default(false)
      .describe("Serve /hub/metrics without authentication (otherwise an admin token or session is required)."),
  })
  .strict()
  .prefault({});

const database = z
  .object({
    url: z
      .string()
      .optional()
      .describe("`file:<path>` for SQLite (default: <dataDir>/ganymede.sqlite) or `postgresql://…` for PostgreSQL."),
  })
  .strict()
  .prefault({});

const policies = z
  .object({
    dir: z.string().default("./policies").describe("Directory of policy YAML files."),
    reloadInterval: durationSchema
      .prefault("5s")
      .describe("How often the policy directory is checked for changes (0 disables; SIGHUP reloads too)."),
  })
  .strict()
  .prefault({});

const localSpawner = z
  .object({
    command: z
      .array(z.string())
      .min(1)
      .default(["jupyter", "lab"])
      .describe("The Jupyter server command (argv); the hub appends its own --ServerApp options."),
    args: z.array(z.string()).default([]).describe("Extra arguments appended after the hub's options."),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment for every server."),
    storage: z
      .enum(["auto", "loop", "directory"])
      .default("auto")
      .describe("`loop`: a size-limited filesystem image per server (root only); `directory`: plain directory with measured usage; `auto`: loop when possible."),
    cgroups: z
      .enum(["auto", "off"])
      .default("auto")
      .describe("Enforce CPU and memory with cgroups when the hierarchy is writable (`off` to disable)."),
    cgroupParent: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]+$/)
      .default("ganymede")
      .describe("The cgroup under which each server gets its own group; give each hub on a machine its own."),
  })
  .strict()
  .prefault({});

const spawner = z
  .object({
    backend: z.enum(["local"]).default("local").describe("Which backend runs servers."),
    startTimeout: durationSchema.prefault("60s").describe("How long a server may take to become ready."),
    stopGrace: durationSchema.prefault("5s").describe("Time between SIGTERM and SIGKILL when stopping."),
    slowSpawnTimeout: durationSchema
      .prefault("10s")
      .describe("How long POST …/server waits before answering 202 (pending) instead of 201 (started)."),
    local: localSpawner,
  })
  .strict()
  .prefault({});

const culler = z
  .object({
    enabled: z.boolean().default(true).describe("Stop servers idle longer than their policy's idle timeout."),
    interval: durationSchema.prefault("60s").describe("How often the culler checks."),
  })
  .strict()
  .prefault({});

const auth = z
  .object({
    backend: z.enum(["local"]).default("local").describe("Who checks passwords: `local` accounts in the hub's database."),
    allowedGroups: z
      .array(z.string())
      .default([])
      .describe("When set, only members of one of these groups may sign in (others are refused with the list)."),
    adminGroups: z.array(z.string()).default([]).describe("Members of these groups are administrators."),
  })
  .strict()
  .prefault({});

const logging = z
  .object({
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    hub,
    auth,
    database,
    policies,
    spawner,
    culler,
    logging,
  })
  .strict();

export type HubConfig = z.output<typeof configSchema>;
export type HubConfigInput = z.input<typeof configSchema>;
