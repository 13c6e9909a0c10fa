/**
 * The Docker backend: the local engine's classic builder over the Engine API (dockerode), then a push to the
 * registry. Pushing is what makes an image shareable (other nodes, Kubernetes later); the local tag is kept by
 * default because the Docker spawner starts servers from this same engine's images.
 *
 * Cancellation and the build timeout both arrive as the AbortSignal: the build request is aborted, and the engine
 * stops a classic build when its client goes away, removing the step's container (forcerm; checked on engine 20.10).
 * The backend does not rely on that alone: every intermediate container the build announced ("---> Running in …")
 * is removed if it is still there, and a tag made by a build or push that did not finish is removed, on the engine
 * and in the registry.
 */
import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { HubError } from "../../errors.js";
import { engineMessage, hasStatus } from "../../engines/docker.js";
import type { BuildBackend, BuildJob } from "./backend.js";
import { listContext, packContext, writeGeneratedFiles } from "./build-context.js";
import { LineSplitter, readEngineStream, Tail } from "./engine-stream.js";
import { abortReason, BuildFailedError } from "./errors.js";
import type { EmitBuildEvent } from "./events.js";
import { formatBytes, PushProgress } from "./push-progress.js";
import { parseImageReference, type RegistryClient } from "./registry.js";

export interface DockerBuilderOptions {
  docker: Docker;
  registry: RegistryClient;
  /** Keep the image tagged on this engine after the push (default true: the Docker spawner runs it from here). */
  keepLocalImage?: boolean;
  /** A memory limit for each build step's container, in bytes (the engine's default: none). */
  memoryBytes?: number;
  /** Lines of build output quoted in a failed build's message; default 25. */
  logTailLines?: number;
  /** At most one push summary per interval; default 2 s. */
  pushProgressIntervalMs?: number;
}

const RUNNING_IN = /^\s*---> Running in ([0-9a-f]{12,64})\s*$/;
/** How long removing a cancelled step's container may take before the build gives up waiting for it. */
const CLEANUP_WAIT_MS = 10_000;

export class DockerBuildBackend implements BuildBackend {
  private readonly docker: Docker;
  private readonly registry: RegistryClient;

  constructor(private readonly options: DockerBuilderOptions) {
    this.docker = options.docker;
    this.registry = options.registry;
  }

  hasImage(image: string, signal?: AbortSignal): Promise<boolean> {
    return this.registry.hasImage(image, signal);
  }

  async build(job: BuildJob, signal: AbortSignal, emit: EmitBuildEvent): Promise<void> {
    if (signal.aborted) throw abortReason(signal);
    parseImageReference(job.image); // a name the registry can hold, before any work
    await writeGeneratedFiles(job.checkoutDir, job.recipe.generated);
    const listing = await listContext(job.checkoutDir, job.recipe.dockerfile);
    emit({ phase: "building", message: `Sending the build context: ${listing.files} files, ${formatBytes(listing.bytes)}\n` });
    await this.runBuild(job, listing.entries, signal, emit);
    await this.push(job.image, signal, emit);
    if (!(this.options.keepLocalImage ?? true)) await this.untag(job.image);
  }

