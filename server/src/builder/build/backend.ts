/**
 * The seam between the build service (checkout, detection, queue, events) and whatever turns a checkout into an
 * image in the registry. docker-builder.ts is the one backend today: the local engine's classic builder, then a push.
 * A Kubernetes/BuildKit backend would implement the same two calls (a build pod reading the checkout or cloning it
 * itself), and the queue, events and cleanup rules stay the same.
 */
import type { BuildRecipe } from "../buildpacks/index.js";
import type { EmitBuildEvent } from "./events.js";

export interface BuildJob {
  /** The full reference to build and push: `registry-host[:port]/repository:tag`. */
  image: string;
  /** The repository checked out at the commit (see checkout.ts); the backend may write the recipe's files into it. */
  checkoutDir: string;
  /** From buildRecipe(): the Dockerfile to use and the files to generate next to it. */
  recipe: BuildRecipe;
  /** Dockerfile ARG values. */
  buildArgs?: Record<string, string>;
  /** Image labels (repository, commit…), set on the final image without touching any cached layer. */
  labels: Record<string, string>;
}

export interface BuildBackend {
  /** Whether the registry already has `image` (then nothing is built). */
  hasImage(image: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Builds `job.image` and pushes it, emitting `building` and `pushing` events (never a terminal one). Resolves once
   * the registry has the image; rejects with BuildFailedError, or with the signal's reason once `signal` aborts —
   * in both cases after removing what it made (intermediate containers, a partial tag).
   */
  build(job: BuildJob, signal: AbortSignal, emit: EmitBuildEvent): Promise<void>;
}
