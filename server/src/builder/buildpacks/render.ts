/**
 * renderDockerfile: a plan and the site's options in, Dockerfile text out; pure, so every buildpack is pinned by
 * a golden file. A repository's own Dockerfile is not rendered: buildRecipe (context.ts) points the build at it.
 */
import type { EnvironmentPlan } from "./plan.js";
import type { DockerfileOptions } from "./options.js";
import { selectBaseImage } from "./base-select.js";
import { renderConda } from "./conda.js";
import { renderPython } from "./python.js";

/** Throws RepoConfigError when the site cannot build the plan (Python version, no conda base image). */
export function renderDockerfile(plan: EnvironmentPlan, options: DockerfileOptions): string {
  const from = selectBaseImage(plan, options);
  return plan.buildpack === "conda" ? renderConda(plan, options, from) : renderPython(plan, options, from);
}
