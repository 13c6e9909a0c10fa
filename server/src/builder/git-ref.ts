/**
 * Refs are checked with git's own check-ref-format rules (plus "one level" names such as `main`) before git sees
 * them, and anything that git could read as an option is refused outright: `git ls-remote -- <url> <ref>` ends
 * option parsing, but the ref also reaches `git fetch` and `git checkout` later, where one slip would turn
 * `--upload-pack=…` into a command.
 */
import { SpecError } from "./errors.js";
import { shown } from "./show.js";

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Long enough for any real branch or tag; git itself has no limit, but filesystems do. */
const MAX_REF_LENGTH = 255;

/** A full SHA-1 (or SHA-256) commit id, which needs no resolving. */
export function isCommitId(ref: string): boolean {
  return COMMIT.test(ref);
}

/** The problems git's check-ref-format would report, worded for people; empty when the ref is fine. */
export function refProblems(ref: string): string[] {
  if (ref === "") return ["it is empty"];
  if (isCommitId(ref)) return [];
  const problems: string[] = [];
  if ([...ref].length > MAX_REF_LENGTH) problems.push(`it is longer than ${MAX_REF_LENGTH} characters`);
  if (/[\x00-\x20\x7f]/.test(ref)) problems.push("it contains a space or control character");
  const specials = [...new Set(ref.match(/[~^:?*[\\]/g) ?? [])];
  if (specials.length) problems.push(`it contains ${specials.map((c) => `"${c}"`).join(", ")}`);
  if (ref.includes("..")) problems.push('it contains ".."');
  if (ref.includes("@{")) problems.push('it contains "@{"');
  if (ref === "@") problems.push('it is "@"');
  if (ref.startsWith("/") || ref.endsWith("/") || ref.includes("//")) {
    problems.push('it starts or ends with "/" or contains "//"');
  }
  if (ref.endsWith(".")) problems.push('it ends with "."');
  const parts = ref.split("/");
  if (parts.some((p) => p.startsWith("."))) problems.push('a part of it starts with "."');
  if (parts.some((p) => p.endsWith(".lock"))) problems.push('a part of it ends with ".lock"');
  return problems;
}

/** Returns the ref, or throws SpecError naming every rule it breaks. */
export function checkRef(ref: string): string {
  if (ref.startsWith("-")) {
    throw new SpecError(
      "ref_option",
      `ref ${shown(ref)} starts with "-", which git would read as an option; refs must not start with "-"`,
      "ref",
    );
  }
  const problems = refProblems(ref);
  if (problems.length) {
    throw new SpecError(
      "ref_format",
      `ref ${shown(ref)} is not a valid git ref: ${problems.join("; ")} (git check-ref-format)`,
      "ref",
    );
  }
  return ref;
}
