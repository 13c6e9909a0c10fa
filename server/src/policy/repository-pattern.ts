/**
 * Repository identities and the patterns policies match them with. Pure: no I/O.
 *
 * A repository's identity is `host/path` without scheme and without `.git`: `github.com/jupyter/notebook`,
 * `gitlab.com/group/sub/project`, `git.example.org:8443/team/repo`. A pattern is written the same way with two
 * wildcards: `*` matches any characters within one path segment, `**` (a whole segment) any number of segments,
 * including none. Matching ignores case everywhere: hosts always do, and GitHub and GitLab ignore it in paths too,
 * so a deny of `github.com/evil/*` must also catch `github.com/Evil/Repo`.
 */

const WHITESPACE_OR_CONTROL = /[\s\x00-\x1f\x7f]/;
const OTHER_GLOB = /[?[\]{}\\]/;
/** The host segment: a name or address, optionally with a port. */
const HOST_PORT = /^[^:]+(:\d+)?$/;

/** Why `pattern` is not a valid repository pattern, or undefined when it is. */
export function repositoryPatternProblem(pattern: string): string | undefined {
  const example = "e.g. github.com/org/* or gitlab.com/group/**";
  const shown = JSON.stringify(pattern);
  if (pattern.trim() === "") return "must not be empty";
  if (WHITESPACE_OR_CONTROL.test(pattern)) return `${shown} contains a space or control character`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pattern)) return `${shown} has a scheme; write host/path without it (${example})`;
  if (pattern.includes("@")) return `${shown} contains "@"; write host/path (${example}), not user@host:path`;
  if (OTHER_GLOB.test(pattern)) return `${shown} uses a wildcard other than * and **, the only ones there are`;
  const segments = pattern.split("/");
  if (segments.some((s) => s === "")) {
    return `${shown} has an empty path segment (a leading, trailing or double "/")`;
  }
  if (segments.some((s) => s === "." || s === "..")) return `${shown} has a "." or ".." segment`;
  if (segments.some((s) => s.includes("**") && s !== "**")) {
    return `${shown}: ** must be a whole path segment (a/**/b); use * within a segment`;
  }
  const host = segments[0]!;
  if (host === "**") return `${shown} starts with **; it must start with a host (${example})`;
  if (!HOST_PORT.test(host) || segments.slice(1).some((s) => s.includes(":"))) {
    return `${shown} contains ":" outside a host:port; write host/path (${example}), not host:path`;
  }
  if (segments.length === 1) return `${shown} names only a host; write ${host}/** for every repository on it`;
  if (/\.git$/i.test(pattern)) {
    return `${shown} ends with .git; identities have no .git, write ${pattern.replace(/\.git$/i, "")}`;
  }
  return undefined;
}

/** `*` within one segment, by the two-pointer method: linear-ish, no regex backtracking on hostile input. */
function matchSegment(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * Whether the repository identity `identity` (see repositoryIdentity) matches `pattern`, a pattern that passed
 * repositoryPatternProblem. `**` is resolved segment by segment (which identity segments each pattern prefix can
 * reach), so the cost is bounded by the two lengths multiplied, whatever the input.
 */
export function matchesRepositoryPattern(pattern: string, identity: string): boolean {
  const patternSegments = pattern.toLowerCase().split("/");
  const segments = identity.toLowerCase().split("/");
  // reach[j]: the pattern segments so far can match exactly the first j identity segments.
  let reach = Array.from({ length: segments.length + 1 }, (_, j) => j === 0);
  for (const p of patternSegments) {
    const next = reach.map(() => false);
    if (p === "**") {
      for (let j = 0, any = false; j < reach.length; j++) next[j] = any ||= reach[j]!;
    } else {
      for (let j = 0; j < segments.length; j++) if (reach[j] && matchSegment(p, segments[j]!)) next[j + 1] = true;
    }
    reach = next;
  }
  return reach[segments.length]!;
}

/**
 * The identity of a repository given as an identity or as a clone URL: `https://GitHub.com/org/repo.git/` →
 * `github.com/org/repo`. Percent-escapes are decoded (a server would decode `%72epo` to `repo`, so must a deny
 * list), empty and `.` segments dropped, the host lowercased. Undefined when it cannot be a repository: a URL
 * that is not http(s), no path, a `..` segment, credentials, a space or control character, an escape hiding a `/`.
 */
export function repositoryIdentity(input: string): string | undefined {
  let text = input.trim();
  if (text === "" || text.length > 2048) return undefined;
  if (text.includes("://")) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    const web = url.protocol === "https:" || url.protocol === "http:";
    if (!web || !url.host || url.username || url.password || url.search || url.hash) return undefined;
    text = `${url.host}${url.pathname}`;
  }
  if (text.includes("@")) return undefined;
  const segments: string[] = [];
  for (const raw of text.split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment.includes("/") || WHITESPACE_OR_CONTROL.test(segment) || segment === "..") return undefined;
    if (segment !== "" && segment !== ".") segments.push(segment);
  }
  const last = segments.length - 1;
  if (last >= 1 && /\.git$/i.test(segments[last]!)) segments[last] = segments[last]!.slice(0, -4);
  if (segments[last] === "") segments.pop();
  if (segments.length < 2 || !HOST_PORT.test(segments[0]!)) return undefined;
  return [segments[0]!.toLowerCase(), ...segments.slice(1)].join("/");
}
