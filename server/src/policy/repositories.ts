/**
 * Which repositories a user may launch through Binder, from the `repositories` sections of the policies that apply
 * to them (the default policy and the matching overrides). Pure: no I/O, no DNS.
 *
 * - `allow` lists add up: if any applying policy has one, the repository must match a pattern in one of them.
 *   Priority plays no part (an allow list is an offer, like a group's extra servers).
 * - `deny` rules add up too, and beat every allow list: one matching rule refuses, with its reason.
 * - `privateHosts` is resolved like a limit: the highest-priority matching override that sets it wins; at equal
 *   priority `true` (the more generous) wins; otherwise the default policy's value; otherwise false (built in).
 */
import type { PolicyReason } from "../errors.js";
import { matchesRepositoryPattern } from "./repository-pattern.js";
import { matchingPolicies, type LimitSource, type PolicyUser } from "./resolve.js";
import type { Policy, PolicySet } from "./set.js";

/** One applying policy's allow list. */
export interface AllowList extends LimitSource {
  patterns: readonly string[];
}

/** One applying policy's deny rule. */
export interface DenyRule extends LimitSource {
  pattern: string;
  reason: string;
}

export interface RepositoryRules {
  /** Whether repositories on non-public hosts (loopback, private, link-local) may be launched. */
  privateHosts: boolean;
  /** The policy that set `privateHosts`; null when none did and the built-in `false` applies. */
  privateHostsSource: LimitSource | null;
  /** Every applying policy that sets `privateHosts`, winner first (the default policy last). */
  privateHostsCandidates: (LimitSource & { value: boolean })[];
  /** Allow lists of the applying policies that have one, highest priority first; empty: any repository. */
  allow: AllowList[];
  /** Deny rules of every applying policy, highest priority first. */
  deny: DenyRule[];
}

function source(policy: Policy, isDefault: boolean): LimitSource {
  return { policy: policy.name, file: policy.file, priority: isDefault ? null : (policy.priority ?? 0) };
}

/** The repository rules that apply to `user`. */
export function resolveRepositoryRules(set: PolicySet, user: PolicyUser): RepositoryRules {
  // Highest priority first; sort is stable, so equal priorities keep file name order. The default policy is last.
  const overrides = matchingPolicies(set, user).sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
  const applying = [
    ...overrides.map((p) => ({ p, s: source(p, false) })),
    { p: set.defaultPolicy, s: source(set.defaultPolicy, true) },
  ];

  const allow = applying.flatMap(({ p, s }) =>
    p.repositories?.allow ? [{ ...s, patterns: p.repositories.allow }] : [],
  );
  const deny = applying.flatMap(({ p, s }) => (p.repositories?.deny ?? []).map((rule) => ({ ...s, ...rule })));
  const candidates = applying.flatMap(({ p, s }) =>
    p.repositories?.privateHosts === undefined ? [] : [{ ...s, value: p.repositories.privateHosts }],
  );
  // At equal priority true (more generous) first; the default policy stays last whatever its value.
  candidates.sort((a, b) =>
    a.priority === null || b.priority === null
      ? Number(a.priority === null) - Number(b.priority === null)
      : b.priority - a.priority || Number(b.value) - Number(a.value),
  );
  const winner = candidates[0];
  return {
    privateHosts: winner?.value ?? false,
    privateHostsSource: winner ? { policy: winner.policy, file: winner.file, priority: winner.priority } : null,
    privateHostsCandidates: candidates,
    allow,
    deny,
  };
}

/** Long identities are cut in messages, as server names are. */
function shown(identity: string): string {
  const chars = [...identity];
  return chars.length > 100 ? `${chars.slice(0, 100).join("")}…` : identity;
}

/** Why `identity` (a normalised repository identity) may not be launched under `rules`; empty when it may. */
export function repositoryReasons(rules: RepositoryRules, identity: string): PolicyReason[] {
  const repo = shown(identity);
  const reasons: PolicyReason[] = rules.deny
    .filter((rule) => matchesRepositoryPattern(rule.pattern, identity))
    .map((rule) => ({
      rule: "repository_denied",
      policy: rule.policy,
      message:
        `repository ${repo} is not allowed: ${rule.reason} ` +
        `(policy \`${rule.policy}\`, deny pattern ${rule.pattern})`,
      limit: rule.pattern,
      value: identity,
    }));
  const matches = (pattern: string) => matchesRepositoryPattern(pattern, identity);
  const allowed = rules.allow.some((list) => list.patterns.some(matches));
  if (rules.allow.length > 0 && !allowed) {
    const offers = rules.allow.map((list) =>
      list.patterns.length === 0
        ? `policy \`${list.policy}\` allows none`
        : `policy \`${list.policy}\` allows only ${list.patterns.join(", ")}`,
    );
    reasons.push({
      rule: "repository_not_allowed",
      policy: rules.allow[0]!.policy,
      message: `repository ${repo} is not in any allowed list (${offers.join("; ")})`,
      value: identity,
    });
  }
  return reasons;
}
