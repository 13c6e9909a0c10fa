/**
 * One golden Dockerfile per buildpack and per common step (golden/<case>/Dockerfile: the Dockerfile the build
 * uses), and one golden refusal per case the builder refuses (golden/<case>/refusal.txt: rule and message).
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildRecipe,
  DEFAULT_JUPYTER_PACKAGES,
  detectBuildPlan,
  dockerfileOptions,
  RepoConfigError,
  snapshotOf,
  UnsupportedEnvironmentError,
  type DockerfileOptions,
} from "../../src/builder/index.js";
import { InputError } from "../../src/errors.js";
import { repoRoot } from "../support/paths.js";
import { GOLDEN_DIR, expectGolden } from "./golden.js";

const LABELS = {
  "org.opencontainers.image.source": "https://github.com/binder-examples/demo",
  "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
};
const OPTIONS = dockerfileOptions({ labels: LABELS });

interface Case {
  name: string;
  files: Record<string, string>;
  dirs?: ("binder" | ".binder")[];
  options?: Partial<DockerfileOptions>;
  /** The plan's buildpack, for the successful cases. */
  buildpack?: string;
  notes?: string[];
}

const PIPFILE = '[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n\n[packages]\nsix = "==1.16.0"\n\n[requires]\npython_version = "3.11"\n';
const SETUP_PY = 'from setuptools import setup\nsetup(name="demo", version="1.0", py_modules=["demo"])\n';
const PYPROJECT = '[project]\nname = "demo"\nversion = "1.0"\n\n[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n';
const ENVIRONMENT = "name: demo\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - numpy\n  - pip\n  - pip:\n    - six\n";

const BUILDS: Case[] = [
  { name: "plain", files: { "README.md": "# demo\n", "index.ipynb": "{}" }, buildpack: "python" },
  { name: "requirements", files: { "requirements.txt": "numpy==2.1.0\npandas>=2  # comment\n" }, buildpack: "python" },
  {
    name: "requirements-local",
    files: { "requirements.txt": "-e .\n", "setup.py": SETUP_PY },
    buildpack: "python",
  },
  { name: "setup-py", files: { "setup.py": SETUP_PY, "demo.py": "" }, buildpack: "python" },
  { name: "pyproject", files: { "pyproject.toml": PYPROJECT, "requirements.txt": "six\n" }, buildpack: "python" },
  {
    name: "pipfile",
    files: { Pipfile: PIPFILE, "Pipfile.lock": '{"_meta": {}, "default": {}, "develop": {}}', "requirements.txt": "six\n" },
    buildpack: "pipfile",
    notes: ["requirements.txt is ignored: Pipfile takes precedence"],
  },
  {
    name: "pipfile-unlocked-local",
    files: { Pipfile: '[packages]\ndemo = {path = ".", editable = true}\n', "setup.py": SETUP_PY },
    buildpack: "pipfile",
    notes: ["setup.py is ignored: Pipfile takes precedence"],
  },
  {
    name: "environment-yml",
    files: { "environment.yml": ENVIRONMENT, "requirements.txt": "six\n", "runtime.txt": "python-3.10\n", "apt.txt": "libgl1\n" },
    options: { condaBaseImage: "registry.example.org/ganymede/conda-base:bookworm" },
    buildpack: "conda",
    notes: ["requirements.txt is ignored: environment.yml takes precedence", "runtime.txt is ignored: environment.yml chooses the Python version"],
  },
  {
    name: "dockerfile",
    files: {
      "binder/Dockerfile": "FROM registry.example.org/jupyter/base:2024\nCOPY . /home/jovyan\n",
      "binder/requirements.txt": "six\n",
      "binder/postBuild": "#!/bin/sh\n",
    },
    buildpack: "dockerfile",
    notes: ["binder/requirements.txt is ignored: binder/Dockerfile is used as is", "binder/postBuild is ignored: binder/Dockerfile is used as is"],
  },
  {
    name: "apt-postbuild-start",
    files: {
      "requirements.txt": "six\n",
      "apt.txt": "# tools\ncurl\nlibpq-dev  graphviz\ncurl\n",
      postBuild: "#!/bin/bash\njupyter labextension list\n",
      start: '#!/bin/bash\nexport DEMO=1\nexec "$@"\n',
    },
    buildpack: "python",
  },
  {
    name: "binder-folder",
    files: {
      Dockerfile: "FROM scratch\n",
      "setup.py": SETUP_PY,
      "requirements.txt": "root-only\n",
      "binder/requirements.txt": "six\n",
      "binder/postBuild": "#!/bin/sh\n",
    },
    buildpack: "python",
    notes: [
      "Dockerfile is ignored: configuration is read from binder/",
      "setup.py is ignored: configuration is read from binder/",
      "requirements.txt is ignored: configuration is read from binder/",
    ],
  },
  {
    name: "dot-binder-folder",
    files: { "environment.yml": ENVIRONMENT, ".binder/requirements.txt": "six\n" },
    buildpack: "python",
    notes: ["environment.yml is ignored: configuration is read from .binder/"],
  },
  {
    name: "binder-folder-empty",
    files: { "requirements.txt": "six\n" },
    dirs: ["binder"],
    buildpack: "python",
    notes: ["requirements.txt is ignored: configuration is read from binder/"],
  },
  { name: "runtime-ok", files: { "runtime.txt": "python-3.11\n", "requirements.txt": "six\n" }, buildpack: "python" },
  {
    name: "runtime-other-image",
    files: { "runtime.txt": "python-3.12.4", "requirements.txt": "six\n" },
    options: { pythonImages: { "3.12": "registry.example.org/ganymede/base:bookworm-py3.12" } },
    buildpack: "python",
  },
  {
    name: "site-mirror",
    files: { "requirements.txt": "six\n" },
    options: {
      baseImage: "registry.internal/ganymede/base:bookworm",
      pipIndexUrl: "https://pypi.internal/simple",
      jupyterPackages: ["jupyterlab>=4.5,<5", "jupyter-server==2.21.1", "ipykernel==7.4.0"],
    },
    buildpack: "python",
  },
];

