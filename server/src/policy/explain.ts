/**
 * "Why does alice get 8 GB?": the effective value of every limit for a user, where it came from, and which other
 * matching policies lost (and why), for admins (`ganymede policy explain --user alice`, the admin API).
 * Built on resolveLimits, so the explanation can never disagree with what decide() enforces.
 */
import { formatBytes, formatDuration } from "../lib/units.js";
import { LIMIT_NAMES, type LimitName } from "./schema.js";
import type { PolicySet } from "./set.js";
import { matchingPolicies, resolveLimits, type PolicyUser } from "./resolve.js";
import { resolveRepositoryRules } from "./repositories.js";

export interface ExplainedLimit {
  limit: LimitName;
  /** Formatted for people: "2 GiB", "2h", "never", "1 CPU", "2 builds", "30m". */
  value: string;
  /** In internal units: bytes, milliseconds (null: never), cores, counts. */
  raw: number | null;
  /** The policy that set the value; `priority` is null for the default policy. */
  source: { policy: string; file: string; priority: number | null };
  /** Other matching policies that set this limit and lost, best first. */
  outranked: { policy: string; file: string; priority: number | null; value: string }[];
}

/** How a limit's value is shown. */
export function formatLimit(limit: LimitName, value: number | null): string {
  switch (limit) {
    case "idleTimeout":
    case "maxLifetime":
      return value === null ? "never" : formatDuration(value);
    case "lifetimeExtension":
      return value ? formatDuration(value) : "none";
    case "runningServers":
      return value === null ? "unlimited" : `${value} ${value === 1 ? "server" : "servers"}`;
    case "totalCpu":
      return value === null ? "unlimited" : `${Number(value.toFixed(3))} ${value > 1 ? "CPUs" : "CPU"}`;
    case "shares":
      return value ? `with up to ${value} ${value === 1 ? "user or group" : "users or groups"}` : "off";
    case "totalMemory":
    case "totalStorage":
      return value === null ? "unlimited" : formatBytes(value);
    case "storage":
    case "memory":
      return formatBytes(value ?? 0);
    case "cpu":
      return `${Number((value ?? 0).toFixed(3))} ${value !== null && value > 1 ? "CPUs" : "CPU"}`;
    case "serverNameMaxLength":
      return `${value} characters`;
    case "namedServers":
      return String(value);
    case "concurrentBuilds":
      return `${value} ${value === 1 ? "build" : "builds"}`;
    case "buildTimeout":
      return formatDuration(value ?? 0);
  }
}

export function explain(set: PolicySet, user: PolicyUser): ExplainedLimit[] {
  const { candidates } = resolveLimits(set, user);
  return LIMIT_NAMES.map((limit) => {
    const [winner, ...rest] = candidates[limit];
    // resolveLimits always includes the default policy, so there is a winner.
    const best = winner!;
    return {
      limit,
      value: formatLimit(limit, best.value),
      raw: best.value,
      source: { policy: best.policy, file: best.file, priority: best.priority },
      outranked: rest.map((c) => ({
        policy: c.policy,
        file: c.file,
        priority: c.priority,
        value: formatLimit(limit, c.value),
      })),
    };
  });
}

function describeSource(policy: string, priority: number | null): string {
  return priority === null ? `${policy} (default)` : `${policy} (priority ${priority})`;
}

/** The text `ganymede policy explain --user U` prints. */
export function policyExplainText(set: PolicySet, user: PolicyUser): string {
  const rows = explain(set, user);
  const matching = matchingPolicies(set, user);
  const lines = [
    `Effective policy for ${user.name} (groups: ${user.groups.length ? user.groups.join(", ") : "none"})`,
    `Policies that apply: ${[set.defaultPolicy, ...matching].map((p) => `${p.name} (${p.file})`).join(", ")}`,
    "",
  ];
  const table = rows.map((r) => [r.limit, r.value, `${r.source.policy} (${r.source.file})`]);
  const header = ["limit", "value", "set by"];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  lines.push(line(header), ...table.map(line));

  // Only overrides that lost are worth a note; the default policy losing to an override is the normal case.
  const notes = rows.flatMap((r) =>
    r.outranked
      .filter((o) => o.priority !== null)
      .map((o) => {
        const won = r.source.priority ?? 0;
        const why =
          won > (o.priority ?? 0)
            ? `higher priority (${won} > ${o.priority})`
            : o.value === r.value
              ? "same value, earlier file"
              : "more generous at equal priority";
        const loser = describeSource(o.policy, o.priority);
        return `${r.limit}: ${loser} would give ${o.value}; ${r.source.policy} wins: ${why}`;
      }),
  );
  if (notes.length) lines.push("", "Overridden:", ...notes.map((n) => `  ${n}`));
  lines.push("", ...repositoryLines(set, user));
  return `${lines.join("\n")}\n`;
}

/** The `Repositories` part of the explain text: allow lists, deny rules and private hosts, each with its policy. */
function repositoryLines(set: PolicySet, user: PolicyUser): string[] {
  const rules = resolveRepositoryRules(set, user);
  const from = (s: { policy: string; file: string }) => `${s.policy} (${s.file})`;
  const allowed = rules.allow.length
    ? rules.allow.map((a) => `${a.patterns.length ? a.patterns.join(", ") : "none"} — ${from(a)}`)
    : ["any repository (no policy that applies has an allow list)"];
  const denied = rules.deny.length ? rules.deny.map((d) => `${d.pattern}: ${d.reason} — ${from(d)}`) : ["none"];
  const [winner, ...losers] = rules.privateHostsCandidates;
  const yes = (v: boolean) => (v ? "allowed" : "not allowed");
  const privateHosts = winner
    ? `${yes(winner.value)} — ${from(winner)}`
    : "not allowed — built in (no policy that applies sets privateHosts)";
  const overridden = losers
    .filter((l) => l.priority !== null && l.value !== winner?.value)
    .map((l) => {
      const won = winner!.priority ?? 0;
      const why =
        won > (l.priority ?? 0) ? `higher priority (${won} > ${l.priority})` : "more generous at equal priority";
      return `    ${describeSource(l.policy, l.priority)} would say ${yes(l.value)}; ${winner!.policy} wins: ${why}`;
    });
  return [
    "Repositories (Binder launches):",
    ...allowed.map((a, i) => `  ${i === 0 ? "allowed:      " : "              "} ${a}`),
    ...denied.map((d, i) => `  ${i === 0 ? "denied:       " : "              "} ${d}`),
    `  private hosts: ${privateHosts}`,
    ...overridden,
  ];
}
