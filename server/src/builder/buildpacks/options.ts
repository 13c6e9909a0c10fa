/**
 * What a site configures about the images it builds, and the fixed contract every generated image keeps.
 *
 * The base image contract (`baseImage`, and each image in `pythonImages`): Debian bookworm (or a derivative) with
 * apt-get, `python3` with the `venv` module and pip, git and ca-certificates, running as root; no Jupyter and no
 * user account (the generated Dockerfile adds both). base-image.ts renders a Dockerfile that makes one from plain
 * Debian, for sites that build their own (a site without internet points `baseImage` at its registry's copy).
 *
 * The conda base image contract (`condaBaseImage`): the same plus a `micromamba` binary on PATH, and a reachable
 * conda channel (or mirror) for environment.yml's packages.
 *
 * The image contract for the spawner: the server runs as uid 1000 (`jovyan`, home /home/jovyan, the repository
 * copied into the home folder as in repo2docker), `jupyter` is on PATH, the ENTRYPOINT runs the repository's
 * `start` script when it has one (which ends by exec-ing its arguments, repo2docker's rule), and CMD is only a
 * default: the spawner replaces CMD with its own `jupyter …` command line (base URL, token, port), never the
 * ENTRYPOINT.
 */

export const NB_USER = "jovyan";
export const NB_UID = 1000;
export const HOME_DIR = `/home/${NB_USER}`;
/** Where the repository is copied: the home folder, as repo2docker does, so notebooks open where people expect. */
export const REPO_DIR = HOME_DIR;
export const VENV_DIR = "/srv/venv";
export const CONDA_ROOT = "/srv/conda";
export const CONDA_ENV = `${CONDA_ROOT}/envs/notebook`;
export const JUPYTER_PORT = 8888;

export interface DockerfileOptions {
  /** The base image for pip, Pipfile and plain repositories (contract above). */
  baseImage: string;
  /** The Python version `baseImage` provides, as major.minor (Debian bookworm: 3.11). */
  basePython: string;
  /** More Python versions, each with its own base image of the same contract: { "3.12": "registry/base:py3.12" }. */
  pythonImages: Record<string, string>;
  /** The base image for environment.yml repositories; without one they are refused. */
  condaBaseImage?: string;
  /** The channel `pip` is taken from when environment.yml does not list it. */
  condaChannel: string;
  /** Jupyter in every image, pinned (pip requirement specifiers). Must provide `jupyter` and a kernel. */
  jupyterPackages: string[];
  /** pipenv, used only while building Pipfile repositories (pip requirement specifier). */
  pipenvPackage: string;
  /** A PyPI mirror for pip (PIP_INDEX_URL), for sites without internet. */
  pipIndexUrl?: string;
  /** Image labels, e.g. the repository and commit; written last so they never invalidate a cached layer. */
  labels: Record<string, string>;
}

/** The same pins as scripts/requirements.txt (a test keeps them in step). */
export const DEFAULT_JUPYTER_PACKAGES = ["jupyterlab==4.6.6", "jupyter-server==2.21.1", "ipykernel==7.4.0"];

export const DEFAULT_DOCKERFILE_OPTIONS: DockerfileOptions = {
  baseImage: "ganymede/base:bookworm",
  basePython: "3.11",
  pythonImages: {},
  condaChannel: "conda-forge",
  jupyterPackages: DEFAULT_JUPYTER_PACKAGES,
  pipenvPackage: "pipenv==2026.10.3",
  labels: {},
};

export function dockerfileOptions(overrides: Partial<DockerfileOptions> = {}): DockerfileOptions {
  return { ...DEFAULT_DOCKERFILE_OPTIONS, ...overrides };
}
