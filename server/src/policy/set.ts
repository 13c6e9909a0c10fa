/**
 * A PolicySet is a validated directory of policies: exactly one default policy plus any number of overrides.
 * Building one is pure (no file access) so it can be tested and reused with data from anywhere; load.ts feeds it.
 * A set is all or nothing: if any file is wrong there is no set, because dropping one broken override would silently
 * change some users' limits. The engine keeps the previous set instead.
 */
import { policyFileSchema, type PolicyFile } from "./schema.js";
import { formatIssue } from "./issues.js";

/** A validated policy and the file it came from (as displayed: the directory joined with the file name). */
export interface Policy extends PolicyFile {
  file: string;
}

export interface PolicySet {
  /** The policy with `appliesTo: { default: true }`; it sets every limit. */
  readonly defaultPolicy: Policy;
  /** Every other policy, in file name order. */
  readonly overrides: readonly Policy[];
}

/** What became of one file, for `policy check` and the admin status. Problems here carry no file prefix. */
export interface FileReport {
  file: string;
  /** The policy's name when it could be read. */
  name?: string;
  valid: boolean;
  problems: string[];
}

export interface PolicySetResult {
  set?: PolicySet;
  /** Every problem, each starting with its file (or the directory for problems of the whole set). */
  problems: string[];
  files: FileReport[];
}

/**
 * One file's outcome. `claimsDefault` says whether the file means to be the default policy even when it is broken
 * (undefined: unreadable, so unknown), so that a broken default.yaml is not also reported as "no default policy".
 */
export interface PolicyEntry {
  policy?: Policy;
  report: FileReport;
  claimsDefault?: boolean;
}

/** Validates one parsed policy document. */
export function validatePolicy(file: string, data: unknown): PolicyEntry {
  const result = policyFileSchema.safeParse(data);
  const raw = (data !== null && typeof data === "object" ? data : {}) as { name?: unknown; appliesTo?: unknown };
  const name = typeof raw.name === "string" ? raw.name : undefined;
  const applies = raw.appliesTo;
  const claimsDefault =
    applies !== null && typeof applies === "object" && (applies as { default?: unknown }).default === true;
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => formatIssue(issue, data));
    return { report: { file, name, valid: false, problems }, claimsDefault };
  }
  return { policy: { ...result.data, file }, report: { file, name, valid: true, problems: [] }, claimsDefault };
}

/**
 * Cross-file checks (unique names, exactly one default) over per-file results, then the set.
 * `label` names the whole collection in problems that belong to no single file (usually the directory).
 */
export function assemblePolicySet(label: string, entries: readonly PolicyEntry[]): PolicySetResult {
  const reports = entries.map((e) => ({ ...e.report, problems: [...e.report.problems] }));
  const valid = entries.flatMap((e, i) => (e.policy ? [{ policy: e.policy, report: reports[i]! }] : []));
  const setProblems: string[] = [];

  const byName = new Map<string, { policy: Policy; report: FileReport }[]>();
  for (const entry of valid) byName.set(entry.policy.name, [...(byName.get(entry.policy.name) ?? []), entry]);
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    for (const entry of same) {
      const others = same.filter((o) => o !== entry).map((o) => o.policy.file);
      entry.report.problems.push(`name: "${name}" is also the name of ${others.join(", ")}; names must be unique`);
    }
  }

  // Environments and sizes are asked for by name: each name means one thing in the whole set.
  for (const key of ["environments", "sizes"] as const) {
    const seen = new Map<string, string>();
    for (const entry of valid) {
      for (const [i, item] of (entry.policy[key] ?? []).entries()) {
        const first = seen.get(item.name);
        if (first) entry.report.problems.push(`${key}[${i}].name: "${item.name}" is also defined in ${first}; names must be unique`);
        else seen.set(item.name, entry.policy.file);
      }
    }
  }

  const defaults = valid.filter((e) => e.policy.appliesTo.default);
  if (defaults.length > 1) {
    const files = defaults.map((d) => d.policy.file).join(", ");
    for (const entry of defaults) {
      entry.report.problems.push(`appliesTo.default: ${files} are all default policies; exactly one may be`);
    }
  }
  // Only blame the directory when no file at all claims to be the default (a broken default file says so itself).
  const brokenDefault = entries.some((e) => !e.policy && e.claimsDefault !== false);
  if (entries.length === 0) {
    setProblems.push(`${label}: no policy files (*.yaml, *.yml); at least the default policy is needed`);
  } else if (defaults.length === 0 && !brokenDefault) {
    setProblems.push(`${label}: no default policy; one file must have \`appliesTo: { default: true }\``);
  }

  for (const report of reports) report.valid = report.problems.length === 0;
  const problems = [...reports.flatMap((r) => r.problems.map((p) => `${r.file}: ${p}`)), ...setProblems];
  if (problems.length > 0 || !defaults[0]) return { problems, files: reports };
  const defaultPolicy = defaults[0].policy;
  const overrides = valid.map((e) => e.policy).filter((p) => p !== defaultPolicy);
  return { set: { defaultPolicy, overrides }, problems, files: reports };
}

/** Whom a policy applies to, in words: "everyone", "group ml-research", "groups a, b and user x". */
export function audienceOf(policy: Policy): string {
  if (policy.appliesTo.default) return "everyone";
  const parts: string[] = [];
  const groups = policy.appliesTo.groups ?? [];
  const users = policy.appliesTo.users ?? [];
  if (groups.length) parts.push(`${groups.length === 1 ? "group" : "groups"} ${groups.join(", ")}`);
  if (users.length) parts.push(`${users.length === 1 ? "user" : "users"} ${users.join(", ")}`);
  return parts.join(" and ");
}

/** Builds a set from already-parsed documents, e.g. `[{ file: "default.yaml", data: { name: "default", … } }]`. */
export function policySetFromObjects(
  label: string,
  documents: readonly { file: string; data: unknown }[],
): PolicySetResult {
  return assemblePolicySet(label, documents.map((d) => validatePolicy(d.file, d.data)));
}
