/**
 * BinderHub's launch specs, parsed into a RepoSpec with every syntactic check done (scheme, credentials, ref
 * format); whether the host is public needs DNS and is checked by checkRepoAccess (access.ts).
 *
 *   gh/<owner>/<repo>/<ref>                 GitHub; the ref may contain "/" (feature/x)
 *   gl/<url-escaped-project-path>/<ref>     GitLab, the path may name groups: group%2Fsub%2Frepo
 *   gist/<user>/<gist-id>/<ref>             the ref is optional
 *   git/<url-escaped-clone-url>/<ref>       any git repository the site allows (https; http where allowed)
 *
 * A missing ref means `HEAD` (the remote's default branch). Parts are percent-decoded once, so pass the raw path
 * as it appeared in the request URL (Express's `req.path`), not route parameters that were decoded already.
 */
import { SpecError } from "./errors.js";
import { checkRef } from "./git-ref.js";
import { checkRepoUrl } from "./repo-url.js";
import {
  DEFAULT_REF,
  DEFAULT_URL_RULES,
  PROVIDERS,
  providerHosts,
  type Provider,
  type RepoSpec,
  type RepoUrlRules,
} from "./repo-spec.js";
import { shown } from "./show.js";

const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const GITHUB_REPO = /^[A-Za-z0-9._-]{1,100}$/;
const GITLAB_PART = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const GIST_ID = /^[0-9a-f]{1,64}$/;

const USAGE: Record<Provider, string> = {
  gh: "gh/<owner>/<repo>/<ref>",
  gl: "gl/<url-escaped-project-path>/<ref>",
  gist: "gist/<user>/<gist-id>/<ref>",
  git: "git/<url-escaped-url>/<ref>",
};

function specError(message: string): SpecError {
  return new SpecError("spec_format", message, "spec");
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw specError(`the ${what} in the launch spec is not valid percent-encoding: ${shown(part)}`);
  }
}

function refFrom(rest: string[]): string {
  const joined = rest.join("/");
  return checkRef(joined === "" ? DEFAULT_REF : decode(joined, "ref"));
}

function stripGit(name: string): string {
  return name.endsWith(".git") ? name.slice(0, -4) : name;
}

/** The canonical spec for a provider's repository part (already validated) and a ref. */
function formatSpec(provider: Provider, repoPart: string, ref: string): string {
  return `${provider}/${repoPart}/${encodeURIComponent(ref)}`;
}

function parseGitHub(parts: string[], rules: RepoUrlRules): RepoSpec {
  const [owner = "", rawRepo = "", ...rest] = parts;
  const repo = stripGit(rawRepo);
  if (!GITHUB_OWNER.test(owner) || !GITHUB_REPO.test(repo) || repo === "." || repo === "..") {
    throw specError(`GitHub specs look like ${USAGE.gh}; got gh/${shown(parts.join("/"))}`);
  }
  const ref = refFrom(rest);
  const host = providerHosts(rules).github;
  return {
    provider: "gh",
    repoUrl: `https://${host}/${owner}/${repo}`,
    ref,
    slug: `${host}/${owner}/${repo}`.toLowerCase(),
    displayName: `${owner}/${repo}`,
    spec: formatSpec("gh", `${owner}/${repo}`, ref),
  };
}

function parseGitLab(parts: string[], rules: RepoUrlRules): RepoSpec {
  const [escaped = "", ...rest] = parts;
  const path = decode(escaped, "project path").split("/");
  path[path.length - 1] = stripGit(path.at(-1)!);
  if (path.length < 2 || !path.every((p) => GITLAB_PART.test(p) && !p.includes(".."))) {
    throw specError(
      `GitLab specs look like ${USAGE.gl}, the project path url-escaped (group%2Frepo); got gl/${shown(parts.join("/"))}`,
    );
  }
  const ref = refFrom(rest);
  const host = providerHosts(rules).gitlab;
  const project = path.join("/");
  return {
    provider: "gl",
    repoUrl: `https://${host}/${project}.git`,
    ref,
    slug: `${host}/${project}`.toLowerCase(),
    displayName: project,
    spec: formatSpec("gl", encodeURIComponent(project), ref),
  };
}

