/**
 * The shape of one policy file (policies/*.yaml), validated with zod when the directory is loaded.
 * Every object is strict: a misspelt key (`namedserver: 10`) is an error, not a silently ignored line, because a
 * policy that quietly does nothing is worse than a hub that says which line is wrong.
 * Quantities are parsed here, once, into the units the rest of the hub uses: milliseconds, bytes and CPU cores.
 */
import { z } from "zod";
import { bytesSchema, parseDuration } from "../lib/units.js";
import { repositoryPatternProblem } from "./repository-pattern.js";

/** The limits a policy can set, in the order they are explained. */
export const LIMIT_NAMES = [
  "namedServers",
  "serverNameMaxLength",
  "idleTimeout",
  "storage",
  "cpu",
  "memory",
  "concurrentBuilds",
  "buildTimeout",
  "maxLifetime",
  "lifetimeExtension",
  "runningServers",
  "totalCpu",
  "totalMemory",
  "totalStorage",
  "shares",
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/**
 * Limits added after the first policy files were written. The default policy may leave these out, so that a hub
 * upgrade never makes a working policy folder invalid; left out, they take this value, which changes nothing for
 * anyone, and `policy explain` names its source as the hub's built-in value.
 */
export const BUILT_IN_LIMITS: Partial<Record<LimitName, number | null>> = {
  maxLifetime: null,
  lifetimeExtension: 0,
  runningServers: null,
  totalCpu: null,
  totalMemory: null,
  totalStorage: null,
  shares: 0,
};

/** Kubernetes caps DNS labels at 63 characters; a server name must fit in one (pod, PVC, hostname). */
export const SERVER_NAME_HARD_MAX = 63;

/** "1", 1.5, "500m" (millicores, as in Kubernetes) → cores. Undefined when the value is not a positive amount. */
export function parseCpu(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  const text = value.trim();
  const milli = /^(\d+)m$/.exec(text);
  const cores = milli ? Number(milli[1]) / 1000 : /^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
  return cores !== undefined && cores > 0 ? cores : undefined;
}

const cpuSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const cores = parseCpu(value);
  if (cores === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a CPU amount (examples: 1, 0.5, 500m)` });
    return z.NEVER;
  }
  return cores;
});

/** A duration, or "never" / 0 for no limit (idle timeout, maximum lifetime). Output: milliseconds, or null for none. */
const durationOrNeverSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (typeof value === "string" && value.trim() === "never") return null;
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (examples: 30m, 2h, 1h30m, or "never")` });
    return z.NEVER;
  }
  return ms === 0 ? null : ms;
});

/** A duration that may be 0 (none). Output: milliseconds. */
const durationOrZeroSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (examples: 0, 30m, 4h)` });
    return z.NEVER;
  }
  return ms;
});

/** How long one build may run. Always finite: a hung build must not hold one of the user's build slots forever. */
const buildTimeoutSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms === 0) {
    const never = ms === 0 || (typeof value === "string" && value.trim() === "never");
    const why = never ? "; builds always have a time limit" : "";
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration of more than 0 (examples: 30m, 1h)${why}` });
    return z.NEVER;
  }
  return ms;
});

const positiveBytes = bytesSchema.refine((bytes) => bytes > 0, { error: "must be more than 0 bytes" });

/** A quota across a user's servers: an amount, or "unlimited" (null). */
function orUnlimited<T extends z.ZodType<number, unknown>>(amount: T) {
  return z.union([z.literal("unlimited").transform(() => null), amount]);
}