const REFUSALS: Case[] = [
  { name: "runtime-refused", files: { "runtime.txt": "python-3.8\n", "requirements.txt": "six\n" } },
  { name: "pipfile-python-refused", files: { Pipfile: '[requires]\npython_version = "3.9"\n' } },
  { name: "runtime-invalid", files: { "runtime.txt": "python3.11\n" } },
  { name: "r-install", files: { "install.R": 'install.packages("ggplot2")\n', "requirements.txt": "six\n" } },
  { name: "r-description", files: { DESCRIPTION: "Package: demo\n" } },
  { name: "r-runtime", files: { "binder/runtime.txt": "r-4.3-2024-01-01\n" } },
  { name: "julia", files: { "Project.toml": '[deps]\nIJulia = "7073ff75-c697-5162-941a-fcdaad2a7d2a"\n' } },
  { name: "julia-binder", files: { "binder/JuliaProject.toml": "" } },
  { name: "nix", files: { "default.nix": "{ }\n" } },
  { name: "binder-both", files: { "binder/requirements.txt": "six\n", ".binder/requirements.txt": "six\n" } },
  { name: "conda-unavailable", files: { "environment.yml": ENVIRONMENT } },
  { name: "apt-invalid", files: { "apt.txt": "curl; touch /tmp/pwned\n" } },
];

function recipeFor(c: Case) {
  const plan = detectBuildPlan(snapshotOf(c.files, c.dirs));
  const entries = new Set(Object.keys(c.files).map((p) => p.split("/")[0]!));
  return { plan, recipe: buildRecipe(plan, { ...OPTIONS, ...c.options }, { entries }) };
}

