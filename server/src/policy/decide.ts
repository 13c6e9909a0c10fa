/**
 * The one function that answers "may this happen, and with what limits?". Pure: the caller passes the policy set
 * (PolicyEngine holds the current one) and what it knows (e.g. how many named servers the user has); no I/O.
 *
 * Every refusal is a PolicyReason naming the rule, the policy that set the limit and the numbers, worded for the
 * person who asked; the same text goes to the API client, the dashboard and the log (via PolicyDenied).
 *
 * Actions:
 * - `server.create`: a new named server. The full name rule (characters, length) and the named-server count apply.
 *   The default server (name "") is never created, only started, so an empty name here is refused.
 * - `server.start`: an existing server (name "" for the default server). Only the safety part of the name rule is
 *   checked: quotas (count, length) apply when something is created, so lowering them later never locks anyone
 *   out of a server they already have. The limits returned are the ones to start it with. With `usage` (what the
 *   user and the capacity pools hold now), the quotas across servers apply too (quotas.ts); `queue` says whether a
 *   refusal for capacity alone may wait for room instead.
 * - `repository.launch`: a Binder launch of a repository (an identity `host/path` or its clone URL). The
 *   repository rules apply (deny rules, allow lists; see repositories.ts); when the caller says how many builds the
 *   user has running or queued (`current.builds`, given when this launch needs a build), `concurrentBuilds` too.
 *   The decision also carries the repository's identity and whether private hosts are allowed, for the builder.
 * - `server.extend`: moving a running server's stop to `deadline` (its start plus the maximum lifetime, plus up to
 *   `lifetimeExtension` more in total; earlier is always allowed, but not in the past). Times are epoch ms, and the
 *   caller passes `now`, so the decision stays pure.
 * - `server.share`: sharing one of the user's servers with one more user or group (`current.shares`: how many it is
 *   shared with now); the `shares` limit applies (0: sharing is off).
 * - `limits`: just the effective limits (the culler's idle timeout, the dashboard's quota display).
 * Whether a server of that name already exists is not a policy question; the servers module checks it.
 */
import { PolicyDenied, type PolicyReason } from "../errors.js";
import type { LimitName } from "./schema.js";
import type { PolicySet } from "./set.js";
import { BUILT_IN_SOURCE, resolveLimits, type EffectiveLimits, type LimitSource, type PolicyUser } from "./resolve.js";
import { nameLength, quoteName, serverNameSafetyProblems } from "./server-name.js";
import { repositoryReasons, resolveRepositoryRules } from "./repositories.js";
import { repositoryIdentity } from "./repository-pattern.js";
import { formatDuration } from "../lib/units.js";
import { capacityReasons, userQuotaReasons, type ServerUsage } from "./quotas.js";
import { chooseEnvironment, type EnvironmentChoice, type EnvironmentRequest } from "./environments.js";

/**
 * Reasons for rules the hub fixes itself (server name characters) name this instead of a policy file, as do limits
 * that no policy file sets (BUILT_IN_LIMITS).
 */
export const BUILT_IN_POLICY = BUILT_IN_SOURCE.policy;

export type PolicyRequest =
  | {
      action: "server.create";
      user: PolicyUser;
      server: { name: string };
      /** What the user has now. `serverNames`, when given, is listed in the refusal so users see what counts. */
      current: { namedServers: number; serverNames?: readonly string[] };
    }
  | {
      action: "server.start";
      user: PolicyUser;
      server: { name: string };
      /** The environment and size asked for (user_options `profile`, `size`); the default environment without. */
      options?: EnvironmentRequest;
      usage?: ServerUsage;
    }
  | {
      action: "repository.launch";
      user: PolicyUser;
      /** `github.com/org/repo`, or a clone URL such as `https://github.com/org/repo.git`. */
      repository: string;
      /** Builds the user has running or queued; leave out when the launch needs no build (the image exists). */
      current?: { builds: number };
    }
  | {
      action: "server.extend";
      user: PolicyUser;
      server: { name: string; startedAt: number };
      deadline: number;
      now: number;
    }
  | { action: "server.share"; user: PolicyUser; server: { name: string }; current: { shares: number } }
  | { action: "limits"; user: PolicyUser };

export type PolicyAction = PolicyRequest["action"];