export const limitsSchema = z
  .object({
    namedServers: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Named servers a user may have besides the default server. 0: only the default server."),
    serverNameMaxLength: z
      .number()
      .int()
      .min(1)
      .max(SERVER_NAME_HARD_MAX)
      .optional()
      .describe(`Longest server name allowed, in characters (at most ${SERVER_NAME_HARD_MAX}: a DNS label).`),
    idleTimeout: durationOrNeverSchema
      .optional()
      .describe('How long a server may sit idle before the culler stops it ("2h"); "never" or 0 for no limit.'),
    storage: positiveBytes.optional().describe('Storage per server ("2GiB"). Binary and decimal units differ.'),
    cpu: cpuSchema.optional().describe("CPU cores per server (1, 0.5, 500m)."),
    memory: positiveBytes.optional().describe('Memory per server ("2GB" is 2e9 bytes, "2GiB" is 2^31 bytes).'),
    concurrentBuilds: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Binder builds a user may have running or queued at once. 0: Binder launches may not build."),
    buildTimeout: buildTimeoutSchema
      .optional()
      .describe('How long one Binder build may run before it is stopped ("30m"); never 0 or "never".'),
    maxLifetime: durationOrNeverSchema
      .optional()
      .describe(
        'How long a server may run from its start, active or not, before the hub stops it ("12h"; storage kept); ' +
          '"never" or 0 for no limit. The default policy may leave it out: never.',
      ),
    lifetimeExtension: durationOrZeroSchema
      .optional()
      .describe(
        "How far past its maximum lifetime a user may push a running server's stop, in total (\"4h\"); 0: not at all. " +
          "The default policy may leave it out: 0.",
      ),
    runningServers: orUnlimited(z.number().int().min(1))
      .optional()
      .describe('Servers one user may have running or starting at once, default server included; "unlimited" (the default).'),
    totalCpu: orUnlimited(cpuSchema)
      .optional()
      .describe('CPU cores one user\'s running servers may hold together (each holds its `cpu`); "unlimited" (the default).'),
    totalMemory: orUnlimited(positiveBytes)
      .optional()
      .describe('Memory one user\'s running servers may hold together; "unlimited" (the default).'),
    totalStorage: orUnlimited(positiveBytes)
      .optional()
      .describe(
        "Storage one user's servers may hold together, stopped ones included (each holds its `storage`), checked when a " +
          'server is created; "unlimited" (the default).',
      ),
    shares: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Users and groups one server may be shared with, read-write (JupyterHub 5's sharing); 0 (the default): sharing is off."),
  })
  .strict();

/** An environment's or a size's name: what user_options carry (KubeSpawner's profile slug). */
const slug = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: "must be 1–63 lowercase letters, digits and inner hyphens (a slug)" });

export const environmentSchema = z
  .object({
    name: slug.describe("What a start asks for (user_options `profile`, as with KubeSpawner's profile_list); unique in the set."),
    displayName: z.string().trim().min(1).describe("The name people see."),
    description: z.string().optional().describe("What it holds, shown beside the choice."),
    image: z.string().trim().min(1).optional().describe("The image servers run, for backends that run images (Docker, Kubernetes)."),
    command: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("The Jupyter command, e.g. [/opt/envs/r/bin/jupyter, lab] for a venv on the local backend; the hub's options follow it."),
    cpu: cpuSchema.optional().describe("CPU cores its servers get, at most the policy's per-server `cpu` (which applies when left out)."),
    memory: positiveBytes.optional().describe("Memory its servers get, at most the policy's per-server `memory`."),
    gpus: z.number().int().min(1).optional().describe("GPUs its servers get (Kubernetes: nvidia.com/gpu)."),
    nodeSelector: z.record(z.string(), z.string()).optional().describe("Kubernetes node labels its pods need, added to the spawner's."),
    default: z.boolean().optional().describe("The environment a start gets when it asks for none (among those offered, the highest priority's)."),
  })
  .strict();

export const sizeSchema = z
  .object({
    name: slug.describe("What a start asks for (user_options `size`)."),
    displayName: z.string().trim().min(1).describe("The name people see, e.g. \"Large: 4 CPU, 8 GB\"."),
    cpu: cpuSchema.describe("CPU cores."),
    memory: positiveBytes.describe("Memory."),
  })
  .strict();

export const capacitySchema = z
  .object({
    runningServers: z.number().int().min(0).optional().describe("Servers running or starting at once, all these users together."),
    cpu: cpuSchema.optional().describe("CPU cores their running servers may hold together."),
    memory: positiveBytes.optional().describe("Memory their running servers may hold together."),
    whenFull: z
      .enum(["refuse", "queue"])
      .default("refuse")
      .describe("A start that does not fit: refused with the numbers, or waits in line until it fits (shown as its progress)."),
  })
  .strict()
  .refine((c) => c.runningServers !== undefined || c.cpu !== undefined || c.memory !== undefined, {
    error: "sets no capacity: give runningServers, cpu or memory",
  });

