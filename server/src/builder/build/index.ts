/**
 * Running builds (issue 5): the queue and build service, the BuildBackend seam with its Docker implementation,
 * the registry client and the checkout. The pure core (specs, names, buildpacks) is ../index.ts.
 */
export { BUILD_PHASES, BUILD_TERMINAL, LAUNCH_TERMINAL, BuildLog } from "./events.js";
export type { BuildEvent, BuildLogOptions, BuildPhase, EmitBuildEvent } from "./events.js";
export { BuildFailedError, formatDuration } from "./errors.js";
export type { BuildFailure } from "./errors.js";
export type { BuildBackend, BuildJob } from "./backend.js";
export { BuildQueue } from "./build-queue.js";
export type { BuildLimits, BuildQueueOptions, BuildTask } from "./build-queue.js";
export { BuildService } from "./build-service.js";
export type { BuildServiceOptions, EnsureImageRequest } from "./build-service.js";
export { DockerBuildBackend } from "./docker-builder.js";
export type { DockerBuilderOptions } from "./docker-builder.js";
export { RegistryClient, parseImageReference, MANIFEST_ACCEPT } from "./registry.js";
export type { ImageReference, RegistryOptions } from "./registry.js";
export { checkout, withCheckout, Checkout } from "./checkout.js";
export type { CheckoutOptions } from "./checkout.js";
export { parseDockerignore, PatternMatcher } from "./dockerignore.js";
export { listContext } from "./build-context.js";
