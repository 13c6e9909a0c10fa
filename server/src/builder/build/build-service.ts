/**
 * "Make sure this commit's image exists": the registry is asked first (an image is named by repository and commit,
 * so a hit means nothing to do — no clone, no build); otherwise the build joins the queue, and once it runs: the
 * checkout (`fetching`), detection and the generated Dockerfile, the backend's build and push (`building`,
 * `pushing`), then `built` with the image name. Every path ends in exactly one `built` or `failed`, and leaves no
 * checkout (withCheckout) and no intermediate container or partial tag (the backend) behind. A repository the
 * builder cannot build (RepoConfigError, UnsupportedEnvironmentError) ends in `failed` with that sentence.
 *
 * The launch step (binder/launcher.ts) follows these events, then starts the server and adds `launching`/`ready`.
 */
import type { Logger } from "../../lib/logger.js";
import { buildRecipe, detectBuildPlan, readRepoSnapshot, readRepoTopLevel, type DockerfileOptions } from "../buildpacks/index.js";
import { imageName } from "../image-name.js";
import type { RepoSpec, RepoUrlRules } from "../repo-spec.js";
import type { BuildBackend } from "./backend.js";
import { BuildQueue, type BuildLimits } from "./build-queue.js";
import { withCheckout, type CheckoutOptions } from "./checkout.js";
import type { BuildEvent, BuildLog, EmitBuildEvent } from "./events.js";

export interface BuildServiceOptions {
  backend: BuildBackend;
  /** Builds running at once on this hub (builder config `maxConcurrentBuilds`). */
  maxConcurrentBuilds: number;
  dockerfile: DockerfileOptions;
  /** Prefix of image names made here, registry host included: `127.0.0.1:5000/ganymede-binder/`. */
  imagePrefix: string;
  /** The site's URL rules for fetching (a request may bring the user's own, see EnsureImageRequest.rules). */
  rules: Pick<RepoUrlRules, "allowHttp" | "allowPrivateHosts">;
  checkout?: Pick<CheckoutOptions, "timeoutMs" | "gitBin" | "workDir" | "resolveHost">;
  logger?: Pick<Logger, "info" | "warn" | "error">;
}

export interface EnsureImageRequest {
  user: string;
  spec: RepoSpec;
  /** The resolved commit (resolveRef), a full id. */
  commit: string;
  /** The image to make; by default `imagePrefix` + the repository's slug, tagged with the commit. */
  image?: string;
  limits: BuildLimits;
  /** The user's URL rules (their policy may allow private hosts); the site's by default. */
  rules?: Pick<RepoUrlRules, "allowHttp" | "allowPrivateHosts">;
}

export class BuildService {
  readonly queue: BuildQueue;

  constructor(private readonly options: BuildServiceOptions) {
    this.queue = new BuildQueue({
      maxConcurrentBuilds: options.maxConcurrentBuilds,
      onUnexpectedError: (err, task) => options.logger?.error({ err, image: task.image, user: task.user }, "build failed unexpectedly"),
    });
  }

  /** The image a commit of a repository is built as. */
  imageFor(spec: Pick<RepoSpec, "slug">, commit: string): string {
    return imageName(this.options.imagePrefix, spec, commit);
  }

  /** The events of making sure the image exists, to follow until `built` or `failed` (or until `signal` aborts). */
  ensureImage(request: EnsureImageRequest, signal: AbortSignal): AsyncIterable<BuildEvent> {
    return this.start(request, signal).follow(signal);
  }

  /**
   * Starts making sure the image exists, or joins the build already doing it; returns its log. The build is
   * cancelled when every caller's `signal` has aborted (none passed: it always runs to its end).
   */
  start(request: EnsureImageRequest, signal?: AbortSignal): BuildLog {
    const image = request.image ?? this.imageFor(request.spec, request.commit);
    const log = this.queue.ensure(
      {
        image,
        user: request.user,
        limits: request.limits,
        isBuilt: (s) => this.options.backend.hasImage(image, s),
        run: (s, emit) => this.build(request, image, s, emit),
      },
      signal,
    );
    return log;
  }

  private async build(request: EnsureImageRequest, image: string, signal: AbortSignal, emit: EmitBuildEvent): Promise<void> {
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;
    try {
      await this.checkoutAndBuild(request, image, signal, emit);
      this.options.logger?.info({ image, user: request.user, seconds: seconds() }, "image built");
    } catch (err) {
      this.options.logger?.info({ image, user: request.user, seconds: seconds(), reason: (err as Error).message }, "image build failed");
      throw err;
    }
  }

  private async checkoutAndBuild(request: EnsureImageRequest, image: string, signal: AbortSignal, emit: EmitBuildEvent): Promise<void> {
    const { spec, commit } = request;
    emit({ phase: "fetching", message: `Fetching ${spec.displayName} at ${commit}\n` });
    await withCheckout(
      spec,
      commit,
      {
        ...this.options.checkout,
        rules: request.rules ?? this.options.rules,
        signal,
        onProgress: (line) => emit({ phase: "fetching", message: `${line}\n` }),
      },
      async (dir) => {
        const plan = detectBuildPlan(await readRepoSnapshot(dir));
        const recipe = buildRecipe(plan, this.options.dockerfile, await readRepoTopLevel(dir));
        emit({ phase: "building", message: `Building ${image} (buildpack: ${recipe.buildpack})\n` });
        for (const note of recipe.notes) emit({ phase: "building", message: `${note}\n` });
        await this.options.backend.build(
          {
            image,
            checkoutDir: dir,
            recipe,
            labels: {
              "org.ganymede.repo": spec.repoUrl,
              "org.ganymede.ref": spec.ref,
              "org.ganymede.commit": commit,
              "org.ganymede.spec": spec.spec,
            },
          },
          signal,
          emit,
        );
      },
    );
  }
}
