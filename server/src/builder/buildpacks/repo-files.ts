/**
 * What detection looks at: the handful of configuration files repo2docker's conventions name, read from the
 * repository root and from `binder/` or `.binder/`. Detection itself is pure over this snapshot; reading a
 * checkout into one is readRepoFiles (read-repo.ts), and tests build one from a plain object.
 */

/** The folders that, when present, replace the repository root as the place configuration is read from. */
export const BINDER_DIRS = ["binder", ".binder"] as const;
export type BinderDir = "" | (typeof BINDER_DIRS)[number];

/** Every configuration file name any buildpack or refusal looks at. */
export const CONFIG_FILES = [
  "Dockerfile",
  "environment.yml",
  "Pipfile",
  "Pipfile.lock",
  "requirements.txt",
  "setup.py",
  "pyproject.toml",
  "runtime.txt",
  "apt.txt",
  "postBuild",
  "start",
  "install.R",
  "DESCRIPTION",
  "Project.toml",
  "JuliaProject.toml",
  "REQUIRE",
  "default.nix",
] as const;
export type ConfigFile = (typeof CONFIG_FILES)[number];

/** The configuration files of one checkout. */
export interface RepoSnapshot {
  /** Repository-relative path (`requirements.txt`, `binder/apt.txt`) → content, for the config files that exist. */
  files: ReadonlyMap<string, string>;
  /** Which binder folders exist (a folder may exist with none of the config files in it). */
  binderDirs: ReadonlySet<Exclude<BinderDir, "">>;
}

/** Every path detection may read: each config file at the root and in each binder folder. */
export function candidatePaths(): string[] {
  return ["", ...BINDER_DIRS].flatMap((dir) => CONFIG_FILES.map((file) => (dir ? `${dir}/${file}` : file)));
}

/** A snapshot from a plain object (tests, or files already in memory); binder folders inferred from the paths. */
export function snapshotOf(files: Record<string, string>, extraDirs: Exclude<BinderDir, "">[] = []): RepoSnapshot {
  const map = new Map(Object.entries(files));
  const dirs = new Set(extraDirs);
  for (const dir of BINDER_DIRS) if ([...map.keys()].some((p) => p.startsWith(`${dir}/`))) dirs.add(dir);
  return { files: map, binderDirs: dirs };
}
