/**
 * environment.yml with micromamba on the site's conda base image. The environment is created from the file (which
 * names its own Python), `pip` is added when the file did not list it, and Jupyter is installed into it with the
 * same pins as every other image. Nothing here can be checked without a reachable conda channel; golden tests only.
 */
import type { CondaPlan } from "./plan.js";
import { pipRequirement, run } from "./dockerfile-text.js";
import { CONDA_ENV, CONDA_ROOT, NB_UID, REPO_DIR, type DockerfileOptions } from "./options.js";
import { aptSteps, baseEnv, copyFiles, copyRepository, createUser, finishSteps, header, tail } from "./common-steps.js";

function environmentSteps(plan: CondaPlan, options: DockerfileOptions): string[] {
  return [
    run(
      `micromamba create --yes --prefix ${CONDA_ENV} --file ${plan.environment}`,
      `micromamba install --yes --prefix ${CONDA_ENV} --channel ${options.condaChannel} pip`,
      "micromamba clean --all --yes",
    ),
    run(`pip install --no-cache-dir ${options.jupyterPackages.map(pipRequirement).join(" ")}`),
  ];
}

export function renderConda(plan: CondaPlan, options: DockerfileOptions, from: string): string {
  const env = environmentSteps(plan, options);
  return [
    ...header(plan, from),
    ...baseEnv(options, [["MAMBA_ROOT_PREFIX", CONDA_ROOT], ["CONDA_DIR", CONDA_ENV]], `${CONDA_ENV}/bin`),
    ...createUser(),
    run(`mkdir -p ${CONDA_ROOT}`, `chown -R ${NB_UID}:${NB_UID} ${CONDA_ROOT}`),
    ...aptSteps(plan, "root"),
    "",
    `USER ${NB_UID}`,
    `WORKDIR ${REPO_DIR}`,
    ...(plan.local
      ? []
      : ["", `# ${plan.environment}, before the repository`, copyFiles([plan.environment]), ...env]),
    ...copyRepository(),
    ...(plan.local ? ["", `# ${plan.environment} refers to files in the repository, so after the copy`, ...env] : []),
    ...finishSteps(plan),
    ...tail(plan, options),
  ].join("\n");
}
