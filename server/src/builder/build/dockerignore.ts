/**
 * `.dockerignore` exactly as the Docker CLI applies it when it makes a build context for the classic builder
 * (moby/patternmatcher and the CLI's dockerignore reader, ported): the classic builder only drops the Dockerfile
 * and `.dockerignore` itself when they are named there; every other rule is the client's job, so a backend that
 * packs the context itself must apply them. Pure: paths in, decisions out.
 *
 * Rules: `#` comments, blank lines ignored; `!pattern` re-includes; patterns are cleaned like Go's filepath.Clean and
 * a leading "/" dropped (everything is relative to the context root); `*` and `?` do not cross "/", `**` crosses any
 * number of folders; a pattern that matches a folder excludes everything in it; the last matching rule wins.
 */
import path from "node:path";

/** The patterns of a .dockerignore file, cleaned, with "!" kept in front of exclusions (re-inclusions). */
export function parseDockerignore(content: string): string[] {
  const patterns: string[] = [];
  const lines = content.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith("#")) continue;
    let pattern = raw.trim();
    if (!pattern) continue;
    const invert = pattern.startsWith("!");
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/** Go's path.Clean: no "." parts, ".." resolved where possible, no trailing or repeated "/", "" → ".". */
function goClean(p: string): string {
  if (p === "") return ".";
  const normal = path.posix.normalize(p);
  return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

interface Pattern {
  text: string;
  exclusion: boolean;
  regex: RegExp | null;
}

/** moby/patternmatcher's translation of one pattern into an anchored regular expression. */
function compile(text: string): RegExp | null {
  let re = "^";
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        // "**/" is "**": the "/" is eaten.
        if (chars[i + 1] === "/") i++;
        re += i + 1 >= chars.length ? ".*" : "(.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (ch === "?") {
      re += "[^/]";
    } else if (".+()|{}$".includes(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      // An escaped character is itself; a trailing backslash stays a backslash.
      if (i + 1 < chars.length) re += `\\${chars[++i]!}`;
      else re += "\\\\";
    } else {
      re += ch;
    }
  }
  re += "$";
  try {
    return new RegExp(re);
  } catch {
    return null; // Docker refuses such a file ("syntax error in pattern"); a broken rule here matches nothing.
  }
}

export class PatternMatcher {
  readonly patterns: Pattern[];

  constructor(patterns: string[]) {
    this.patterns = patterns
      .filter((p) => p !== "" && p !== "!")
      .map((p) => {
        const exclusion = p.startsWith("!");
        const text = exclusion ? p.slice(1) : p;
        return { text, exclusion, regex: compile(text) };
      });
  }

  /** Whether any rule re-includes something ("!…"), which forbids skipping whole excluded folders blindly. */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `file` (relative, "/"-separated) is excluded, by a rule matching it or one of its parent folders. */
  matchesOrParentMatches(file: string): boolean {
    const parent = path.posix.dirname(file);
    const parentDirs = parent === "." ? [] : parent.split("/");
    let matched = false;
    for (const pattern of this.patterns) {
      // An inclusion cannot change an already excluded file, nor an exclusion a file not excluded (yet).
      if (pattern.exclusion !== matched) continue;
      let match = pattern.regex?.test(file) ?? false;
      for (let i = 0; !match && i < parentDirs.length; i++) {
        match = pattern.regex?.test(parentDirs.slice(0, i + 1).join("/")) ?? false;
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /** For an excluded folder: whether a re-inclusion could apply to something inside it (then it must be walked). */
  mayIncludeBelow(dir: string): boolean {
    const prefix = `${dir}/`;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix));
  }
}

/**
 * The CLI's TrimBuildFilesFromExcludes: the Dockerfile and `.dockerignore` are always sent, even when excluded, so
 * the builder can read them; the builder then drops them from what `COPY` sees because they are named.
 */
export function keepBuildFiles(patterns: string[], dockerfile: string): string[] {
  const matcher = new PatternMatcher(patterns);
  const kept = [...patterns];
  if (matcher.matchesOrParentMatches(".dockerignore")) kept.push("!.dockerignore");
  const name = dockerfile.replace(/\\/g, "/");
  if (matcher.matchesOrParentMatches(name)) kept.push(`!${name}`);
  return kept;
}
