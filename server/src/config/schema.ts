/**
 * The hub's configuration: one YAML file plus GANYMEDE_* environment overrides, validated here once at startup.
 * Every field is documented; `describe()` texts double as `ganymede config --help` material.
 */
import { z } from "zod";
import { durationSchema } from "../lib/units.js";
import { oidcProvidersSchema } from "../auth/oidc-config.js";
import { SPAWNER_BACKEND_NAMES, SPAWNER_BACKENDS, spawnerSections, type SpawnerBackend } from "../spawners/registry.js";
import { builderSchema } from "./builder-schema.js";

const hub = z
  .object({
    bind: z.url().default("http://127.0.0.1:8000").describe("Where the hub listens (scheme://host:port)."),
    publicUrl: z
      .url()
      .optional()
      .describe("The URL people use to reach the hub, when it differs from `bind` (behind TLS or an ingress)."),
    dataDir: z.string().default("./.data").describe("Directory for the SQLite file, server storage and the secret key."),
    secretKeyFile: z
      .string()
      .min(1)
      .optional()
      .describe("The hub's secret key (64 hex characters), made on first start when missing. Default: <dataDir>/secret-key. Hubs sharing a database must share it."),
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

const spawner = z
  .object({
    backend: z
      .enum(SPAWNER_BACKEND_NAMES)
      .default("local")
      .describe("Which backend runs servers: `local` processes, `docker` containers or `kubernetes` pods (see spawner.<backend>)."),
    startTimeout: durationSchema.prefault("60s").describe("How long a server may take to become ready."),
    stopGrace: durationSchema.prefault("5s").describe("Time between SIGTERM and SIGKILL when stopping."),
    concurrentStops: z
      .number()
      .int()
      .min(1)
      .default(64)
      .describe("How many servers may be in the expensive part of stopping at once (signals, process checks, unmounts); more wait in a queue whose position their model shows."),
    pidsLimit: z
      .number()
      .int()
      .min(16)
      .default(1024)
      .describe("Most processes and threads one server may have at once (the cgroup pids controller; Docker's PidsLimit): a fork bomb stops there without hurting anyone else."),
    slowSpawnTimeout: durationSchema
      .prefault("10s")
      .describe("How long POST …/server waits before answering 202 (pending) instead of 201 (started)."),
    ...spawnerSections,
  })
  .strict()
  .superRefine((value, ctx) => {
    const chosen: SpawnerBackend<z.ZodType> = SPAWNER_BACKENDS[value.backend];
    for (const [field, message] of chosen.requirements?.(value[value.backend]) ?? []) {
      ctx.addIssue({ code: "custom", path: [value.backend, field], message });
    }
  })
  .prefault({});

const culler = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Stop servers idle longer than their policy's idle timeout, or running past its maximum lifetime."),
    interval: durationSchema.prefault("60s").describe("How often the culler checks."),
    warnBefore: durationSchema
      .prefault("10m")
      .describe("How long before an automatic stop (maximum lifetime or idle timeout) the dashboard warns the server's owner."),
  })
  .strict()
  .prefault({});

const cluster = z
  .object({
    heartbeat: durationSchema
      .prefault("2s")
      .describe("How often each hub replica renews its heartbeat and its leases, and checks for work to take over."),
    leaseTime: durationSchema
      .prefault("10s")
      .describe("A replica silent this long is dead: its starts and stops in flight and its background work are taken over."),
    resyncInterval: durationSchema
      .prefault("30s")
      .describe("How often a replica reloads every route from the database besides the change notifications (a safety net)."),
    drainTimeout: durationSchema
      .prefault("30s")
      .describe("On SIGTERM: how long the hub keeps finishing starts in flight (no longer announcing itself ready) before it exits."),
  })
  .strict()
  .prefault({})
  .describe("Several hub processes on one PostgreSQL database: each answers any request; background work has one owner.");

/** An LDAP server URL: scheme, host and optional port, nothing else (no base DN in the URL). */
const ldapUrl = z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/, { error: "must be ldap://host[:port] or ldaps://host[:port]" });

