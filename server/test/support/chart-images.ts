/**
 * The hub's image for the chart's test, built by the project's own script (scripts/images.sh) from its own Dockerfile
 * (images/hub/Dockerfile), on bases made on this machine because no image can be pulled here:
 *
 * - NODE_IMAGE: the base image (scripts/make-base-image.sh) with **this machine's own Node** (its binary, npm and
 *   corepack): Debian's Node is 18 and the hub needs 20.19 or later; no Node download is reachable here.
 * - NODE_BUILD_IMAGE: that, plus what better-sqlite3 compiles with (make, g++) and Node's headers (node-gyp would
 *   download them otherwise).
 * - BUILDKIT_IMAGE and KUBECTL_IMAGE: one file each where BuildKit's and Kubernetes' images keep buildctl and kubectl
 *   (buildctl built by scripts/test-cluster.sh, kubectl from this machine's apt sources).
 *
 * Tagged by a hash of everything it is made from, so a cluster run rebuilds it only when the hub's sources change.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { BASE_IMAGE, buildImageOnce, ensureBaseImage, hasLocalImage, startDockerEngine, type DockerEngine } from "./docker.js";
import { clusterBinaries, ensureOnNode } from "./kubernetes.js";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);
const NODE_PREFIX = path.dirname(path.dirname(process.execPath)); // /usr for /usr/bin/node

/** Every file under `dir` (but .gitignore'd trees), hashed with its path: what the hub image is built from. */
function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  for (const entry of readdirSync(dir).sort()) {
    if (["node_modules", "dist", "generated", "test-results"].includes(entry)) continue;
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) hashTree(hash, file);
    else hash.update(path.relative(repoRoot, file)).update(readFileSync(file));
  }
}

/** `name:<node version>-<hash of the Dockerfile>`: a changed recipe makes a new image. */
const recipeTag = (name: string, dockerfile: string) =>
  `${name}:${process.version.slice(1)}-${createHash("sha256").update(dockerfile).digest("hex").slice(0, 8)}`;

async function baseImages(engine: DockerEngine): Promise<Record<string, string>> {
  await ensureBaseImage(engine);
  // The base image trusts what this machine trusts (a TLS-inspecting proxy's CA among them, scripts/make-base-image.sh);
  // Node reads only its own CA list unless told.
  const nodeDockerfile = `FROM ${BASE_IMAGE}
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY corepack /usr/local/lib/node_modules/corepack
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack
`;
  const node = recipeTag("ganymede-test/node", nodeDockerfile);
  await buildImageOnce(
    engine,
    node,
    nodeDockerfile,
    { node: process.execPath, npm: path.join(NODE_PREFIX, "lib/node_modules/npm"), corepack: path.join(NODE_PREFIX, "lib/node_modules/corepack") },
  );
  const nodeBuildDockerfile = `FROM ${node}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make g++ >/dev/null && rm -rf /var/lib/apt/lists/*
COPY include /usr/local/include/node
ENV npm_config_nodedir=/usr/local
`;
  const nodeBuild = recipeTag("ganymede-test/node-build", nodeBuildDockerfile);
  await buildImageOnce(
    engine,
    nodeBuild,
    nodeBuildDockerfile,
    { include: path.join(NODE_PREFIX, "include/node") },
  );
  const bin = clusterBinaries();
  const buildkit = `ganymede-test/buildctl:${createHash("sha256").update(readFileSync(path.join(bin, "buildctl"))).digest("hex").slice(0, 12)}`;
  await buildImageOnce(engine, buildkit, "FROM scratch\nCOPY buildctl /usr/bin/buildctl\n", { buildctl: path.join(bin, "buildctl") });
  const kubectlPath = (await run("sh", ["-c", "readlink -f $(command -v kubectl)"])).stdout.trim();
  const kubectl = `ganymede-test/kubectl:${createHash("sha256").update(readFileSync(kubectlPath)).digest("hex").slice(0, 12)}`;
  await buildImageOnce(engine, kubectl, "FROM scratch\nCOPY kubectl /bin/kubectl\n", { kubectl: kubectlPath });
  return { NODE_IMAGE: node, NODE_BUILD_IMAGE: nodeBuild, BUILDKIT_IMAGE: buildkit, KUBECTL_IMAGE: kubectl };
}

/**
 * `ganymede-test/<which>:<hash>` built by scripts/images.sh from images/<which>/Dockerfile with `buildArgs`, on the
 * cluster's node. The hash covers the build arguments and `sources` (what the Dockerfile copies), so an unchanged
 * image is neither rebuilt nor imported again; `baseIds` are the ids of base images named by a tag that can be remade.
 */
async function clusterProjectImage(
  engine: DockerEngine,
  which: "hub" | "singleuser",
  buildArgs: Record<string, string>,
  sources: string[],
  baseIds: string[] = [],
): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify(buildArgs)).update(baseIds.join());
  for (const part of [`images/${which}/Dockerfile`, ...sources]) {
    const file = path.join(repoRoot, part);
    if (statSync(file).isDirectory()) hashTree(hash, file);
    else hash.update(part).update(readFileSync(file));
  }
  const repository = "ganymede-test/";
  const tag = `${repository}${which}:${hash.digest("hex").slice(0, 12)}`;
  if (!(await hasLocalImage(engine.docker, tag))) {
    const args = Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
    const { stdout } = await run(path.join(repoRoot, "scripts/images.sh"), [which, ...args, "--quiet"], {
      env: { ...process.env, DOCKER_HOST: `unix://${engine.socketPath}`, IMAGE_REPOSITORY: repository },
      maxBuffer: 64 * 2 ** 20,
    });
    const built = stdout.trim().split("\n").at(-1)!;
    const [repo, version] = tag.split(":") as [string, string];
    await engine.docker.getImage(built).tag({ repo, tag: version });
  }
  await ensureOnNode(engine.docker, tag);
  return tag;
}

let hubImage: Promise<string> | undefined;

/** The hub's image (scripts/images.sh hub), on the cluster's node. */
export function clusterHubImage(): Promise<string> {
  hubImage ??= (async () => {
    const engine = await startDockerEngine();
    const sources = ["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", "tsconfig.base.json", "prisma", "server", "web"];
    return clusterProjectImage(engine, "hub", await baseImages(engine), sources);
  })();
  return hubImage;
}

let singleuserImage: Promise<string> | undefined;

/**
 * The chart's default server image (scripts/images.sh singleuser: JupyterLab from PyPI at the versions of
 * scripts/requirements.txt), on the base image made on this machine instead of Python's public image.
 */
export function clusterSingleuserImage(): Promise<string> {
  singleuserImage ??= (async () => {
    const engine = await startDockerEngine();
    await ensureBaseImage(engine);
    const base = await engine.docker.getImage(BASE_IMAGE).inspect();
    return clusterProjectImage(engine, "singleuser", { BASE_IMAGE }, ["scripts/requirements.txt"], [base.Id]);
  })();
  return singleuserImage;
}
