/**
 * Turns zod issues into the one-line problems administrators read: `limits.memory: "8XB" is not a size`.
 * zod's own texts ("Invalid input: expected number, received string") are shortened, and unknown keys get a
 * "did you mean" when only the letter case is wrong, the most common slip in hand-written YAML.
 */
import type { z } from "zod";
import { KNOWN_KEYS } from "./schema.js";

/** ["appliesTo", "groups", 1] → "appliesTo.groups[1]". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function withPath(path: string, message: string): string {
  return path ? `${path}: ${message}` : message;
}

function unknownKey(parent: string, key: string): string {
  const known = KNOWN_KEYS[parent.replace(/\[\d+\]/g, "[]")] ?? [];
  const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
  const hint = near ? `did you mean "${near}"?` : `known fields: ${known.join(", ")}`;
  return withPath(parent ? `${parent}.${key}` : key, `unknown field (${hint})`);
}

const EXPECTED: Record<string, string> = { int: "a whole number", object: "a mapping", array: "a list" };

function typeMessage(issue: z.core.$ZodIssueInvalidType, input: unknown): string {
  const expected = EXPECTED[issue.expected] ?? issue.expected;
  if (input === undefined) return `is required (${expected})`;
  return `expected ${expected}, got ${describe(input)}`;
}

/** "must be at most 63, got 64" instead of zod's "Too big: expected number to be <=63". */
function rangeMessage(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall, input: unknown): string {
  const big = issue.code === "too_big";
  const bound = Number(big ? issue.maximum : issue.minimum);
  const inclusive = issue.inclusive !== false;
  const word = big ? (inclusive ? "at most" : "less than") : inclusive ? "at least" : "more than";
  const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " entries" : "";
  const got = typeof input === "number" ? `, got ${input}` : "";
  return `must be ${word} ${bound}${unit}${got}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return String(value);
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** One zod issue → one or more problem lines (an unrecognized_keys issue names several keys). */
export function formatIssue(issue: z.core.$ZodIssue, root: unknown): string[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => unknownKey(path, key));
    case "invalid_type":
      return [withPath(path, typeMessage(issue, valueAt(root, issue.path)))];
    case "too_big":
    case "too_small":
      return [withPath(path, rangeMessage(issue, valueAt(root, issue.path)))];
    case "invalid_union": {
      // Our unions are "text or number" quantities; say what was expected instead of zod's "Invalid input".
      const expected = issue.errors.flat().flatMap((i) => (i.code === "invalid_type" ? [i.expected] : []));
      const input = valueAt(root, issue.path);
      const got = input === undefined ? "nothing" : describe(input);
      return [withPath(path, expected.length ? `expected ${expected.join(" or ")}, got ${got}` : issue.message)];
    }
    default:
      return [withPath(path, issue.message.replace(/^Invalid input: /, ""))];
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}
