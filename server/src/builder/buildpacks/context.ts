/**
 * The build context: the repository checkout as it is, plus the generated Dockerfile as one file at its top
 * (`.ganymede.Dockerfile`, or `.ganymede-2.Dockerfile` … if the repository has that name), so it can never
 * overwrite a file of the repository. The build is pointed at it by path, and `.dockerignore` (the repository's
 * own rules plus one line, or a new file) names it, which keeps it out of `COPY . …` on every builder: BuildKit
 * applies .dockerignore itself, and the classic builder drops a Dockerfile (and .dockerignore) that
 * .dockerignore names from the context once it has read them. A client that tars the context itself for the classic
 * builder must apply the other .dockerignore rules, as the Docker CLI does.
 *
 * A repository with its own Dockerfile gets nothing generated: the build uses it from where it is, with the
 * repository root as context, as repo2docker does.
 */
import type { BuildPlan } from "./plan.js";
import type { DockerfileOptions } from "./options.js";
import { renderDockerfile } from "./render.js";

export interface BuildRecipe {
  /** The Dockerfile's path inside the context (the build's `dockerfile` parameter). */
  dockerfile: string;
  /** Files to write into the checkout before building (context path → content); may replace `.dockerignore`. */
  generated: Map<string, string>;
  buildpack: BuildPlan["buildpack"];
  /** Lines for the build log: what was detected and what was ignored. */
  notes: string[];
}

export interface RepoTopLevel {
  /** Names of the entries at the top of the checkout, to choose a generated file name no entry has. */
  entries: ReadonlySet<string>;
  /** The repository's own `.dockerignore`, if any; its rules are kept. */
  dockerignore?: string;
}

function generatedName(entries: ReadonlySet<string>): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? ".ganymede.Dockerfile" : `.ganymede-${i}.Dockerfile`;
    if (!entries.has(name)) return name;
  }
}

function dockerignore(dockerfile: string, own: string | undefined): string {
  const kept = own === undefined ? "" : `${own.replace(/\n*$/, "")}\n`;
  // A .dockerignore we create is ours too, so it stays out of the image; the repository's own is its content.
  const ours = own === undefined ? [dockerfile, ".dockerignore"] : [dockerfile];
  const lines = ours.map((p) => `/${p}\n`).join("");
  return `${kept}# Added by Ganymede's builder: its generated files are not part of the image.\n${lines}`;
}

export function buildRecipe(plan: BuildPlan, options: DockerfileOptions, repo: RepoTopLevel): BuildRecipe {
  if (plan.buildpack === "dockerfile") {
    return { dockerfile: plan.dockerfile, generated: new Map(), buildpack: plan.buildpack, notes: plan.notes };
  }
  const dockerfile = generatedName(repo.entries);
  return {
    dockerfile,
    generated: new Map([
      [dockerfile, renderDockerfile(plan, options)],
      [".dockerignore", dockerignore(dockerfile, repo.dockerignore)],
    ]),
    buildpack: plan.buildpack,
    notes: plan.notes,
  };
}
