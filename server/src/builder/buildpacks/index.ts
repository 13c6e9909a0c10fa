/** Buildpacks: repository snapshot → BuildPlan (detect) → Dockerfile (render) → build recipe (context). */
export { detectBuildPlan } from "./detect.js";
export { renderDockerfile } from "./render.js";
export { buildRecipe } from "./context.js";
export type { BuildRecipe, RepoTopLevel } from "./context.js";
export { renderBaseImageDockerfile, BASE_IMAGE_PACKAGES } from "./base-image.js";
export { readRepoSnapshot, readRepoTopLevel } from "./read-repo.js";
export { candidatePaths, snapshotOf, CONFIG_FILES, BINDER_DIRS } from "./repo-files.js";
export type { BinderDir, ConfigFile, RepoSnapshot } from "./repo-files.js";
export type * from "./plan.js";
export {
  DEFAULT_DOCKERFILE_OPTIONS,
  DEFAULT_JUPYTER_PACKAGES,
  dockerfileOptions,
  CONDA_ENV,
  HOME_DIR,
  JUPYTER_PORT,
  NB_UID,
  NB_USER,
  REPO_DIR,
  VENV_DIR,
} from "./options.js";
export type { DockerfileOptions } from "./options.js";
