/**
 * Quotas across servers, two kinds, both checked by decide()'s `server.start`:
 * - **per user** (limits `runningServers`, `totalCpu`, `totalMemory`, `totalStorage`, resolved like every limit): what
 *   one user's servers may hold together. CPU, memory and the count cover servers running or starting; storage covers
 *   every server, stopped ones too (their storage is kept), and is checked when a start creates a server.
 * - **capacity** (a policy's `capacity` section): a pool shared by everyone the policy applies to (the default
 *   policy's: the whole hub), e.g. "students may run at most 200 servers at once". Every pool that applies to the user
 *   must have room. A full pool refuses, or — `whenFull: queue` — the start waits for room, in order.
 * Pure, like decide(): the servers module says what runs (ServerUsage); this says whether one more fits and, if not,
 * why, with the numbers (used, requested, limit).
 */
import type { PolicyReason } from "../errors.js";
import { formatBytes } from "../lib/units.js";
import type { LimitName } from "./schema.js";
import { matchingPolicies, type EffectiveLimits, type LimitSource, type PolicyUser } from "./resolve.js";
import { audienceOf, type Policy, type PolicySet } from "./set.js";

/** A server running or starting, as the pools count it. */
export interface RunningServer {
  user: PolicyUser;
  name: string;
  cpu: number;
  memoryBytes: number;
}

/** What runs in one capacity pool. */
export interface PoolUse {
  servers: number;
  cpu: number;
  memoryBytes: number;
}

/** What the servers module knows when a user starts a server (the server itself left out). */
export interface ServerUsage {
  /** The user's other servers running or starting, with the resources they started with. */
  running: { name: string; cpu: number; memoryBytes: number }[];
  /** Storage held by the user's other servers, stopped ones too (their limits: each server's storage is theirs). */
  storageBytes: number;
  /** This start creates the server, so its storage is new. */
  creates: boolean;
  /** Per capacity policy (by name) that applies to the user: what runs now among the users it applies to. */
  pools: Record<string, PoolUse>;
}

/** The policies of a set that have a capacity, found once per set (a start counts every running server's pools). */
const capacityPolicies = new WeakMap<PolicySet, { all: Policy[]; overrides: PolicySet }>();

function withCapacity(set: PolicySet): { all: Policy[]; overrides: PolicySet } {
  let found = capacityPolicies.get(set);
  if (!found) {
    const overrides = set.overrides.filter((p) => p.capacity !== undefined);
    const all = set.defaultPolicy.capacity ? [set.defaultPolicy, ...overrides] : overrides;
    found = { all, overrides: { defaultPolicy: set.defaultPolicy, overrides } };
    capacityPolicies.set(set, found);
  }
  return found;
}

/** Capacity policies that apply to `user`, the default policy's first: the pools a start of theirs draws from. */
export function poolsOf(set: PolicySet, user: PolicyUser): Policy[] {
  const { overrides } = withCapacity(set);
  const matching = matchingPolicies(overrides, user);
  return set.defaultPolicy.capacity ? [set.defaultPolicy, ...matching] : matching;
}

/** What runs in every capacity pool, from the servers running or starting on the hub. */
export function poolUsage(set: PolicySet, running: Iterable<RunningServer>): Map<string, PoolUse> {
  const pools = new Map<string, PoolUse>();
  for (const policy of withCapacity(set).all) pools.set(policy.name, { servers: 0, cpu: 0, memoryBytes: 0 });
  if (pools.size === 0) return pools;
  for (const server of running) {
    for (const policy of poolsOf(set, server.user)) {
      const use = pools.get(policy.name)!;
      use.servers += 1;
      use.cpu += server.cpu;
      use.memoryBytes += server.memoryBytes;
    }
  }
  return pools;
}

const cores = (n: number) => `${Number(n.toFixed(3))} ${n === 1 ? "CPU" : "CPUs"}`;
const servers = (n: number) => `${n} ${n === 1 ? "server" : "servers"}`;