export interface Decision {
  allow: boolean;
  /** The user's effective limits (also when refused, so a client can show them). */
  limits: EffectiveLimits;
  /** Which policy set each limit. */
  sources: Record<LimitName, LimitSource>;
  /** Why not; empty when allowed. */
  reasons: PolicyReason[];
  /**
   * `repository.launch` only: the repository's identity (null when it is not a repository address) and whether it
   * may be on a private host (loopback, private, link-local), which the builder checks when it resolves the host.
   */
  repository?: { identity: string | null; privateHosts: boolean };
  /**
   * `server.start` with usage only: true when the start was refused for capacity alone and every full pool says
   * `whenFull: queue`, so it may wait for room.
   */
  queue?: boolean;
  /** `server.start` only: the environment and size it starts with (`limits` then holds their CPU and memory). */
  environment?: EnvironmentChoice;
}

export function decide(set: PolicySet, request: PolicyRequest): Decision {
  const resolved = resolveLimits(set, request.user);
  const sources = resolved.sources;
  let limits = resolved.limits;
  let environment: EnvironmentChoice | undefined;
  const reasons: PolicyReason[] = [];
  let repository: Decision["repository"];
  let queue: boolean | undefined;
  switch (request.action) {
    case "server.create":
      reasons.push(...nameReasons(request.server.name, limits, sources));
      reasons.push(...countReasons(request.user.name, request.current, limits, sources));
      break;
    case "server.start": {
      if (request.server.name !== "") reasons.push(...safetyReasons(request.server.name));
      const chosen = chooseEnvironment(set, request.user, limits, request.options ?? {});
      reasons.push(...chosen.reasons);
      environment = chosen.choice;
      limits = { ...limits, cpu: chosen.choice.cpu, memoryBytes: chosen.choice.memoryBytes };
      if (request.usage) {
        reasons.push(...userQuotaReasons(request.user.name, request.server.name, request.usage, limits, sources));
        const capacity = capacityReasons(set, request.user, request.usage, limits);
        queue = reasons.length === 0 && capacity.queue;
        reasons.push(...capacity.reasons);
      }
      break;
    }
    case "repository.launch": {
      const rules = resolveRepositoryRules(set, request.user);
      const identity = repositoryIdentity(request.repository) ?? null;
      repository = { identity, privateHosts: rules.privateHosts };
      if (identity === null) reasons.push(invalidRepository(request.repository));
      else reasons.push(...repositoryReasons(rules, identity));
      if (request.current) reasons.push(...buildReasons(request.user.name, request.current.builds, limits, sources));
      break;
    }
    case "server.extend":
      reasons.push(...extendReasons(request, limits, sources));
      break;
    case "server.share":
      reasons.push(...shareReasons(request.user.name, request.server.name, request.current.shares, limits, sources));
      break;
    case "limits":
      break;
    default: {
      const unknown: never = request;
      throw new Error(`unknown policy action ${JSON.stringify((unknown as { action?: unknown }).action)}`);
    }
  }
  return { allow: reasons.length === 0, limits, sources, reasons, ...(repository ? { repository } : {}), ...(queue !== undefined ? { queue } : {}), ...(environment ? { environment } : {}) };
}

/** The limits when allowed; otherwise throws PolicyDenied carrying the reasons (mapped to HTTP 400 by the hub). */
export function enforce(decision: Decision): EffectiveLimits {
  if (!decision.allow) throw new PolicyDenied(decision.reasons);
  return decision.limits;
}

function safetyReasons(name: string): PolicyReason[] {
  return serverNameSafetyProblems(name).map((p) => ({ ...p, policy: BUILT_IN_POLICY }));
}

function nameReasons(name: string, limits: EffectiveLimits, sources: Record<LimitName, LimitSource>): PolicyReason[] {
  if (name === "") {
    return [
      {
        rule: "server_name_empty",
        policy: BUILT_IN_POLICY,
        message: "a named server needs a name (the default server has none: it is started, not created)",
      },
    ];
  }
  const reasons = safetyReasons(name);
  const length = nameLength(name);
  const max = limits.serverNameMaxLength;
  if (length > max) {
    const policy = sources.serverNameMaxLength.policy;
    reasons.push({
      rule: "server_name_length",
      policy,
      message: `server name ${quoteName(name)} is ${length} characters; policy \`${policy}\` allows at most ${max}`,
      limit: max,
      value: length,
    });
  }
  return reasons;
}

function countReasons(
  user: string,
  current: { namedServers: number; serverNames?: readonly string[] },
  limits: EffectiveLimits,
  sources: Record<LimitName, LimitSource>,
): PolicyReason[] {
  const have = current.namedServers;
  const max = limits.namedServers;
  if (have < max) return [];
  const policy = sources.namedServers.policy;
  const listed = current.serverNames?.length ? ` (${current.serverNames.join(", ")})` : "";
  const servers = have === 1 ? "server" : "servers";
  const message =
    max === 0
      ? `policy \`${policy}\` allows ${user} no named servers, only the default server`
      : `${user} already has ${have} named ${servers}${listed}; policy \`${policy}\` allows ${max}`;
  return [{ rule: "named_servers", policy, message, limit: max, value: have }];
}

