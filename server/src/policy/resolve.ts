/**
 * The precedence rule, in one place. For each limit separately:
 *   1. start from the default policy's value;
 *   2. among the override policies that match the user (by name in `users`, or by any group in `groups`) and set
 *      that limit, the one with the highest `priority` (default 0) wins — whether its value is higher or lower;
 *   3. equal priorities: the most generous value wins (more servers, longer or no idle timeout, more resources,
 *      more concurrent builds, a longer build timeout);
 *   4. still equal: the first file by name, so the answer never depends on directory order.
 * A limit the default policy may leave out (BUILT_IN_LIMITS) and does starts from the hub's built-in value, whose
 * source is named BUILT_IN_SOURCE.
 * Limits are resolved independently: a user in `research` and `teaching` may get memory from one and storage
 * from the other. Pure: no I/O, no clock.
 */
import type { ServerLimits } from "../spawners/types.js";
import { BUILT_IN_LIMITS, LIMIT_NAMES, type LimitName, type PolicyLimits } from "./schema.js";
import type { Policy, PolicySet } from "./set.js";

/** Who is asking. Group names come from the authenticator and are compared exactly. */
export interface PolicyUser {
  name: string;
  groups: readonly string[];
}

/** Everything the hub needs to know about a user's limits; spawner-compatible (extends ServerLimits). */
export interface EffectiveLimits extends ServerLimits {
  namedServers: number;
  serverNameMaxLength: number;
  /** Milliseconds a server may be idle before it is culled; null when it never is. */
  idleTimeoutMs: number | null;
  /** Binder builds the user may have running or queued at once; 0: Binder launches may not build. */
  concurrentBuilds: number;
  /** Milliseconds one Binder build may run. */
  buildTimeoutMs: number;
  /** Milliseconds a server may run from its start before the hub stops it; null when it may run on. */
  maxLifetimeMs: number | null;
  /** Milliseconds the user may push a server's stop past its maximum lifetime, in total. */
  lifetimeExtensionMs: number;
  /** Quotas across the user's servers (quotas.ts); null: unlimited. */
  runningServers: number | null;
  totalCpu: number | null;
  totalMemoryBytes: number | null;
  totalStorageBytes: number | null;
  /** Users and groups one server may be shared with; 0: sharing is off. */
  shares: number;
}

/** Where a limit the default policy left out gets its value (see BUILT_IN_LIMITS). */
export const BUILT_IN_SOURCE = { policy: "built-in", file: "no policy file sets it" } as const;

/** Where a limit's value came from. `priority` is null for the default policy. */
export interface LimitSource {
  policy: string;
  file: string;
  priority: number | null;
}

/** A policy that matched and set the limit, with the value it asked for (internal units). */
export interface LimitCandidate extends LimitSource {
  value: number | null;
}

export interface ResolvedLimits {
  limits: EffectiveLimits;
  sources: Record<LimitName, LimitSource>;
  /** Per limit, every matching policy that set it, winner first (the default policy last). */
  candidates: Record<LimitName, LimitCandidate[]>;
}

/** Override policies that apply to `user`, in file name order. */
export function matchingPolicies(set: PolicySet, user: PolicyUser): Policy[] {
  return set.overrides.filter(
    (p) => p.appliesTo.users?.includes(user.name) || p.appliesTo.groups?.some((g) => user.groups.includes(g)),
  );
}

/** Larger is more generous for every limit; null (never culled, no lifetime, unlimited) is the most generous of all. */
function generosity(value: number | null): number {
  return value === null ? Number.POSITIVE_INFINITY : value;
}

function candidate(policy: Policy, value: number | null, isDefault: boolean): LimitCandidate {
  return { policy: policy.name, file: policy.file, priority: isDefault ? null : (policy.priority ?? 0), value };
}

/** Sort order: highest priority first, then most generous (comparisons, not subtraction: ∞ − ∞ is NaN). */
function rank(a: LimitCandidate, b: LimitCandidate): number {
  const pa = a.priority ?? 0;
  const pb = b.priority ?? 0;
  if (pa !== pb) return pb - pa;
  const ga = generosity(a.value);
  const gb = generosity(b.value);
  return ga === gb ? 0 : gb > ga ? 1 : -1;
}

/** Applies the precedence rule to every limit for `user`. */
export function resolveLimits(set: PolicySet, user: PolicyUser): ResolvedLimits {
  const matching = matchingPolicies(set, user);
  const values = {} as Record<LimitName, number | null>;
  const sources = {} as Record<LimitName, LimitSource>;
  const candidates = {} as Record<LimitName, LimitCandidate[]>;
  for (const limit of LIMIT_NAMES) {
    const overrides = matching
      .filter((p) => p.limits[limit] !== undefined)
      .map((p) => candidate(p, valueOf(p.limits, limit), false))
      // Array.prototype.sort is stable, so equal candidates keep file name order (rule 4).
      .sort(rank);
    const base = baseCandidate(set.defaultPolicy, limit);
    const all = [...overrides, base];
    const winner = all[0]!;
    values[limit] = winner.value;
    sources[limit] = { policy: winner.policy, file: winner.file, priority: winner.priority };
    candidates[limit] = all;
  }
  return { limits: toEffective(values), sources, candidates };
}

/** The default policy's value, or the built-in one where it may leave the limit out and does. */
function baseCandidate(policy: Policy, limit: LimitName): LimitCandidate {
  if (policy.limits[limit] === undefined && limit in BUILT_IN_LIMITS) {
    return { ...BUILT_IN_SOURCE, priority: null, value: BUILT_IN_LIMITS[limit]! };
  }
  return candidate(policy, valueOf(policy.limits, limit), true);
}

function valueOf(limits: PolicyLimits, limit: LimitName): number | null {
  const value = limits[limit];
  // The schema guarantees the default policy sets every limit; undefined here would be a bug in the set builder.
  if (value === undefined) throw new Error(`policy limit ${limit} is not set`);
  return value;
}

function toEffective(v: Record<LimitName, number | null>): EffectiveLimits {
  const num = (limit: LimitName): number => v[limit] ?? 0;
  return {
    namedServers: num("namedServers"),
    serverNameMaxLength: num("serverNameMaxLength"),
    idleTimeoutMs: v.idleTimeout,
    storageBytes: num("storage"),
    cpu: num("cpu"),
    memoryBytes: num("memory"),
    concurrentBuilds: num("concurrentBuilds"),
    buildTimeoutMs: num("buildTimeout"),
    maxLifetimeMs: v.maxLifetime,
    lifetimeExtensionMs: num("lifetimeExtension"),
    runningServers: v.runningServers,
    totalCpu: v.totalCpu,
    totalMemoryBytes: v.totalMemory,
    totalStorageBytes: v.totalStorage,
    shares: num("shares"),
  };
}
