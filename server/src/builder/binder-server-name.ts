/**
 * The name of the server a Binder launch starts: `binder-<repo>` when that is free, else `binder-<rep>-<hash>`,
 * within the policy's length limit and the hub's server-name rules (policy/server-name.ts): lowercase letters,
 * digits and single hyphens, starting with a letter. Several launches of one repository get distinct names, so
 * a user can run two commits side by side.
 */
import { serverNameSafetyProblems } from "../policy/server-name.js";
import { shortHash } from "./hash.js";
import type { RepoSpec } from "./repo-spec.js";

const PREFIX = "binder";
const HASH = 4;
const MAX_TRIES = 100;

/** The repository's last path part as a name fragment: `My_Repo.jl` → `my-repo-jl`. */
function repoWord(spec: Pick<RepoSpec, "slug">): string {
  const last = spec.slug.split("/").filter(Boolean).at(-1) ?? "";
  return last.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

function cut(text: string, max: number): string {
  return text.slice(0, Math.max(0, max)).replace(/-+$/, "");
}

function valid(name: string, maxLength: number): boolean {
  return name.length > 0 && name.length <= maxLength && serverNameSafetyProblems(name).length === 0;
}

/**
 * A fresh server name for launching `spec`, not in `existing` (the user's current server names), at most
 * `maxLength` characters (the user's policy limit; 20 by default).
 */
export function binderServerName(
  spec: Pick<RepoSpec, "slug">,
  existing: Iterable<string>,
  maxLength = 20,
): string {
  const taken = new Set(existing);
  const stem = [PREFIX, repoWord(spec)].filter(Boolean).join("-");
  const plain = cut(stem, maxLength);
  if (valid(plain, maxLength) && !taken.has(plain)) return plain;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const hash = shortHash(`${spec.slug}#${attempt}`, HASH);
    // Too little room for "binder-…-hash": a letter then the hash still makes a valid, unique-enough name.
    const roomy = maxLength >= PREFIX.length + HASH + 2;
    const name = roomy ? `${cut(stem, maxLength - HASH - 1)}-${hash}` : `b${hash}`.slice(0, maxLength);
    if (valid(name, maxLength) && !taken.has(name)) return name;
  }
  throw new Error(`no free server name for ${spec.slug} within ${maxLength} characters`);
}