  private async runBuild(job: BuildJob, entries: string[], signal: AbortSignal, emit: EmitBuildEvent): Promise<void> {
    const containers = new Set<string>();
    const tail = new Tail(this.options.logTailLines ?? 25);
    const lines = new LineSplitter((line) => {
      tail.add(line);
      const step = RUNNING_IN.exec(line);
      if (step) containers.add(step[1]!);
      emit({ phase: "building", message: `${line}\n` });
    });
    let failure: string | undefined;
    let imageId: string | undefined;
    const packed = packContext(job.checkoutDir, entries, signal);
    packed.done.catch(() => undefined); // awaited below; a failure before that must not go unhandled
    try {
      const registryAuth = this.registry.engineAuth;
      const body = (await this.docker.buildImage(packed.stream, {
        t: job.image,
        dockerfile: job.recipe.dockerfile,
        labels: job.labels,
        ...(job.buildArgs ? { buildargs: job.buildArgs } : {}),
        // Remove every intermediate container, also those of a failed step.
        rm: true,
        forcerm: true,
        ...(this.options.memoryBytes ? { memory: this.options.memoryBytes, memswap: this.options.memoryBytes } : {}),
        // FROM images in a registry that needs credentials (the site's own base image).
        ...(registryAuth.username !== undefined
          ? { registryconfig: { [this.registry.host]: { username: registryAuth.username, password: registryAuth.password ?? "" } } }
          : {}),
        // The classic builder: its JSON stream, its "Running in" lines and its cache are what this backend relies on.
        version: "1",
        abortSignal: signal,
      })) as Readable;
      await readEngineStream(body, (message) => {
        if (message.stream) lines.push(message.stream);
        if (message.aux?.ID) imageId = message.aux.ID;
        if (message.error || message.errorDetail) failure = message.errorDetail?.message ?? message.error;
      });
      lines.flush();
      if (failure !== undefined) {
        const last = tail.all;
        throw new BuildFailedError(
          "build",
          `The image could not be built: ${failure.trim()}\nThe end of the build log:\n${last.join("\n")}\n`,
          last,
        );
      }
      // The engine read the whole context before building, so tar has finished; this only reports how.
      await packed.done;
      if (!imageId) throw new BuildFailedError("backend", "The Docker engine ended the build without making an image");
    } catch (err) {
      lines.flush();
      await this.removeContainers(containers);
      await this.untag(job.image);
      if (signal.aborted) throw abortReason(signal);
      if (err instanceof HubError) throw err;
      // 400: the engine refused the Dockerfile itself (a parse error, an unknown instruction): the repository's fault.
      if (hasStatus(err, 400)) throw new BuildFailedError("build", `The image could not be built: ${engineText(err)}`);
      throw new BuildFailedError("backend", `The Docker engine could not run the build: ${engineText(err)}`, tail.all);
    } finally {
      packed.stop();
    }
  }

  private async push(image: string, signal: AbortSignal, emit: EmitBuildEvent): Promise<void> {
    const colon = image.lastIndexOf(":");
    const [repository, tag] = [image.slice(0, colon), image.slice(colon + 1)];
    emit({ phase: "pushing", message: `Pushing ${image}\n` });
    const progress = new PushProgress(this.options.pushProgressIntervalMs ?? 2000);
    let failure: string | undefined;
    try {
      const body = (await this.docker.getImage(repository).push({
        tag,
        // The engine wants the header even when the registry needs no credentials.
        authconfig: this.registry.engineAuth,
        abortSignal: signal,
      })) as Readable;
      await readEngineStream(body, (message) => {
        if (message.error || message.errorDetail) failure = message.errorDetail?.message ?? message.error;
        for (const line of progress.update(message)) emit({ phase: "pushing", message: `${line}\n` });
      });
      if (failure !== undefined) {
        throw new BuildFailedError("push", `The image was built but could not be pushed to ${this.registry.host}: ${failure.trim()}`);
      }
      emit({ phase: "pushing", message: `Pushed ${image}${progress.digest ? ` (${progress.digest})` : ""}\n` });
    } catch (err) {
      // Whatever reached the registry is not a finished image of this commit; nor is the local tag a usable result.
      await this.registry.deleteImage(image, AbortSignal.timeout(15_000)).catch(() => false);
      await this.untag(image);
      if (signal.aborted) throw abortReason(signal);
      if (err instanceof HubError) throw err;
      throw new BuildFailedError("push", `The image was built but could not be pushed to ${this.registry.host}: ${engineText(err)}`);
    }
  }

  /**
   * Makes sure the build's intermediate containers are gone. The engine removes a failed step's container itself
   * (forcerm) and, after a cancel, the running step's one within a second or so; removing by force as well closes
   * the gap, and the wait until the engine no longer knows them makes "no container left" true when this returns.
   */
  private async removeContainers(ids: Iterable<string>): Promise<void> {
    await Promise.all(
      [...ids].map(async (id) => {
        const container = this.docker.getContainer(id);
        await container.remove({ force: true }).catch(() => undefined); // 404 gone, 409 removal in progress
        const deadline = Date.now() + CLEANUP_WAIT_MS;
        while (Date.now() < deadline) {
          try {
            await container.inspect();
          } catch (err) {
            if (hasStatus(err, 404)) return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
  }

  /** Removes the tag only: the layers stay as the next build's cache. */
  private async untag(image: string): Promise<void> {
    await this.docker
      .getImage(image)
      .remove({ noprune: true })
      .catch((err: unknown) => {
        if (!hasStatus(err, 404, 409)) throw err;
      })
      .catch(() => undefined);
  }
}

/** The engine's words, without docker-modem's "(HTTP code 400) unexpected - " preamble of streamed answers. */
function engineText(err: unknown): string {
  return engineMessage(err).replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
}
