/**
 * The builder's refusals. Each is an InputError (HTTP 400, code "invalid_input") that also names the rule that
 * refused, so a build stream can end in `failed{reason}` with the same sentence the API answers and the log records,
 * and tests can tell the rules apart without matching prose.
 */
import { InputError } from "../errors.js";

/** Rules about what a launch spec or a pasted URL may name (checked before git sees any of it). */
export type SpecRule =
  | "spec_format"
  | "url_format"
  | "url_scheme"
  | "url_credentials"
  | "url_option"
  | "url_remote_helper"
  | "private_host"
  | "host_unresolved"
  | "ref_format"
  | "ref_option"
  | "ref_not_found"
  | "repo_unreadable";

/** Rules about what a repository's configuration asks the builder to do. */
export type RepoConfigRule =
  | "binder_dirs_conflict"
  | "runtime_invalid"
  | "runtime_python_unavailable"
  | "apt_package_invalid"
  | "conda_unavailable"
  | "config_file_invalid"
  | "environment_unsupported";

export type BuilderRule = SpecRule | RepoConfigRule;

/** A launch spec, repository URL or ref that the builder refuses; `field` says which input was wrong. */
export class SpecError extends InputError {
  constructor(
    readonly rule: SpecRule,
    message: string,
    readonly field: "spec" | "repo" | "ref" = "repo",
  ) {
    super(message, [{ field, detail: message }]);
  }
}

/** A repository whose configuration cannot be built here (both binder dirs, an unavailable Python, …). */
export class RepoConfigError extends InputError {
  constructor(
    readonly rule: RepoConfigRule,
    message: string,
    /** The repository file the refusal is about, e.g. "binder/runtime.txt". */
    readonly file?: string,
  ) {
    super(message, file ? [{ field: file, detail: message }] : []);
  }
}

/** An environment type repo2docker knows that this builder detects but does not build (yet). */
export class UnsupportedEnvironmentError extends RepoConfigError {
  constructor(
    readonly environment: "R" | "Julia" | "Nix",
    /** The file that gave it away, e.g. "install.R". */
    readonly found: string,
  ) {
    super("environment_unsupported", `${environment} environments are not supported yet (found ${found})`, found);
  }
}