const ldap = z
  .object({
    url: z
      .union([ldapUrl, z.array(ldapUrl).min(1)])
      .describe("The directory: `ldaps://dc1.example.org` (or a list, tried in order). StartTLS is not supported: use ldaps://."),
    bindDn: z
      .string()
      .min(1)
      .optional()
      .describe("The service account that searches for people (e.g. `cn=hub,ou=services,dc=example,dc=org`, or a UPN on AD)."),
    bindPasswordFile: z
      .string()
      .min(1)
      .optional()
      .describe("A file holding the service account's password (preferred over bindPassword; trailing newline ignored)."),
    bindPassword: z
      .string()
      .min(1)
      .optional()
      .meta({ secret: true })
      .describe("Secret. The service account's password, when not in bindPasswordFile."),
    bindDnTemplate: z
      .string()
      .includes("{{username}}", { error: "must contain {{username}}" })
      .optional()
      .describe("Direct bind instead of a service account: bind as this DN or UPN, e.g. `uid={{username}},ou=people,dc=example,dc=org` or `{{username}}@ad.example.org`; the person's own entry is then found with searchFilter."),
    searchBase: z.string().min(1).describe("Where people are searched, e.g. `ou=people,dc=example,dc=org`."),
    searchFilter: z
      .string()
      .includes("{{username}}", { error: "must contain {{username}}" })
      .default("(uid={{username}})")
      .describe("Finds a person's entry; `{{username}}` is the normalised, escaped name. AD: `(sAMAccountName={{username}})`."),
    usernameAttribute: z
      .string()
      .min(1)
      .optional()
      .describe("Take the hub username from this attribute of the entry (e.g. `uid`, `sAMAccountName`; lowercased) instead of the typed name."),
    stripDomain: z
      .boolean()
      .default(true)
      .describe("Accept `alice@example.org` (UPN) and `EXAMPLE\\alice` as `alice`: the domain part is dropped before the search."),
    groupsFrom: z
      .enum(["memberOf", "search", "none"])
      .default("memberOf")
      .describe("Where groups come from: the entry's memberOf attribute, a group search, or nowhere."),
    memberOfAttribute: z
      .string()
      .min(1)
      .default("memberOf")
      .describe("The attribute listing a person's group DNs (groupsFrom: memberOf); the group name is the first RDN's value (its CN)."),
    groupSearchBase: z.string().min(1).optional().describe("Where groups are searched (groupsFrom: search)."),
    groupSearchFilter: z
      .string()
      .optional()
      .describe("Finds a person's groups (groupsFrom: search): `{{dn}}` is the person's DN, `{{username}}` the hub username, both escaped. Default `(member={{dn}})`, or AD's nested-group rule when nestedGroups is set. POSIX groups: `(memberUid={{username}})`."),
    groupNameAttribute: z.string().min(1).default("cn").describe("The group attribute that names the hub group (groupsFrom: search)."),
    nestedGroups: z
      .boolean()
      .default(false)
      .describe("Active Directory only: include groups reached through nested groups (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941) — with groupsFrom: search and no groupSearchFilter."),
    tlsCaFile: z.string().min(1).optional().describe("PEM file of the CA(s) to trust for ldaps:// (default: the system's CAs)."),
    connectTimeout: durationSchema.prefault("5s").describe("How long to wait for a connection before the directory counts as unreachable."),
    timeout: durationSchema.prefault("10s").describe("How long one LDAP operation (bind, search) may take."),
  })
  .strict()
  .superRefine((value, ctx) => {
    const serviceAccount = value.bindDn !== undefined;
    if (serviceAccount === (value.bindDnTemplate !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["bindDn"], message: "set either bindDn (a service account) or bindDnTemplate (direct bind), not both nor neither" });
    }
    if (serviceAccount && (value.bindPassword === undefined) === (value.bindPasswordFile === undefined)) {
      ctx.addIssue({ code: "custom", path: ["bindPasswordFile"], message: "bindDn needs exactly one of bindPasswordFile or bindPassword" });
    }
    if (value.groupsFrom === "search" && !value.groupSearchBase) {
      ctx.addIssue({ code: "custom", path: ["groupSearchBase"], message: "groupsFrom: search needs groupSearchBase" });
    }
  });

export type LdapConfig = z.output<typeof ldap>;

const auth = z
  .object({
    backend: z
      .enum(["local", "ldap"])
      .default("local")
      .describe("Who checks passwords: `local` accounts in the hub's database, or `ldap` (OpenLDAP, Active Directory)."),
    ldap: ldap.optional().describe("The directory, when backend is `ldap`."),
    allowedGroups: z
      .array(z.string())
      .default([])
      .describe("When set, only members of one of these groups may sign in (others are refused with the list)."),
    adminGroups: z.array(z.string()).default([]).describe("Members of these groups are administrators."),
    signInLimits: z
      .object({
        perUser: z.number().int().positive().default(5).describe("Failed sign-ins allowed per username within the window."),
        perAddress: z.number().int().positive().default(20).describe("Failed sign-ins allowed per client address within the window."),
        window: durationSchema.prefault("15m").describe("The window failed sign-ins are counted over."),
      })
      .strict()
      .prefault({})
      .describe("Throttling of failed sign-ins (answered with 429 and Retry-After past a limit)."),
    oidc: oidcProvidersSchema,
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.backend === "ldap" && !value.ldap) {
      ctx.addIssue({ code: "custom", path: ["ldap"], message: "backend: ldap needs an `ldap` section (url, searchBase, bindDn or bindDnTemplate)" });
    }
  })
  .prefault({});

const audit = z
  .object({
    retention: durationSchema.prefault("365d").describe("How long audit events are kept (GET /hub/api/audit); older ones are deleted hourly."),
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
    cluster,
    audit,
    logging,
    builder: builderSchema,
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.builder.enabled && !SPAWNER_BACKENDS[value.spawner.backend].runsImages) {
      const able = SPAWNER_BACKEND_NAMES.filter((name) => SPAWNER_BACKENDS[name].runsImages).join(" or ");
      ctx.addIssue({
        code: "custom",
        path: ["builder", "enabled"],
        message: `Binder launches run the images they build: set spawner.backend to ${able} (${value.spawner.backend} servers cannot run images)`,
      });
    }
  });

export type HubConfig = z.output<typeof configSchema>;
export type HubConfigInput = z.input<typeof configSchema>;
