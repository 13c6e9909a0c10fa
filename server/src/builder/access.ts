/**
 * The full check of a repository before anything fetches from it: the URL and ref rules again (a RepoSpec may
 * come from storage or another module, not only from parseSpec) and, when the site forbids private hosts, the
 * addresses its host resolves to.
 */
import { checkRef } from "./git-ref.js";
import { checkRepoHost, type ResolveHost } from "./host-check.js";
import type { RepoSpec, RepoUrlRules } from "./repo-spec.js";
import { checkRepoUrl } from "./repo-url.js";

export interface AccessCheckOptions {
  rules: RepoUrlRules;
  /** DNS lookup; defaults to node:dns. */
  resolveHost?: ResolveHost;
}

export async function checkRepoAccess(spec: Pick<RepoSpec, "repoUrl" | "ref">, options: AccessCheckOptions): Promise<void> {
  const url = checkRepoUrl(spec.repoUrl, options.rules);
  checkRef(spec.ref);
  await checkRepoHost(url, { allowPrivateHosts: options.rules.allowPrivateHosts, resolveHost: options.resolveHost });
}