/** Why this start would take the user past a quota of their own; empty when it fits. */
export function userQuotaReasons(
  user: string,
  server: string,
  usage: ServerUsage,
  limits: EffectiveLimits,
  sources: Record<LimitName, LimitSource>,
): PolicyReason[] {
  const reasons: PolicyReason[] = [];
  const what = server === "" ? "the default server" : `server ${server}`;
  const count = usage.running.length;
  if (limits.runningServers !== null && count + 1 > limits.runningServers) {
    const policy = sources.runningServers.policy;
    const names = count ? ` (${usage.running.map((s) => s.name || "default").join(", ")})` : "";
    reasons.push({
      rule: "running_servers",
      policy,
      message: `${user} has ${servers(count)} running${names}; policy \`${policy}\` allows ${limits.runningServers} at once`,
      limit: limits.runningServers,
      used: count,
      requested: 1,
    });
  }
  const cpu = usage.running.reduce((sum, s) => sum + s.cpu, 0);
  if (limits.totalCpu !== null && cpu + limits.cpu > limits.totalCpu + 1e-9) {
    const policy = sources.totalCpu.policy;
    reasons.push({
      rule: "total_cpu",
      policy,
      message: `starting ${what} needs ${cores(limits.cpu)}; ${user}'s running servers use ${cores(cpu)} of the ${cores(limits.totalCpu)} policy \`${policy}\` allows in total`,
      limit: limits.totalCpu,
      used: cpu,
      requested: limits.cpu,
    });
  }
  const memory = usage.running.reduce((sum, s) => sum + s.memoryBytes, 0);
  if (limits.totalMemoryBytes !== null && memory + limits.memoryBytes > limits.totalMemoryBytes) {
    const policy = sources.totalMemory.policy;
    reasons.push({
      rule: "total_memory",
      policy,
      message: `starting ${what} needs ${formatBytes(limits.memoryBytes)} of memory; ${user}'s running servers use ${formatBytes(memory)} of the ${formatBytes(limits.totalMemoryBytes)} policy \`${policy}\` allows in total`,
      limit: limits.totalMemoryBytes,
      used: memory,
      requested: limits.memoryBytes,
    });
  }
  if (usage.creates && limits.totalStorageBytes !== null && usage.storageBytes + limits.storageBytes > limits.totalStorageBytes) {
    const policy = sources.totalStorage.policy;
    reasons.push({
      rule: "total_storage",
      policy,
      message: `creating ${what} needs ${formatBytes(limits.storageBytes)} of storage; ${user}'s servers hold ${formatBytes(usage.storageBytes)} of the ${formatBytes(limits.totalStorageBytes)} policy \`${policy}\` allows in total (delete a server to make room)`,
      limit: limits.totalStorageBytes,
      used: usage.storageBytes,
      requested: limits.storageBytes,
    });
  }
  return reasons;
}

/**
 * Why a capacity pool has no room for this start; empty when every pool has. `queue` is true when every full pool
 * says `whenFull: queue` (the start may wait for room instead of being refused).
 */
export function capacityReasons(set: PolicySet, user: PolicyUser, usage: ServerUsage, limits: EffectiveLimits): { reasons: PolicyReason[]; queue: boolean } {
  const reasons: PolicyReason[] = [];
  let queue = true;
  for (const policy of poolsOf(set, user)) {
    const capacity = policy.capacity!;
    const use = usage.pools[policy.name] ?? { servers: 0, cpu: 0, memoryBytes: 0 };
    const whose = policy.appliesTo.default ? "on this hub" : `for its ${audienceOf(policy)}`;
    const full: PolicyReason[] = [];
    if (capacity.runningServers !== undefined && use.servers + 1 > capacity.runningServers) {
      full.push({
        rule: "capacity_servers",
        policy: policy.name,
        message: `policy \`${policy.name}\` allows ${servers(capacity.runningServers)} running at once ${whose}; ${use.servers} ${use.servers === 1 ? "is" : "are"} running`,
        limit: capacity.runningServers,
        used: use.servers,
        requested: 1,
      });
    }
    if (capacity.cpu !== undefined && use.cpu + limits.cpu > capacity.cpu + 1e-9) {
      full.push({
        rule: "capacity_cpu",
        policy: policy.name,
        message: `policy \`${policy.name}\` allows ${cores(capacity.cpu)} in use at once ${whose}; ${cores(use.cpu)} are in use and this server needs ${cores(limits.cpu)}`,
        limit: capacity.cpu,
        used: use.cpu,
        requested: limits.cpu,
      });
    }
    if (capacity.memory !== undefined && use.memoryBytes + limits.memoryBytes > capacity.memory) {
      full.push({
        rule: "capacity_memory",
        policy: policy.name,
        message: `policy \`${policy.name}\` allows ${formatBytes(capacity.memory)} of memory in use at once ${whose}; ${formatBytes(use.memoryBytes)} are in use and this server needs ${formatBytes(limits.memoryBytes)}`,
        limit: capacity.memory,
        used: use.memoryBytes,
        requested: limits.memoryBytes,
      });
    }
    if (full.length && capacity.whenFull !== "queue") queue = false;
    reasons.push(...full);
  }
  return { reasons, queue: reasons.length > 0 && queue };
}
