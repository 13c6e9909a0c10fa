/**
 * The builder's pure core (issue 5): launch specs → checked RepoSpec → commit (resolve-ref.ts, the one git call)
 * → image name; and repository → BuildPlan → Dockerfile (buildpacks/). Backends that run builds live elsewhere.
 */
export * from "./repo-spec.js";
export { parseSpec, parseSpecPath, specFor, isProvider } from "./spec.js";
export { parsePastedRepo } from "./paste.js";
export type { PastedRepo } from "./paste.js";
export { launchPath, launchUrl, badgeMarkdown, formTarget } from "./launch-link.js";
export type { LaunchTarget } from "./launch-link.js";
export { checkRepoUrl } from "./repo-url.js";
export { checkRef, isCommitId, refProblems } from "./git-ref.js";
export { checkRepoHost, resolveWithDns } from "./host-check.js";
export type { ResolveHost } from "./host-check.js";
export { isPublicAddress, nonPublicReason } from "./addresses.js";
export { checkRepoAccess } from "./access.js";
export type { AccessCheckOptions } from "./access.js";
export { resolveRef, pickCommit } from "./resolve-ref.js";
export type { ResolveRefOptions } from "./resolve-ref.js";
export { imageName, imageRepository, imagePrefixProblems, imageRepositoryProblems } from "./image-name.js";
export { binderServerName } from "./binder-server-name.js";
export { SpecError, RepoConfigError, UnsupportedEnvironmentError } from "./errors.js";
export type { BuilderRule, RepoConfigRule, SpecRule } from "./errors.js";
export * from "./buildpacks/index.js";
