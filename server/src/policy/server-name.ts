/**
 * The server name rule: lowercase ASCII letters, digits and single hyphens, starting with a letter, not ending with
 * a hyphen, and no longer than the policy allows (at most 63). Such a name is safe unescaped in a URL path, a DNS
 * label and a Kubernetes object name, and cannot smuggle `..`, `/` or a look-alike letter (Cyrillic "а") into any
 * of them. The character rules are fixed by the hub; only the length is a policy limit.
 * Each check names its rule so the refusal says exactly what to change.
 */

/** A broken rule, before the policy that owns it is attached. */
export interface NameProblem {
  rule: "server_name_empty" | "server_name_characters" | "server_name_start" | "server_name_hyphens";
  message: string;
  value?: number | string;
}

const ALLOWED = /^[a-z0-9-]$/;
const ONLY_ALLOWED = "server names may contain only lowercase letters a-z, digits and hyphens";
/** Longer names are cut in messages: a 5000-character name must not become a 5000-character log line. */
const MAX_SHOWN = 40;

/** The name as it appears in messages: quoted, escaped (no control characters in logs) and shortened if huge. */
export function quoteName(name: string): string {
  const chars = [...name];
  return JSON.stringify(chars.length > MAX_SHOWN ? `${chars.slice(0, MAX_SHOWN).join("")}…` : name);
}

/** `"W"`, or `"а" (U+0430)` when the character is not printable ASCII, so a look-alike is visibly not the letter. */
function showChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (code > 0x20 && code < 0x7f) return JSON.stringify(ch);
  if (code <= 0x20 || (code >= 0x7f && code <= 0x9f)) return hex;
  return `${JSON.stringify(ch)} (${hex})`;
}

/** Rules that keep a name safe wherever it is used; they hold for every server, old or new. */
export function serverNameSafetyProblems(name: string): NameProblem[] {
  const shown = quoteName(name);
  if (name === "") return [{ rule: "server_name_empty", message: "a named server needs a name" }];
  const problems: NameProblem[] = [];
  const chars = [...name];
  const bad = [...new Set(chars.filter((ch) => !ALLOWED.test(ch)))];
  if (bad.length > 0) {
    const listed = bad.slice(0, 5).map(showChar).join(", ") + (bad.length > 5 ? ", …" : "");
    problems.push({
      rule: "server_name_characters",
      message: `server name ${shown} contains ${listed}; ${ONLY_ALLOWED}`,
      value: listed,
    });
  }
  const first = chars[0]!;
  // A first character that is not allowed at all is already reported above; here: a digit or a hyphen.
  if (ALLOWED.test(first) && !/[a-z]/.test(first)) {
    problems.push({
      rule: "server_name_start",
      message: `server name ${shown} starts with "${first}"; server names must start with a letter a-z`,
      value: first,
    });
  }
  const hyphenIssues = [
    ...(name.includes("--") ? ["has two hyphens in a row"] : []),
    ...(name.length > 1 && name.endsWith("-") ? ["ends with a hyphen"] : []),
  ];
  if (hyphenIssues.length > 0) {
    problems.push({
      rule: "server_name_hyphens",
      message: `server name ${shown} ${hyphenIssues.join(" and ")}; a hyphen must sit alone between letters or digits`,
    });
  }
  return problems;
}

/** A name's length as people count it: in characters (code points), not UTF-16 units. */
export function nameLength(name: string): number {
  return [...name].length;
}
