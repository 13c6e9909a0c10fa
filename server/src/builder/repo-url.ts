/**
 * The syntactic checks on a repository URL, done before git ever sees it. git understands far more than web URLs:
 * `file://` and plain paths read the hub's own disk, `ssh://` and `git@host:path` use the hub's keys, `ext::cmd`
 * runs a command, and `user:password@` puts a secret into logs and image labels. Only https (and http where the
 * site allows it, for local test servers) gets through. Whether the host is public is checked separately
 * (host-check.ts), because that needs DNS.
 */
import { SpecError } from "./errors.js";
import type { RepoUrlRules } from "./repo-spec.js";
import { shownUrl } from "./show.js";

const SCP_LIKE = /^[\w.-]+@[\w.-]+:/;
const REMOTE_HELPER = /^[a-z][a-z0-9+.-]*::/i;

export function allowedSchemes(rules: Pick<RepoUrlRules, "allowHttp">): string[] {
  return rules.allowHttp ? ["https", "http"] : ["https"];
}

/** Parses and checks a repository URL; returns it normalised (lowercase host, no trailing slash). */
export function checkRepoUrl(raw: string, rules: Pick<RepoUrlRules, "allowHttp">): URL {
  const shown = shownUrl(raw);
  const schemes = allowedSchemes(rules).join(" or ");
  if (raw.startsWith("-")) {
    throw new SpecError("url_option", `Repository URL ${shown} starts with "-", which git would read as an option`);
  }
  if (REMOTE_HELPER.test(raw)) {
    throw new SpecError(
      "url_remote_helper",
      `Repository URLs must use ${schemes}; got ${shown}, a git remote helper (it can run commands)`,
    );
  }
  if (SCP_LIKE.test(raw)) {
    throw new SpecError("url_scheme", `Repository URLs must use ${schemes}; got ${shown}, an ssh address`);
  }
  if (/[\x00-\x20\x7f]/.test(raw)) {
    throw new SpecError("url_format", `Repository URL ${shown} contains a space or control character`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SpecError("url_format", `Repository URL ${shown} is not a URL (expected https://host/path)`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!allowedSchemes(rules).includes(scheme)) {
    throw new SpecError("url_scheme", `Repository URLs must use ${schemes}; got ${shown}`);
  }
  if (url.username || url.password) {
    throw new SpecError(
      "url_credentials",
      `Repository URLs must not contain credentials (user:password@); got ${shown}. Only public repositories can be built`,
    );
  }
  if (!url.hostname) throw new SpecError("url_format", `Repository URL ${shown} has no host`);
  if (url.search || url.hash) {
    throw new SpecError("url_format", `Repository URL ${shown} has a query or fragment; a clone URL has neither`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (path === "") throw new SpecError("url_format", `Repository URL ${shown} names no repository (its path is empty)`);
  if (path.split("/").some((part) => part === ".." || part.startsWith("-"))) {
    throw new SpecError("url_format", `Repository URL ${shown} has a path part that is ".." or starts with "-"`);
  }
  url.pathname = path;
  return url;
}