const repositoryPattern = z
  .string()
  .superRefine((pattern, ctx) => {
    const problem = repositoryPatternProblem(pattern);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe("A repository pattern: host/path without scheme or .git; * within a segment, ** across segments.");

export const denyRuleSchema = z
  .object({
    pattern: repositoryPattern.describe("Repositories this rule refuses (github.com/evil/*)."),
    reason: z
      .string()
      .trim()
      .refine((reason) => reason !== "", { error: "must say why (it is shown to the user who is refused)" })
      .describe("Why these repositories are refused; quoted in the refusal."),
  })
  .strict();

export const repositoriesSchema = z
  .object({
    allow: z
      .array(repositoryPattern)
      .optional()
      .describe(
        "Repositories that may be launched. If any policy matching a user has a list, the repository must match a " +
          "pattern in one of them; [] allows none (unless another matching policy does).",
      ),
    deny: z
      .array(denyRuleSchema)
      .optional()
      .describe("Repositories that may not be launched, each with a reason; every matching policy's list applies."),
    privateHosts: z
      .boolean()
      .optional()
      .describe(
        "Whether repositories on hosts that are or resolve to loopback, private or link-local addresses may be " +
          "launched. Resolved like a limit; false when no matching policy sets it.",
      ),
  })
  .strict();

const nameList = z.array(z.string().trim().min(1, { error: "must not be empty" }));

export const appliesToSchema = z
  .object({
    default: z
      .literal(true, { error: "only `default: true` has a meaning; leave it out in group policies" })
      .optional()
      .describe("This is the default policy: it applies to everyone and sets every limit."),
    groups: nameList.optional().describe("Groups (from the authenticator) this policy applies to."),
    users: nameList.optional().describe("User names this policy applies to."),
  })
  .strict()
  .superRefine((applies, ctx) => {
    if (applies.default && (applies.groups || applies.users)) {
      ctx.addIssue({
        code: "custom",
        path: ["default"],
        message: "the default policy applies to everyone; it cannot also list groups or users",
      });
    }
    if (!applies.default && !applies.groups?.length && !applies.users?.length) {
      ctx.addIssue({
        code: "custom",
        message: "names no groups and no users, so it would apply to nobody (or write `default: true`)",
      });
    }
  });

export const policyFileSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
        error: 'must be 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit',
      })
      .describe("Unique name of the policy; refusals and `policy explain` quote it."),
    description: z.string().optional().describe("What the policy is for, for the people who maintain it."),
    appliesTo: appliesToSchema,
    priority: z
      .number()
      .int()
      .optional()
      .describe("Among override policies that match a user and set the same limit, the highest priority wins."),
    limits: limitsSchema.prefault({}).describe("The limits this policy sets (any subset; the default policy sets them all)."),
    repositories: repositoriesSchema
      .optional()
      .describe("Which repositories Binder launches may build and run, for the users this policy applies to."),
    environments: z
      .array(environmentSchema)
      .optional()
      .describe("Environments offered to the users this policy applies to (the default policy's: to everyone)."),
    sizes: z
      .array(sizeSchema)
      .optional()
      .describe("Sizes offered to the users this policy applies to; those past their per-server cpu or memory are left out."),
    capacity: capacitySchema
      .optional()
      .describe(
        "What all the users this policy applies to may run at once, together (the default policy's: the whole hub). " +
          "Every capacity that applies to a user must have room for their start.",
      ),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (!policy.appliesTo.default) return;
    // The default policy is the base every user starts from, so every limit must have a value that came from a
    // file an administrator can read (no hidden built-in numbers; BUILT_IN_LIMITS only ever mean "no limit").
    if (policy.priority !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["priority"],
        message: "the default policy has no priority: it is the base that override policies replace",
      });
    }
    for (const limit of LIMIT_NAMES) {
      if (policy.limits[limit] === undefined && !(limit in BUILT_IN_LIMITS)) {
        ctx.addIssue({ code: "custom", path: ["limits", limit], message: "the default policy must set every limit" });
      }
    }
  });

/** A policy file as written, with quantities parsed (ms, bytes, cores; idleTimeout null = never). */
export type PolicyFile = z.output<typeof policyFileSchema>;
export type PolicyLimits = z.output<typeof limitsSchema>;
export type PolicyRepositories = z.output<typeof repositoriesSchema>;
export type PolicyCapacity = z.output<typeof capacitySchema>;
export type EnvironmentDefinition = z.output<typeof environmentSchema>;
export type SizeDefinition = z.output<typeof sizeSchema>;

/** Keys each strict object accepts, by field path; used to suggest the right spelling of an unknown key. */
export const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": Object.keys(policyFileSchema.shape),
  appliesTo: Object.keys(appliesToSchema.shape),
  limits: Object.keys(limitsSchema.shape),
  repositories: Object.keys(repositoriesSchema.shape),
  capacity: ["runningServers", "cpu", "memory", "whenFull"],
  "environments[]": Object.keys(environmentSchema.shape),
  "sizes[]": Object.keys(sizeSchema.shape),
  // List items are looked up without their index: repositories.deny[3] → repositories.deny[].
  "repositories.deny[]": Object.keys(denyRuleSchema.shape),
};