/**
 * When a server started at `startedAt` is stopped for its lifetime (`deadline`: the time its owner chose, if any,
 * else start + maximum lifetime; never past `latest`, start + lifetime + every extension allowed, so a lowered
 * policy applies to running servers too). Null when the policy sets no maximum lifetime.
 */
export function lifetimeDeadlines(
  limits: EffectiveLimits,
  startedAt: number,
  chosen?: number | null,
): { deadline: number; latest: number } | null {
  if (limits.maxLifetimeMs === null) return null;
  const natural = startedAt + limits.maxLifetimeMs;
  const latest = natural + limits.lifetimeExtensionMs;
  return { deadline: Math.min(chosen ?? natural, latest), latest };
}

function extendReasons(
  request: Extract<PolicyRequest, { action: "server.extend" }>,
  limits: EffectiveLimits,
  sources: Record<LimitName, LimitSource>,
): PolicyReason[] {
  const lifetimePolicy = sources.maxLifetime.policy;
  const bounds = lifetimeDeadlines(limits, request.server.startedAt);
  if (!bounds) {
    const who = lifetimePolicy === BUILT_IN_POLICY ? "no policy sets a" : `policy \`${lifetimePolicy}\` sets no`;
    const message = `${who} maximum lifetime, so this server has no stop time to move`;
    return [{ rule: "lifetime_none", policy: lifetimePolicy, message }];
  }
  if (request.deadline <= request.now) {
    return [{ rule: "deadline_past", policy: BUILT_IN_POLICY, message: "the new stop time must be in the future" }];
  }
  if (request.deadline <= bounds.latest) return [];
  const asked = request.deadline - request.server.startedAt;
  const most = bounds.latest - request.server.startedAt;
  const extensionPolicy = sources.lifetimeExtension.policy;
  const lifetime = `policy \`${lifetimePolicy}\` sets a maximum lifetime of ${formatDuration(limits.maxLifetimeMs!)}`;
  const extension =
    limits.lifetimeExtensionMs === 0
      ? `and policy \`${extensionPolicy}\` allows no extension`
      : `and policy \`${extensionPolicy}\` allows extending it by at most ${formatDuration(limits.lifetimeExtensionMs)}`;
  return [
    {
      rule: "lifetime_extension",
      policy: extensionPolicy,
      message: `a stop at ${new Date(request.deadline).toISOString()} would let the server run ${formatDuration(Math.round(asked / 1000) * 1000)}; ${lifetime} ${extension}`,
      limit: most,
      value: asked,
    },
  ];
}

function shareReasons(
  user: string,
  server: string,
  shares: number,
  limits: EffectiveLimits,
  sources: Record<LimitName, LimitSource>,
): PolicyReason[] {
  const max = limits.shares;
  if (shares < max) return [];
  const policy = sources.shares.policy;
  const by = policy === BUILT_IN_POLICY ? "no policy allows" : `policy \`${policy}\` does not allow`;
  const what = server === "" ? "the default server" : `server ${server}`;
  const message =
    max === 0
      ? `${by} ${user} to share servers`
      : `${user}'s ${what} is shared with ${shares} ${shares === 1 ? "user or group" : "users or groups"}; policy \`${policy}\` allows ${max}`;
  return [{ rule: max === 0 ? "sharing_off" : "shares", policy, message, limit: max, value: shares + 1 }];
}

function invalidRepository(repository: string): PolicyReason {
  return {
    rule: "repository_invalid",
    policy: BUILT_IN_POLICY,
    message:
      `${quoteName(repository)} is not a repository address ` +
      "(expected host/path such as github.com/org/repo, or its https URL)",
  };
}

function buildReasons(
  user: string,
  builds: number,
  limits: EffectiveLimits,
  sources: Record<LimitName, LimitSource>,
): PolicyReason[] {
  const max = limits.concurrentBuilds;
  if (builds < max) return [];
  const policy = sources.concurrentBuilds.policy;
  const have = `${builds} ${builds === 1 ? "build" : "builds"}`;
  const message =
    max === 0
      ? `policy \`${policy}\` allows ${user} no Binder builds; ` +
        "only repositories whose image is already built can be launched"
      : `${user} already has ${have} running or queued; policy \`${policy}\` allows ${max}`;
  return [{ rule: "concurrent_builds", policy, message, limit: max, value: builds }];
}
