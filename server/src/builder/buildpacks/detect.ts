/**
 * Buildpack detection with repo2docker's conventions and precedence, as a pure function of a RepoSnapshot.
 *
 * Where: if `binder/` or `.binder/` exists, configuration is read only from there (the root's files are then just
 * repository content); both at once is refused, as repo2docker does. `setup.py`, `pyproject.toml` and R's
 * `DESCRIPTION` describe the repository itself, so they count only at the root and only without a binder folder.
 *
 * What, first match wins: Dockerfile → Julia (Project.toml, JuliaProject.toml, REQUIRE) → Nix (default.nix) →
 * R (runtime.txt `r-…`, install.R, DESCRIPTION) → environment.yml → Pipfile / Pipfile.lock → requirements.txt,
 * setup.py, pyproject.toml → plain Python. Julia, Nix and R are detected so that they are refused by name instead
 * of being built as a Python repository that then lacks its packages.
 */
import { RepoConfigError, UnsupportedEnvironmentError } from "../errors.js";
import {
  environmentIsLocal,
  hasLocalRequirement,
  parseAptFile,
  parseRuntime,
  pipfileIsLocal,
  pipfilePython,
  type Runtime,
} from "./config-files.js";
import type { BuildPlan, CommonSteps } from "./plan.js";
import type { BinderDir, ConfigFile, RepoSnapshot } from "./repo-files.js";

interface Finder {
  dir: BinderDir;
  /** The path of a config file in the configuration folder, if it exists. */
  find(name: ConfigFile): string | undefined;
  /** A file that only counts at the root without a binder folder (setup.py, pyproject.toml, DESCRIPTION). */
  findRootOnly(name: ConfigFile): string | undefined;
  read(path: string): string;
}

function finder(repo: RepoSnapshot): Finder {
  if (repo.binderDirs.has("binder") && repo.binderDirs.has(".binder")) {
    throw new RepoConfigError(
      "binder_dirs_conflict",
      "the repository has both a binder/ and a .binder/ folder; keep one of them (they are exclusive)",
    );
  }
  const dir: BinderDir = repo.binderDirs.has(".binder") ? ".binder" : repo.binderDirs.has("binder") ? "binder" : "";
  const at = (name: string) => (dir ? `${dir}/${name}` : name);
  return {
    dir,
    find: (name) => (repo.files.has(at(name)) ? at(name) : undefined),
    findRootOnly: (name) => (dir === "" && repo.files.has(name) ? name : undefined),
    read: (path) => repo.files.get(path) ?? "",
  };
}

function refuseOthers(f: Finder, runtime: Runtime | undefined): void {
  const julia = f.find("Project.toml") ?? f.find("JuliaProject.toml") ?? f.find("REQUIRE");
  if (julia) throw new UnsupportedEnvironmentError("Julia", julia);
  const nix = f.find("default.nix");
  if (nix) throw new UnsupportedEnvironmentError("Nix", nix);
  const runtimeFile = f.find("runtime.txt");
  if (runtime?.language === "r") throw new UnsupportedEnvironmentError("R", `${runtimeFile} asking for R`);
  const r = f.find("install.R") ?? f.findRootOnly("DESCRIPTION");
  if (r) throw new UnsupportedEnvironmentError("R", r);
}

function commonSteps(f: Finder, runtime: Runtime | undefined): CommonSteps {
  const aptFile = f.find("apt.txt");
  const runtimeFile = f.find("runtime.txt");
  return {
    binderDir: f.dir,
    ...(runtime?.language === "python" && runtimeFile ? { python: { version: runtime.version, file: runtimeFile } } : {}),
    aptPackages: aptFile ? parseAptFile(f.read(aptFile), aptFile) : [],
    ...(aptFile ? { aptFile } : {}),
    ...(f.find("postBuild") ? { postBuild: f.find("postBuild") } : {}),
    ...(f.find("start") ? { start: f.find("start") } : {}),
    notes: [],
  };
}

/** Files that exist but lose to the chosen buildpack, named in the plan's notes so the build log explains them. */
function ignored(f: Finder, chosen: string, names: ConfigFile[]): string[] {
  return names
    .map((n) => f.find(n) ?? (n === "setup.py" || n === "pyproject.toml" ? f.findRootOnly(n) : undefined))
    .filter((p): p is string => p !== undefined)
    .map((p) => `${p} is ignored: ${chosen} takes precedence`);
}

/** With a binder folder, the root's config files are plain repository content; say so, since people expect them used. */
function rootNotes(repo: RepoSnapshot, dir: BinderDir): string[] {
  if (!dir) return [];
  return [...repo.files.keys()]
    .filter((p) => !p.includes("/"))
    .map((p) => `${p} is ignored: configuration is read from ${dir}/`);
}

export function detectBuildPlan(repo: RepoSnapshot): BuildPlan {
  const plan = detect(repo);
  const notes = rootNotes(repo, plan.binderDir);
  return notes.length ? { ...plan, notes: [...notes, ...plan.notes] } : plan;
}

function detect(repo: RepoSnapshot): BuildPlan {
  const f = finder(repo);
  const dockerfile = f.find("Dockerfile");
  if (dockerfile) {
    const others = (["environment.yml", "Pipfile", "requirements.txt", "runtime.txt", "apt.txt", "postBuild", "start"] as const)
      .map((n) => f.find(n))
      .filter((p): p is string => p !== undefined);
    return {
      buildpack: "dockerfile",
      binderDir: f.dir,
      dockerfile,
      notes: others.map((p) => `${p} is ignored: ${dockerfile} is used as is`),
    };
  }
  const runtimeFile = f.find("runtime.txt");
  const runtime = runtimeFile ? parseRuntime(f.read(runtimeFile), runtimeFile) : undefined;
  refuseOthers(f, runtime);
  const common = commonSteps(f, runtime);

  const environment = f.find("environment.yml");
  if (environment) {
    const notes = ignored(f, environment, ["Pipfile", "Pipfile.lock", "requirements.txt", "setup.py", "pyproject.toml"]);
    // conda takes its Python from environment.yml; a runtime.txt version is not applied on top of it.
    if (common.python) notes.push(`${common.python.file} is ignored: ${environment} chooses the Python version`);
    const { python: _python, ...rest } = common;
    return {
      ...rest,
      buildpack: "conda",
      environment,
      local: environmentIsLocal(f.read(environment)),
      notes: [...rest.notes, ...notes],
    };
  }

  const pipfile = f.find("Pipfile");
  const lockfile = f.find("Pipfile.lock");
  if (pipfile || lockfile) {
    const chosen = (pipfile ?? lockfile)!;
    const declared = pipfile ? pipfilePython(f.read(pipfile)) : undefined;
    return {
      ...common,
      ...(declared ? { python: { version: declared, file: pipfile! } } : {}),
      buildpack: "pipfile",
      ...(pipfile ? { pipfile } : {}),
      ...(lockfile ? { lockfile } : {}),
      local: [pipfile, lockfile].some((p) => p !== undefined && pipfileIsLocal(f.read(p))),
      notes: ignored(f, chosen, ["requirements.txt", "setup.py", "pyproject.toml"]),
    };
  }

  const requirements = f.find("requirements.txt");
  const project = f.findRootOnly("setup.py") ? "setup.py" : f.findRootOnly("pyproject.toml") ? "pyproject.toml" : undefined;
  return {
    ...common,
    buildpack: "python",
    ...(requirements ? { requirements: { file: requirements, local: hasLocalRequirement(f.read(requirements)) } } : {}),
    ...(project ? { project } : {}),
  };
}
