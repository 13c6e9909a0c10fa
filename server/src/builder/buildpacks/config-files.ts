/**
 * Reading the small configuration files: runtime.txt, apt.txt, requirements.txt (does it reach into the
 * repository?), a Pipfile's `[requires]` and `path =` entries, environment.yml's pip section. Plain text scanning
 * on purpose: these files are tiny, and a full TOML/YAML parse would accept more than these checks need.
 */
import { RepoConfigError } from "../errors.js";
import { shown } from "../show.js";

export type Runtime = { language: "python"; version: string } | { language: "r"; version?: string };

/**
 * runtime.txt: `python-3`, `python-3.11` or `python-3.11.4` (major.minor is what counts, as in repo2docker), or
 * R's `r-<version>-<date>` / `r-<date>`.
 */
export function parseRuntime(content: string, file: string): Runtime {
  const text = content.trim();
  const python = /^python-(\d+)(?:\.(\d+))?(?:\.\d+)?$/.exec(text);
  if (python) return { language: "python", version: python[2] === undefined ? python[1]! : `${python[1]}.${python[2]}` };
  const r = /^r-(?:(\d+(?:\.\d+)*)-)?\d{4}-\d{2}-\d{2}$|^r-(\d+(?:\.\d+)*)$/.exec(text);
  if (r) return { language: "r", version: r[1] ?? r[2] };
  throw new RepoConfigError(
    "runtime_invalid",
    `${file} must say python-<version> (e.g. python-3.11) or r-<version>; it says ${shown(text, 60)}`,
    file,
  );
}

/** Debian package names, optionally `=version` or `:arch` (apt-get's own syntax); nothing a shell could misread. */
const APT_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+)?$/;

/** apt.txt: one package per line, `#` comments. Every name is validated because it ends up in a RUN line. */
export function parseAptFile(content: string, file: string): string[] {
  const packages: string[] = [];
  for (const raw of content.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    for (const name of line.split(/\s+/)) {
      if (!APT_PACKAGE.test(name)) {
        throw new RepoConfigError(
          "apt_package_invalid",
          `${file} lists ${shown(name, 60)}, which is not a Debian package name (lowercase letters, digits, + - .)`,
          file,
        );
      }
      packages.push(name);
    }
  }
  return [...new Set(packages)];
}

/**
 * Whether one requirements line needs the repository: `-r`/`-c` includes, `-e .`, `./pkg`, `file:` URLs. Such a
 * file cannot be installed from its own copy before the repository is there (repo2docker's rule too).
 */
export function isLocalRequirement(raw: string): boolean {
  let line = raw.replace(/(^|\s)#.*/, "").trim();
  if (!line) return false;
  if (/^(-r|-c|--requirement|--constraint)\b/.test(line)) return true;
  if (line.startsWith("--") && line.includes("=")) line = line.slice(line.indexOf("=") + 1).trim();
  else if (line.startsWith("-")) {
    const parts = line.split(/\s+/);
    if (parts.length < 2) return false; // a flag on its own (--pre, --no-binary :all:)
    line = parts.slice(1).join(" ");
  }
  if (line.includes("file:")) return true;
  const path = line.includes("://") ? line.slice(line.indexOf("://") + 3) : line;
  return path.startsWith(".") || path.startsWith("/");
}

export function hasLocalRequirement(content: string): boolean {
  return content.split("\n").some(isLocalRequirement);
}

/** A Pipfile's `[requires] python_version = "3.11"` (or python_full_version), as major.minor. */
export function pipfilePython(pipfile: string): string | undefined {
  const m = /^\s*python_(?:full_)?version\s*=\s*["'](\d+(?:\.\d+)?)/m.exec(pipfile);
  return m?.[1];
}

/** Whether a Pipfile (or its lock) installs a path from the repository (`path = "."`, `"path": "."`). */
export function pipfileIsLocal(content: string): boolean {
  return /(^|[\s{,])"?path"?\s*[=:]\s*["']/m.test(content);
}

/** Whether environment.yml's pip section (its `- ` list items) references the repository. */
export function environmentIsLocal(content: string): boolean {
  return content
    .split("\n")
    .map((l) => /^\s*-\s+(.*)$/.exec(l)?.[1])
    .some((item) => item !== undefined && isLocalRequirement(item.replace(/^["']|["']$/g, "")));
}