describe("buildpacks: golden Dockerfiles", () => {
  it.each(BUILDS.map((c) => [c.name, c] as const))("%s", (name, c) => {
    const { plan, recipe } = recipeFor(c);
    expect(plan.buildpack).toBe(c.buildpack);
    expect(recipe.notes).toEqual(c.notes ?? []);
    const dockerfile = recipe.generated.get(recipe.dockerfile) ?? c.files[recipe.dockerfile];
    expect(dockerfile, `no Dockerfile at ${recipe.dockerfile}`).toBeDefined();
    expectGolden(`${name}/Dockerfile`, dockerfile!);
  });

  it("has no golden file without a case", () => {
    const cases = new Set([...BUILDS, ...REFUSALS].map((c) => c.name));
    expect(readdirSync(GOLDEN_DIR).filter((d) => !cases.has(d))).toEqual([]);
  });
});

describe("buildpacks: refusals", () => {
  it.each(REFUSALS.map((c) => [c.name, c] as const))("%s", (name, c) => {
    let refusal: unknown;
    try {
      recipeFor(c);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(RepoConfigError);
    expect(refusal).toBeInstanceOf(InputError);
    const err = refusal as RepoConfigError;
    expectGolden(`${name}/refusal.txt`, `${err.rule}: ${err.message}\n`);
  });

  it("names the environment and the file that gave it away", () => {
    expect(() => recipeFor({ name: "r", files: { "install.R": "" } })).toThrow(
      new UnsupportedEnvironmentError("R", "install.R"),
    );
    expect(() => recipeFor({ name: "r", files: { "install.R": "" } })).toThrow("R environments are not supported yet (found install.R)");
  });
});

describe("build context", () => {
  it("names the generated Dockerfile so it cannot overwrite a repository file, and ignores it", () => {
    const plan = detectBuildPlan(snapshotOf({ "requirements.txt": "six\n" }));
    const recipe = buildRecipe(plan, OPTIONS, {
      entries: new Set(["requirements.txt", ".ganymede.Dockerfile"]),
      dockerignore: "*.pyc\n\n",
    });
    expect(recipe.dockerfile).toBe(".ganymede-2.Dockerfile");
    expect([...recipe.generated.keys()]).toEqual([".ganymede-2.Dockerfile", ".dockerignore"]);
    expect(recipe.generated.get(".dockerignore")).toBe(
      "*.pyc\n# Added by Ganymede's builder: its generated files are not part of the image.\n/.ganymede-2.Dockerfile\n",
    );
  });

  it("keeps a .dockerignore it creates out of the image too", () => {
    const plan = detectBuildPlan(snapshotOf({}));
    const recipe = buildRecipe(plan, OPTIONS, { entries: new Set(["index.ipynb"]) });
    expect(recipe.dockerfile).toBe(".ganymede.Dockerfile");
    expect(recipe.generated.get(".dockerignore")).toBe(
      "# Added by Ganymede's builder: its generated files are not part of the image.\n/.ganymede.Dockerfile\n/.dockerignore\n",
    );
  });

  it("uses a repository's Dockerfile from where it is and generates nothing", () => {
    const plan = detectBuildPlan(snapshotOf({ ".binder/Dockerfile": "FROM x\n" }));
    expect(buildRecipe(plan, OPTIONS, { entries: new Set([".binder"]) })).toEqual({
      dockerfile: ".binder/Dockerfile",
      generated: new Map(),
      buildpack: "dockerfile",
      notes: [],
    });
  });
});

describe("options", () => {
  it("pins Jupyter as scripts/requirements.txt does", () => {
    const pins = readFileSync(path.join(repoRoot, "scripts/requirements.txt"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const pin of DEFAULT_JUPYTER_PACKAGES) expect(pins).toContain(pin);
  });

  it("refuses site options that would break the Dockerfile", () => {
    const plan = detectBuildPlan(snapshotOf({}));
    expect(() => buildRecipe(plan, { ...OPTIONS, jupyterPackages: ["jupyterlab; rm -rf /"] }, { entries: new Set() })).toThrow(
      /is not a pip requirement/,
    );
    expect(() => buildRecipe(plan, { ...OPTIONS, labels: { "a.b": "x\ny" } }, { entries: new Set() })).toThrow(/control character/);
  });
});
