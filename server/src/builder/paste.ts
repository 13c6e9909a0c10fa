/**
 * What a person pastes into the Binder form, turned into the best provider's spec: a GitHub, GitLab or Gist page
 * URL (including `/tree/<ref>/…` and `/blob/<ref>/<file>` links, whose ref and file are kept), an `owner/repo`
 * shorthand for GitHub, or any other git URL (the `git` provider, with its scheme and credential checks).
 */
import { SpecError } from "./errors.js";
import { DEFAULT_URL_RULES, providerHosts, type RepoSpec, type RepoUrlRules } from "./repo-spec.js";
import { parseSpec } from "./spec.js";
import { shown } from "./show.js";

export interface PastedRepo {
  spec: RepoSpec;
  /** A file the pasted link pointed at (`/blob/<ref>/<file>`), to open after launch. */
  filepath?: string;
  /** A folder the pasted link pointed at (`/tree/<ref>/<dir>`). */
  urlpath?: string;
}

const enc = encodeURIComponent;

interface PagePath {
  repo: string[];
  kind?: string;
  ref?: string;
  path?: string;
}

/**
 * Splits a repository page path: GitHub's `<owner>/<repo>/tree/<ref>/<path>` (repoParts 2) or GitLab's
 * `<group>/…/<repo>/-/blob/<ref>/<file>` (after the "-" part). A plain repository path has no kind.
 */
function splitPage(parts: string[], gitlab: boolean): PagePath {
  const at = gitlab ? parts.indexOf("-") : 2;
  const offset = gitlab ? 1 : 0;
  const kind = parts[at + offset];
  if (at < 2 || (kind !== "tree" && kind !== "blob") || parts[at + offset + 1] === undefined) return { repo: parts };
  const rest = parts.slice(at + offset + 1);
  return { repo: parts.slice(0, at), kind, ref: rest[0], path: rest.slice(1).join("/") || undefined };
}

function withTarget(spec: RepoSpec, kind: string | undefined, path: string | undefined): PastedRepo {
  if (!path) return { spec };
  return kind === "blob" ? { spec, filepath: path } : { spec, urlpath: path };
}

/**
 * Parses pasted text; `ref` (from the form's ref field) is used when the URL names none. Throws SpecError with
 * the same rules as a launch spec.
 */
export function parsePastedRepo(text: string, ref?: string, rules: RepoUrlRules = DEFAULT_URL_RULES): PastedRepo {
  const input = text.trim();
  const given = ref?.trim() || undefined;
  if (input === "") throw new SpecError("spec_format", "paste a repository URL (https://…) or owner/repo", "repo");
  const hosts = providerHosts(rules);
  // owner/repo shorthand: GitHub, as on mybinder.org.
  if (/^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/.test(input)) {
    return { spec: parseSpec("gh", `${input}/${enc(given ?? "")}`, rules) };
  }
  let url: URL | undefined;
  try {
    url = new URL(input);
  } catch {
    url = undefined;
  }
  if (url && url.protocol === "https:" && !url.username && !url.password && !url.search && !url.hash) {
    const parts = url.pathname.split("/").filter(Boolean).map((p) => decodeURIComponentSafe(p));
    const host = url.hostname;
    if (host === hosts.github && parts.length >= 2) {
      const page = splitPage(parts, false);
      if (page.repo.length !== 2) {
        const message = `${shown(input)} is a GitHub page, not a repository (https://${host}/owner/repo)`;
        throw new SpecError("url_format", message, "repo");
      }
      const spec = parseSpec("gh", `${page.repo.join("/")}/${enc(page.ref ?? given ?? "")}`, rules);
      return withTarget(spec, page.kind, page.path);
    }
    if (host === hosts.gitlab && parts.length >= 2) {
      const page = splitPage(parts, true);
      const spec = parseSpec("gl", `${enc(page.repo.join("/"))}/${enc(page.ref ?? given ?? "")}`, rules);
      return withTarget(spec, page.kind, page.path);
    }
    if (host === hosts.gist && parts.length >= 2 && parts.length <= 3) {
      const [user, id, revision] = parts as [string, string, string | undefined];
      return { spec: parseSpec("gist", `${user}/${stripGit(id)}/${enc(revision ?? given ?? "")}`, rules) };
    }
  }
  if (!url && !/^[\w.-]+@[\w.-]+:/.test(input) && !input.includes("::")) {
    throw new SpecError("url_format", `${shown(input)} is not a repository URL (https://…) or owner/repo`, "repo");
  }
  // Anything else is a plain git URL; the git provider refuses what the site does not allow.
  return { spec: parseSpec("git", `${enc(input)}/${enc(given ?? "")}`, rules) };
}

function stripGit(name: string): string {
  return name.endsWith(".git") ? name.slice(0, -4) : name;
}

function decodeURIComponentSafe(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
