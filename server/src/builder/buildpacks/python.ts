/**
 * The Python buildpacks on the venv base: plain, pip (requirements.txt, setup.py, pyproject.toml) and Pipfile.
 * Jupyter goes into the venv first (the same layer for every repository), then the repository's dependencies
 * from their own files, then the repository.
 */
import type { PipfilePlan, PythonPlan } from "./plan.js";
import { pipRequirement, run } from "./dockerfile-text.js";
import { NB_UID, REPO_DIR, VENV_DIR, type DockerfileOptions } from "./options.js";
import { aptSteps, baseEnv, copyFiles, copyRepository, createUser, finishSteps, header, tail } from "./common-steps.js";

function venvSetup(options: DockerfileOptions): string[] {
  return [
    "",
    "# Jupyter in a virtualenv the user owns, so `pip install` from a notebook works without root.",
    run(`python3 -m venv ${VENV_DIR}`, `chown -R ${NB_UID}:${NB_UID} ${VENV_DIR}`),
    `USER ${NB_UID}`,
    run(`pip install --no-cache-dir ${options.jupyterPackages.map(pipRequirement).join(" ")}`),
  ];
}

function pipSteps(plan: PythonPlan): { before: string[]; after: string[] } {
  const before: string[] = [];
  const after: string[] = [];
  const req = plan.requirements;
  if (req && !req.local) {
    const install = run(`pip install --no-cache-dir -r ${req.file}`);
    before.push("", `# ${req.file}, before the repository`, copyFiles([req.file]), install);
  }
  if (req?.local) {
    after.push("", `# ${req.file} refers to files in the repository, so it is installed after the copy`);
    after.push(run(`pip install --no-cache-dir -r ${req.file}`));
  }
  if (plan.project) {
    after.push("", `# The repository is a Python package (${plan.project})`, run("pip install --no-cache-dir ."));
  }
  return { before, after };
}

/**
 * pipenv runs in a throwaway virtualenv and only exports the lock as requirements (locking first when there is no
 * Pipfile.lock), which pip installs into the venv; pipenv itself never ends up in the image.
 */
function pipenvCommands(plan: PipfilePlan, options: DockerfileOptions, workdir: string): string[] {
  const pipenv = "/tmp/pipenv/bin/pipenv";
  return [
    "python3 -m venv /tmp/pipenv",
    `/tmp/pipenv/bin/pip install --no-cache-dir ${pipRequirement(options.pipenvPackage)}`,
    `cd ${workdir}`,
    ...(plan.lockfile ? [] : [`PIPENV_VERBOSITY=-1 ${pipenv} lock`]),
    `PIPENV_VERBOSITY=-1 ${pipenv} requirements --dev > /tmp/pipenv-requirements.txt`,
    "pip install --no-cache-dir -r /tmp/pipenv-requirements.txt",
    `cd ${REPO_DIR}`,
    // pipenv also leaves request/response files in /tmp.
    "rm -rf /tmp/pipenv /tmp/pipenv-* /tmp/pipfile",
  ];
}

function pipfileSteps(plan: PipfilePlan, options: DockerfileOptions): { before: string[]; after: string[] } {
  const files = [plan.pipfile, plan.lockfile].filter((f): f is string => f !== undefined);
  const dir = plan.binderDir ? `${REPO_DIR}/${plan.binderDir}` : REPO_DIR;
  if (plan.local) {
    return {
      before: [],
      after: [
        "",
        `# ${files.join(", ")} ${files.length > 1 ? "install" : "installs"} a path from the repository, so after the copy`,
        run(...pipenvCommands(plan, options, dir)),
      ],
    };
  }
  // Locked in a scratch folder: `pipenv lock` writes Pipfile.lock next to the Pipfile.
  const scratch = ["mkdir -p /tmp/pipfile", `cp ${files.join(" ")} /tmp/pipfile/`];
  return {
    before: [
      "",
      `# ${files.join(", ")}, before the repository`,
      copyFiles(files),
      run(...scratch, ...pipenvCommands(plan, options, "/tmp/pipfile")),
    ],
    after: [],
  };
}

export function renderPython(plan: PythonPlan | PipfilePlan, options: DockerfileOptions, from: string): string {
  const deps = plan.buildpack === "python" ? pipSteps(plan) : pipfileSteps(plan, options);
  return [
    ...header(plan, from),
    ...baseEnv(options, [["VIRTUAL_ENV", VENV_DIR]], `${VENV_DIR}/bin`),
    ...createUser(),
    ...venvSetup(options),
    ...aptSteps(plan, "user"),
    "",
    `WORKDIR ${REPO_DIR}`,
    ...deps.before,
    ...copyRepository(),
    ...deps.after,
    ...finishSteps(plan),
    ...tail(plan, options),
  ].join("\n");
}
