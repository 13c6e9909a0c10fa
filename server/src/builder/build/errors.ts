/**
 * How a build fails once it has started. The message is the sentence the person launching sees as the `failed`
 * event (with the end of the build log when the repository's own steps failed, so a broken postBuild shows its
 * output); it never contains registry credentials. Refusals before a build starts are the builder's SpecError /
 * RepoConfigError and the policy's PolicyDenied.
 */
import { HubError } from "../../errors.js";

export type BuildFailure =
  /** A Dockerfile step failed (the repository's configuration or code). */
  | "build"
  /** The image was built but could not be pushed to the registry. */
  | "push"
  /** The repository could not be fetched at the commit. */
  | "checkout"
  /** The build ran past the policy's buildTimeout. */
  | "timeout"
  /** Everybody waiting for the build went away. */
  | "cancelled"
  /** The engine or the hub failed in a way that is not the repository's fault. */
  | "backend";

export class BuildFailedError extends HubError {
  readonly status = 500;
  readonly code = "build_failed";
  constructor(
    readonly reason: BuildFailure,
    message: string,
    /** The last lines of the build's log, already part of `message` where they help. */
    readonly logTail: string[] = [],
  ) {
    super(message, { reason });
  }
}

/** 90_000 → "1 min 30 s", 3_000 → "3 s", 3_600_000 → "60 min": the way limits are written in messages. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${ms < 1000 ? (ms / 1000).toFixed(1) : seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

export function timeoutError(limitMs: number): BuildFailedError {
  return new BuildFailedError("timeout", `The build exceeded its time limit of ${formatDuration(limitMs)} and was stopped`);
}

/** What an aborted signal means for the build: its reason when it is one of ours, else a cancellation. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof BuildFailedError) return reason;
  return new BuildFailedError("cancelled", "The build was cancelled");
}
