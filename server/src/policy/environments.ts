/**
 * Environments and sizes (KubeSpawner's `profile_list` and its `profile_options`, Posit Workbench's resource
 * profiles): what a user may start a server as. A policy's `environments` and `sizes` are offered to the users it
 * applies to, the default policy's to everyone; a start asks for one by name (user_options `profile` and `size`),
 * or gets the default environment (the highest-priority policy's `default: true`, else the first offered) at the
 * size it sets. Sizes past the user's per-server `cpu` or `memory` are not offered, and an environment's own
 * resources are capped by them, so the per-server limits stay the most anyone gets. Pure, like decide().
 */
import type { PolicyReason } from "../errors.js";
import { formatBytes } from "../lib/units.js";
import { matchingPolicies, type EffectiveLimits, type PolicyUser } from "./resolve.js";
import type { EnvironmentDefinition, SizeDefinition } from "./schema.js";
import { audienceOf, type Policy, type PolicySet } from "./set.js";

export interface OfferedEnvironment extends EnvironmentDefinition {
  /** The policy that offers it. */
  policy: string;
}

export interface OfferedSize extends SizeDefinition {
  policy: string;
}

export interface Offer {
  environments: OfferedEnvironment[];
  /** The environment a start without `profile` gets; null when none is offered. */
  defaultEnvironment: string | null;
  sizes: OfferedSize[];
}

/** What a start asks for, from its user_options. */
export interface EnvironmentRequest {
  profile?: string;
  size?: string;
}

/** What a start gets: the environment (if any is offered) and the resources it runs with. */
export interface EnvironmentChoice {
  environment: OfferedEnvironment | null;
  size: OfferedSize | null;
  cpu: number;
  memoryBytes: number;
}

/** The environments and sizes offered to `user`, the default policy's first, then by file name. */
export function offerFor(set: PolicySet, user: PolicyUser, limits: EffectiveLimits): Offer {
  const policies = [set.defaultPolicy, ...matchingPolicies(set, user)];
  const environments = policies.flatMap((p) => (p.environments ?? []).map((e) => ({ ...e, policy: p.name })));
  const sizes = policies
    .flatMap((p) => (p.sizes ?? []).map((s) => ({ ...s, policy: p.name })))
    .filter((s) => s.cpu <= limits.cpu + 1e-9 && s.memory <= limits.memoryBytes);
  // The default: the highest priority's `default: true` (the default policy counts as the lowest), else the first.
  const byPriority = (p: Policy) => (p === set.defaultPolicy ? Number.NEGATIVE_INFINITY : (p.priority ?? 0));
  const marked = policies
    .filter((p) => p.environments?.some((e) => e.default))
    .sort((a, b) => byPriority(b) - byPriority(a))[0]
    ?.environments?.find((e) => e.default)?.name;
  return { environments, defaultEnvironment: marked ?? environments[0]?.name ?? null, sizes };
}

/** The start's environment and resources, or the reasons it may not have what it asked for. */
export function chooseEnvironment(
  set: PolicySet,
  user: PolicyUser,
  limits: EffectiveLimits,
  request: EnvironmentRequest,
): { choice: EnvironmentChoice; reasons: PolicyReason[] } {
  const offer = offerFor(set, user, limits);
  const reasons: PolicyReason[] = [];
  const name = request.profile ?? offer.defaultEnvironment;
  const environment = name === null ? null : (offer.environments.find((e) => e.name === name) ?? null);
  if (request.profile !== undefined && !environment) reasons.push(environmentRefusal(set, user, request.profile, offer));
  const size = request.size === undefined ? null : (offer.sizes.find((s) => s.name === request.size) ?? null);
  if (request.size !== undefined && !size) reasons.push(sizeRefusal(set, request.size, offer, limits));
  const cpu = Math.min(size?.cpu ?? environment?.cpu ?? limits.cpu, limits.cpu);
  const memoryBytes = Math.min(size?.memory ?? environment?.memory ?? limits.memoryBytes, limits.memoryBytes);
  return { choice: { environment, size, cpu, memoryBytes }, reasons };
}

function environmentRefusal(set: PolicySet, user: PolicyUser, name: string, offer: Offer): PolicyReason {
  const yours = offer.environments.length ? `; yours: ${offer.environments.map((e) => e.name).join(", ")}` : "; none is offered to you";
  const owner = [set.defaultPolicy, ...set.overrides].find((p) => p.environments?.some((e) => e.name === name));
  if (!owner) {
    return { rule: "environment_unknown", policy: "built-in", message: `there is no environment named ${name}${yours}`, value: name };
  }
  const groups = user.groups.length ? user.groups.join(", ") : "no group";
  const message = `environment ${name} is offered to ${audienceOf(owner)}; you are in ${groups}${yours}`;
  return { rule: "environment_not_offered", policy: owner.name, message, value: name };
}

function sizeRefusal(set: PolicySet, name: string, offer: Offer, limits: EffectiveLimits): PolicyReason {
  const yours = offer.sizes.length ? `; yours: ${offer.sizes.map((s) => s.name).join(", ")}` : "; none is offered to you";
  const owner = [set.defaultPolicy, ...set.overrides].find((p) => p.sizes?.some((s) => s.name === name));
  const defined = owner?.sizes?.find((s) => s.name === name);
  if (owner && defined && (defined.cpu > limits.cpu + 1e-9 || defined.memory > limits.memoryBytes)) {
    const message = `size ${name} (${defined.cpu} CPU, ${formatBytes(defined.memory)}) is more than your policy allows per server (${limits.cpu} CPU, ${formatBytes(limits.memoryBytes)})${yours}`;
    return { rule: "size_too_large", policy: owner.name, message, value: name };
  }
  if (owner) return { rule: "size_not_offered", policy: owner.name, message: `size ${name} is offered to ${audienceOf(owner)}${yours}`, value: name };
  return { rule: "size_unknown", policy: "built-in", message: `there is no size named ${name}${yours}`, value: name };
}
