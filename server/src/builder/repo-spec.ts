/**
 * What a Binder launch names: a repository (as an https clone URL) and an unresolved ref. The providers are
 * BinderHub's git-based ones; their spec grammars live in spec.ts, what a person pastes in paste.ts.
 */

/** BinderHub's provider prefixes: `git` (any git URL), `gh` (GitHub), `gl` (GitLab), `gist` (GitHub Gist). */
export const PROVIDERS = ["git", "gh", "gl", "gist"] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface RepoSpec {
  provider: Provider;
  /** The URL git clones: https (or http where the site allows it), no credentials. */
  repoUrl: string;
  /** The ref as asked for (branch, tag, commit or `HEAD`); resolved to a commit by resolve-ref.ts. */
  ref: string;
  /**
   * The repository's identity for naming images and servers: host and path, lowercase where the host ignores
   * case (GitHub, GitLab), e.g. `github.com/binder-examples/requirements`. Never contains the ref.
   */
  slug: string;
  /** For people: `binder-examples/requirements`, `group/sub/repo`, `git.example.org/team/repo`. */
  displayName: string;
  /** The provider's part of the launch path with the ref, as specFor() would build it. */
  spec: string;
}

/** The hosts behind the fixed providers. A site with GitHub Enterprise or its own GitLab overrides them. */
export interface ProviderHosts {
  github: string;
  gitlab: string;
  gist: string;
}

export const DEFAULT_PROVIDER_HOSTS: ProviderHosts = {
  github: "github.com",
  gitlab: "gitlab.com",
  gist: "gist.github.com",
};

/** What the site allows a repository URL to be; from the hub's builder configuration. */
export interface RepoUrlRules {
  /** Accept plain http:// URLs (for local test servers). https only otherwise. */
  allowHttp: boolean;
  /** Accept hosts that are, or resolve to, loopback, private, link-local or other non-public addresses. */
  allowPrivateHosts: boolean;
  hosts?: Partial<ProviderHosts>;
}

export const DEFAULT_URL_RULES: RepoUrlRules = { allowHttp: false, allowPrivateHosts: false };

export function providerHosts(rules: Pick<RepoUrlRules, "hosts">): ProviderHosts {
  return { ...DEFAULT_PROVIDER_HOSTS, ...rules.hosts };
}

/** The ref used when a spec names none: the remote's default branch. */
export const DEFAULT_REF = "HEAD";