function parseGist(parts: string[], rules: RepoUrlRules): RepoSpec {
  const [user = "", id = "", ...rest] = parts;
  if (!GITHUB_OWNER.test(user) || !GIST_ID.test(id)) {
    throw specError(`Gist specs look like ${USAGE.gist} (a hexadecimal gist id); got gist/${shown(parts.join("/"))}`);
  }
  const ref = refFrom(rest);
  const host = providerHosts(rules).gist;
  return {
    provider: "gist",
    repoUrl: `https://${host}/${user}/${id}.git`,
    ref,
    // The id alone identifies a gist; the user part is decoration.
    slug: `${host}/${id}`,
    displayName: `${user}/${id}`,
    spec: formatSpec("gist", `${user}/${id}`, ref),
  };
}

function parseGit(parts: string[], rules: RepoUrlRules): RepoSpec {
  const [escaped = "", ...rest] = parts;
  const raw = decode(escaped, "repository URL");
  if (!raw.includes("://") && !raw.includes("::") && !/^[\w.-]+@/.test(raw)) {
    throw specError(
      `git specs look like ${USAGE.git}, the URL url-escaped (https%3A%2F%2F…); got git/${shown(parts.join("/"))}`,
    );
  }
  const url = checkRepoUrl(raw, rules);
  const ref = refFrom(rest);
  const name = `${url.host}${stripGit(url.pathname)}`;
  return {
    provider: "git",
    repoUrl: url.href,
    ref,
    slug: name,
    displayName: name,
    spec: formatSpec("git", encodeURIComponent(url.href), ref),
  };
}

const PARSERS: Record<Provider, (parts: string[], rules: RepoUrlRules) => RepoSpec> = {
  gh: parseGitHub,
  gl: parseGitLab,
  gist: parseGist,
  git: parseGit,
};

export function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** Parses the part after the provider prefix, e.g. ("gh", "binder-examples/requirements/main"). */
export function parseSpec(provider: string, spec: string, rules: RepoUrlRules = DEFAULT_URL_RULES): RepoSpec {
  if (!isProvider(provider)) {
    throw specError(`unknown repository provider ${shown(provider)}; this site supports ${PROVIDERS.join(", ")}`);
  }
  const parts = spec.replace(/^\/+/, "").split("/");
  if (parts.length > 0 && parts.at(-1) === "") parts.pop(); // a trailing slash names no ref
  return PARSERS[provider](parts, rules);
}

/** Parses a whole spec path such as `gh/owner/repo/main` (without the `/v2/` or `/build/` route prefix). */
export function parseSpecPath(path: string, rules: RepoUrlRules = DEFAULT_URL_RULES): RepoSpec {
  const trimmed = path.replace(/^\/+/, "");
  const slash = trimmed.indexOf("/");
  if (slash <= 0) throw specError(`a launch spec looks like ${USAGE.gh}; got ${shown(path)}`);
  return parseSpec(trimmed.slice(0, slash), trimmed.slice(slash + 1), rules);
}

/**
 * The canonical spec for a repository: `gh` takes "owner/repo", `gl` "group/sub/repo", `gist` "user/id" and
 * `git` the clone URL. Validated like a parsed spec, so the result always parses back to the same repository.
 */
export function specFor(
  provider: Provider,
  repo: string,
  ref: string = DEFAULT_REF,
  rules: RepoUrlRules = DEFAULT_URL_RULES,
): string {
  const repoPart = provider === "gl" || provider === "git" ? encodeURIComponent(repo) : repo;
  return parseSpec(provider, `${repoPart}/${encodeURIComponent(ref)}`, rules).spec;
}
