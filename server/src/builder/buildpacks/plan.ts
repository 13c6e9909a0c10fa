/**
 * A BuildPlan is what detection concluded about a repository, before any Dockerfile exists: which buildpack, where
 * its configuration lives and which of the common steps (apt.txt, postBuild, start, runtime.txt) apply. Paths are
 * repository-relative (`binder/requirements.txt`).
 */
import type { BinderDir } from "./repo-files.js";

/** The repository brings its own Dockerfile; it is used as is and nothing else applies. */
export interface DockerfilePlan {
  buildpack: "dockerfile";
  binderDir: BinderDir;
  dockerfile: string;
  /** What detection saw and ignored, for the build log ("apt.txt is ignored: the Dockerfile is used as is"). */
  notes: string[];
}

/** The steps every generated image can have. */
export interface CommonSteps {
  binderDir: BinderDir;
  /** The Python version asked for (runtime.txt `python-3.11` → "3.11"; Pipfile `[requires]`), if any. */
  python?: { version: string; file: string };
  /** Debian packages from apt.txt, validated as package names. */
  aptPackages: string[];
  aptFile?: string;
  /** Run once after the whole repository is copied, as the user. */
  postBuild?: string;
  /** Run at every container start before the server command (the ENTRYPOINT). */
  start?: string;
  notes: string[];
}

/** pip: requirements.txt and/or the repository itself as a package (setup.py, pyproject.toml). Also "plain". */
export interface PythonPlan extends CommonSteps {
  buildpack: "python";
  requirements?: {
    file: string;
    /** It references files in the repository (`-e .`, `-r other.txt`), so it is installed after the copy. */
    local: boolean;
  };
  /** `pip install .` after the copy. */
  project?: "setup.py" | "pyproject.toml";
}

/** pipenv: Pipfile and/or Pipfile.lock. */
export interface PipfilePlan extends CommonSteps {
  buildpack: "pipfile";
  pipfile?: string;
  lockfile?: string;
  /** The Pipfile installs a path from the repository (`path = "."`), so it is installed after the copy. */
  local: boolean;
}

/** conda (micromamba): environment.yml. */
export interface CondaPlan extends CommonSteps {
  buildpack: "conda";
  environment: string;
  /** Its pip section references files in the repository, so the environment is created after the copy. */
  local: boolean;
}

export type EnvironmentPlan = PythonPlan | PipfilePlan | CondaPlan;
export type BuildPlan = DockerfilePlan | EnvironmentPlan;
export type Buildpack = BuildPlan["buildpack"];
