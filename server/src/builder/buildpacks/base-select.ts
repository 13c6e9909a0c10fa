/**
 * Which base image a plan builds on. The default base has one Python (Debian bookworm's 3.11); a repository that
 * asks for another version gets the site's image for it (`pythonImages`) or a refusal that names both versions,
 * rather than an image whose Python silently differs from what runtime.txt says.
 */
import { RepoConfigError } from "../errors.js";
import type { EnvironmentPlan } from "./plan.js";
import type { DockerfileOptions } from "./options.js";

/** "3" matches any 3.x; "3.11" matches 3.11 exactly. */
function satisfies(asked: string, provided: string): boolean {
  return asked.includes(".") ? asked === provided : provided.split(".")[0] === asked;
}

export function selectBaseImage(plan: EnvironmentPlan, options: DockerfileOptions): string {
  if (plan.buildpack === "conda") {
    if (!options.condaBaseImage) {
      throw new RepoConfigError(
        "conda_unavailable",
        `${plan.environment} needs a conda base image, and this site has none configured (builder condaBaseImage); ` +
          "use requirements.txt or a Pipfile instead",
        plan.environment,
      );
    }
    return options.condaBaseImage;
  }
  const asked = plan.python;
  if (!asked || satisfies(asked.version, options.basePython)) return options.baseImage;
  const match = Object.keys(options.pythonImages).find((version) => satisfies(asked.version, version));
  if (match) return options.pythonImages[match]!;
  const all = [options.basePython, ...Object.keys(options.pythonImages)];
  const offered = all.length === 1 ? `Python ${all[0]}` : `Python ${all.join(", ")}`;
  throw new RepoConfigError(
    "runtime_python_unavailable",
    `${asked.file} asks for Python ${asked.version}; this site's base image provides ${offered}` +
      (asked.file.endsWith("runtime.txt") ? ` (remove ${asked.file} or ask for python-${options.basePython})` : ""),
    asked.file,
  );
}
