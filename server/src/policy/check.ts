/**
 * `ganymede policy check [dir]`: validates a policy directory the way the hub would load it and prints every
 * problem at once, so an administrator can fix a whole edit before the hub (or CI) sees it.
 */
import { loadPolicyDir } from "./load.js";
import type { Policy } from "./set.js";

function appliesTo(policy: Policy): string {
  if (policy.appliesTo.default) return "everyone (default)";
  const parts = [
    ...(policy.appliesTo.groups?.length ? [`groups ${policy.appliesTo.groups.join(", ")}`] : []),
    ...(policy.appliesTo.users?.length ? [`users ${policy.appliesTo.users.join(", ")}`] : []),
  ];
  return `${parts.join("; ")}, priority ${policy.priority ?? 0}`;
}

export async function policyCheckReport(dir: string): Promise<{ ok: boolean; text: string }> {
  const result = await loadPolicyDir(dir);
  const lines: string[] = [];
  for (const file of result.files) {
    lines.push(`${file.valid ? "ok      " : "INVALID "} ${file.file}${file.name ? ` (${file.name})` : ""}`);
    for (const problem of file.problems) lines.push(`           ${problem}`);
  }
  // Problems of the whole directory (no default policy, unreadable folder) are not attached to a file.
  const fileNames = new Set(result.files.map((f) => f.file));
  for (const problem of result.problems) {
    if (![...fileNames].some((f) => problem.startsWith(`${f}: `))) lines.push(problem);
  }
  if (result.set) {
    const policies = [result.set.defaultPolicy, ...result.set.overrides];
    lines.push("", `${policies.length} ${policies.length === 1 ? "policy" : "policies"} valid:`);
    for (const p of policies) lines.push(`  ${p.name}: ${appliesTo(p)}`);
  } else {
    const count = result.problems.length;
    const noun = count === 1 ? "problem" : "problems";
    lines.push("", `${count} ${noun}: a running hub keeps its previous policies; a starting hub refuses to start.`);
  }
  return { ok: result.set !== undefined, text: `${lines.join("\n")}\n` };
}
