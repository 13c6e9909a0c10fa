/**
 * A policy reload as the audit trail records it: which policies were added, removed or changed (by name), or why the
 * new files were refused (the previous set staying in force).
 */
import type { PolicyReloadEvent, PolicySet } from "../policy/index.js";
import type { AuditInput } from "./trail.js";

function byName(set: PolicySet): Map<string, string> {
  // The content without the path: the same policy read from a remounted folder is no change.
  return new Map([set.defaultPolicy, ...set.overrides].map(({ file: _file, ...policy }) => [policy.name, JSON.stringify(policy)]));
}

export function policyReloadEvent(event: PolicyReloadEvent): AuditInput {
  if (!event.ok) {
    return { actor: "hub", actorKind: "hub", action: "policy.reload", outcome: "failed", detail: { problems: event.problems, kept: "the previous policies stay in force" } };
  }
  const [before, after] = [byName(event.before), byName(event.after)];
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const changed = [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name));
  return { actor: "hub", actorKind: "hub", action: "policy.reload", outcome: "ok", detail: { added, removed, changed } };
}
