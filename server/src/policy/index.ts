/**
 * The policy engine's public surface. The hub holds one PolicyEngine; everything else asks it (or the pure
 * functions below, given a PolicySet) what a user may do. See policies/README.md for the file format and the
 * precedence rule.
 */
export { PolicyEngine, PolicyLoadError } from "./engine.js";
export type { PolicyEngineOptions, PolicyLogger, PolicyReloadEvent, PolicyStatus, ReloadResult } from "./engine.js";
export { decide, enforce, lifetimeDeadlines, BUILT_IN_POLICY } from "./decide.js";
export type { Decision, PolicyAction, PolicyRequest } from "./decide.js";
export { explain, formatLimit, policyExplainText } from "./explain.js";
export type { ExplainedLimit } from "./explain.js";
export { policyCheckReport } from "./check.js";
export { diffPolicySets, policyDiffText } from "./diff.js";
export type { PolicyChange, PolicyDiff, PolicyDiffEntry } from "./diff.js";
export { loadPolicyDir, listPolicyFiles } from "./load.js";
export { policySetFromObjects } from "./set.js";
export type { FileReport, Policy, PolicySet, PolicySetResult } from "./set.js";
export { matchingPolicies, resolveLimits } from "./resolve.js";
export type { EffectiveLimits, LimitCandidate, LimitSource, PolicyUser, ResolvedLimits } from "./resolve.js";
export { LIMIT_NAMES, SERVER_NAME_HARD_MAX, policyFileSchema } from "./schema.js";
export type { LimitName, PolicyCapacity, PolicyFile, PolicyLimits, PolicyRepositories } from "./schema.js";
export { serverNameSafetyProblems } from "./server-name.js";
export { poolUsage, poolsOf } from "./quotas.js";
export { chooseEnvironment, offerFor } from "./environments.js";
export type { EnvironmentChoice, EnvironmentRequest, Offer, OfferedEnvironment, OfferedSize } from "./environments.js";
export type { PoolUse, RunningServer, ServerUsage } from "./quotas.js";
export { repositoryReasons, resolveRepositoryRules } from "./repositories.js";
export type { AllowList, DenyRule, RepositoryRules } from "./repositories.js";
export { matchesRepositoryPattern, repositoryIdentity, repositoryPatternProblem } from "./repository-pattern.js";
