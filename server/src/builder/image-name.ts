/**
 * Image names: `<prefix><escaped-repo-slug>:<commit>`, so an image is found again by repository and commit (the
 * build cache key) and is valid for every OCI registry: lowercase path components of `[a-z0-9]+([._-][a-z0-9]+)*`,
 * at most 255 characters for the whole name, a tag of at most 128.
 *
 * Like BinderHub's build slugs, the readable part is lossy (case folded, punctuation turned into "-", cut to a
 * length), so a hash of the full slug always follows it: `Owner/Repo` on a case-sensitive host and `owner/repo`
 * never share an image, nor do two long paths that agree on their first 100 characters.
 */
import { shortHash } from "./hash.js";
import type { RepoSpec } from "./repo-spec.js";

const MAX_NAME = 255;
/** A readable part longer than this helps nobody; the hash carries uniqueness. */
const MAX_READABLE = 100;
const HASH_LENGTH = 8;
const PATH_COMPONENT = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Problems with an image repository name (no tag); empty when a registry accepts it. */
export function imageRepositoryProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length > MAX_NAME) problems.push(`it is ${name.length} characters; registries allow ${MAX_NAME}`);
  const parts = name.split("/");
  // As in Docker's reference grammar: a first part with a "." or ":" (or "localhost") is the registry host.
  const first = parts[0] ?? "";
  const hasDomain = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasDomain && !DOMAIN.test(first)) problems.push(`registry host ${JSON.stringify(first)} is not a host[:port]`);
  const bad = (hasDomain ? parts.slice(1) : parts).filter((p) => !PATH_COMPONENT.test(p));
  if (bad.length) {
    problems.push(
      `${bad.map((p) => JSON.stringify(p)).join(", ")} must be lowercase letters and digits, ` +
        'single ".", "_" or "-" between them',
    );
  }
  return problems;
}

/** Problems with a configured prefix (e.g. "registry.example.org/binder/" or "ganymede-"), for config validation. */
export function imagePrefixProblems(prefix: string): string[] {
  // The prefix is valid if a name built on it is: try with a plain slug part.
  return imageRepositoryProblems(`${prefix}x`).filter((p) => !p.startsWith("it is"));
}

/** The readable, registry-safe form of a repository slug (possibly empty). */
export function escapeSlug(slug: string, max = MAX_READABLE): string {
  const escaped = slug.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return escaped.slice(0, Math.max(0, max)).replace(/-+$/, "");
}

/** The image repository for a repository (no tag): `<prefix><readable-slug>-<hash>`. */
export function imageRepository(prefix: string, spec: Pick<RepoSpec, "slug">): string {
  const hash = shortHash(spec.slug, HASH_LENGTH);
  const room = Math.min(MAX_READABLE, MAX_NAME - prefix.length - HASH_LENGTH - 1);
  const readable = escapeSlug(spec.slug, room);
  const name = `${prefix}${readable ? `${readable}-` : ""}${hash}`;
  const problems = imageRepositoryProblems(name);
  if (problems.length) {
    throw new Error(`image prefix ${JSON.stringify(prefix)} gives an invalid image name: ${problems.join("; ")}`);
  }
  return name;
}

/** The full image reference `<repository>:<commit>`; the commit must be a full id (resolve the ref first). */
export function imageName(prefix: string, spec: Pick<RepoSpec, "slug">, commit: string): string {
  if (!COMMIT.test(commit)) throw new Error(`image tags are full commit ids; got ${JSON.stringify(commit)}`);
  return `${imageRepository(prefix, spec)}:${commit}`;
}
