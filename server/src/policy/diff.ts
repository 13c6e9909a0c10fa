/**
 * "What would this policy change do to whom?" before it is deployed (`ganymede policy diff <dir>`): every user's
 * effective limits and repository rules under the policies in force and under a proposed set, and what differs.
 * Users whose changes are identical are reported together, so a change to a group of thousands is one entry. Built on
 * explain() and resolveRepositoryRules(), so the preview cannot disagree with what decide() would enforce.
 */
import path from "node:path";
import { explain } from "./explain.js";
import { resolveRepositoryRules } from "./repositories.js";
import type { PolicyUser } from "./resolve.js";
import type { LimitName } from "./schema.js";
import type { PolicySet } from "./set.js";

/** One value that changes for a user, formatted for people, with the policy it comes from before and after. */
export interface PolicyChange {
  /** A limit name, or `repositories.allow`, `repositories.deny`, `repositories.privateHosts`. */
  setting: LimitName | "repositories.allow" | "repositories.deny" | "repositories.privateHosts";
  from: string;
  to: string;
  /** Which policies set the value before and after: name and file name ("default (default.yaml)"). */
  fromSource: string;
  toSource: string;
}

/** Users whose changes are the same, and those changes. */
export interface PolicyDiffEntry {
  users: string[];
  changes: PolicyChange[];
}

export interface PolicyDiff {
  /** How many users were compared. */
  compared: number;
  /** Entries with changes, the largest group of users first. */
  changed: PolicyDiffEntry[];
  /** How many compared users see no change. */
  unchanged: number;
}

/** A policy as a source: its name and file name (not the folder: the proposed set lives in another one). */
const sourceOf = (s: { policy: string; file: string }) => `${s.policy} (${path.basename(s.file)})`;

/** A user's settings as comparable strings: value and source for each. */
function settings(set: PolicySet, user: PolicyUser): Map<PolicyChange["setting"], { value: string; source: string }> {
  const out = new Map<PolicyChange["setting"], { value: string; source: string }>();
  for (const row of explain(set, user)) {
    out.set(row.limit, { value: row.value, source: sourceOf(row.source) });
  }
  const rules = resolveRepositoryRules(set, user);
  const from = (sources: { policy: string }[]) => [...new Set(sources.map((s) => s.policy))].join(", ") || "none";
  out.set("repositories.allow", {
    value: rules.allow.length ? [...new Set(rules.allow.flatMap((a) => a.patterns))].sort().join(", ") || "none" : "any repository",
    source: from(rules.allow),
  });
  out.set("repositories.deny", { value: [...new Set(rules.deny.map((d) => d.pattern))].sort().join(", ") || "none", source: from(rules.deny) });
  out.set("repositories.privateHosts", {
    value: rules.privateHosts ? "allowed" : "not allowed",
    source: rules.privateHostsSource ? sourceOf(rules.privateHostsSource) : "built in",
  });
  return out;
}

/** What changes for each user between `current` and `proposed`. A change of source alone (same value) counts. */
export function diffPolicySets(current: PolicySet, proposed: PolicySet, users: readonly PolicyUser[]): PolicyDiff {
  const byChanges = new Map<string, PolicyDiffEntry>();
  let unchanged = 0;
  for (const user of users) {
    const before = settings(current, user);
    const after = settings(proposed, user);
    const changes: PolicyChange[] = [];
    for (const [setting, was] of before) {
      const now = after.get(setting)!;
      if (was.value !== now.value || was.source !== now.source) {
        changes.push({ setting, from: was.value, to: now.value, fromSource: was.source, toSource: now.source });
      }
    }
    if (!changes.length) {
      unchanged++;
      continue;
    }
    const key = JSON.stringify(changes);
    const entry = byChanges.get(key) ?? { users: [], changes };
    entry.users.push(user.name);
    byChanges.set(key, entry);
  }
  const changed = [...byChanges.values()].sort((a, b) => b.users.length - a.users.length || a.users[0]!.localeCompare(b.users[0]!));
  return { compared: users.length, changed, unchanged };
}

/** The text `ganymede policy diff` prints; at most `listUsers` names per entry. */
export function policyDiffText(diff: PolicyDiff, listUsers = 10): string {
  const lines: string[] = [];
  for (const entry of diff.changed) {
    const names = entry.users.slice(0, listUsers).join(", ");
    const more = entry.users.length > listUsers ? `, … (${entry.users.length - listUsers} more)` : "";
    lines.push(`${entry.users.length} ${entry.users.length === 1 ? "user" : "users"}: ${names}${more}`);
    for (const c of entry.changes) {
      const sources = c.fromSource === c.toSource ? c.toSource : `${c.fromSource} → ${c.toSource}`;
      const value = c.from === c.to ? `${c.to} (unchanged value)` : `${c.from} → ${c.to}`;
      lines.push(`  ${c.setting}: ${value}  [${sources}]`);
    }
    lines.push("");
  }
  const changedUsers = diff.compared - diff.unchanged;
  lines.push(`${changedUsers} of ${diff.compared} ${diff.compared === 1 ? "user" : "users"} would see a change; ${diff.unchanged} would not.`);
  return `${lines.join("\n")}\n`;
}
