/**
 * Resolves a ref to a commit with `git ls-remote`, the one place the builder's core runs git. No shell: execFile
 * with an argument list, `--` before the URL, a ref that checkRef accepted. git is boxed in: only the allowed
 * transports (GIT_ALLOW_PROTOCOL, plus protocol.file.allow=never), no terminal or askpass prompts, no credential
 * helpers, no user or system config (whose `url.<x>.insteadOf` could rewrite the URL), and a timeout. Redirects
 * are off when private hosts are forbidden, since a public host could otherwise redirect git to a private one.
 */
import { execFile } from "node:child_process";
import { SpecError } from "./errors.js";
import { UnavailableError } from "../errors.js";
import { checkRef, isCommitId } from "./git-ref.js";
import { checkRepoHost, type ResolveHost } from "./host-check.js";
import type { RepoSpec, RepoUrlRules } from "./repo-spec.js";
import { checkRepoUrl } from "./repo-url.js";
import { gitMessage, hardenedGitConfig, hardenedGitEnv } from "./git-hardening.js";

export interface ResolveRefOptions {
  rules: Pick<RepoUrlRules, "allowHttp" | "allowPrivateHosts">;
  /** Default 20 s: ls-remote of one ref is one small request. */
  timeoutMs?: number;
  /** Default "git" from PATH. */
  gitBin?: string;
  signal?: AbortSignal;
  /** DNS lookup for the private-host check; defaults to node:dns. */
  resolveHost?: ResolveHost;
}

type Target = Pick<RepoSpec, "repoUrl" | "ref" | "displayName">;

function gitArgs(url: string, ref: string, rules: ResolveRefOptions["rules"]): string[] {
  return [
    ...hardenedGitConfig(rules),
    // The second pattern lists an annotated tag's peeled commit, which the exact name alone does not.
    // checkRef refused "?", "*" and "[", so neither pattern has glob characters.
    "ls-remote", "--", url, ref, `${ref}^{}`,
  ];
}

/**
 * Which listed ref wins, in git's own order for a short name (rev-parse): the name itself (HEAD, refs/…),
 * refs/<name>, then tags (the peeled commit of an annotated tag), then branches.
 */
export function pickCommit(lsRemote: string, ref: string): string | undefined {
  const refs = new Map<string, string>();
  for (const line of lsRemote.split("\n")) {
    const [sha, name] = line.trim().split(/\s+/);
    if (sha && name && isCommitId(sha)) refs.set(name, sha);
  }
  const candidates = [
    ref,
    `refs/${ref}`,
    `refs/tags/${ref}^{}`,
    `refs/tags/${ref}`,
    `refs/heads/${ref}`,
  ];
  // A full ref name given as such (refs/tags/v1) also prefers its peeled commit.
  if (ref.startsWith("refs/tags/")) candidates.unshift(`${ref}^{}`);
  for (const name of candidates) {
    const sha = refs.get(name);
    if (sha) return sha;
  }
  return undefined;
}

/** git's words for "the server could not be reached": an outage, not a bad spec. */
const UNREACHABLE =
  /could not resolve host|couldn't connect|failed to connect|connection refused|timed out|network is unreachable|ssl|tls/i;

/**
 * Resolves `target.ref` in `target.repoUrl` to a full commit id. The URL, ref and host are checked again first
 * (checkRepoAccess's rules), so this is safe to call with any RepoSpec. A ref that already is a commit id is
 * returned as is: ls-remote lists only branch and tag tips, so it could not confirm one anyway; the fetch will.
 */
export async function resolveRef(target: Target, options: ResolveRefOptions): Promise<string> {
  const parsed = checkRepoUrl(target.repoUrl, options.rules);
  const url = parsed.href;
  const ref = checkRef(target.ref);
  if (isCommitId(ref)) return ref;
  await checkRepoHost(parsed, { allowPrivateHosts: options.rules.allowPrivateHosts, resolveHost: options.resolveHost });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const { stdout, stderr, error } = await new Promise<{ stdout: string; stderr: string; error: Error | null }>(
    (resolve) => {
      execFile(
        options.gitBin ?? "git",
        gitArgs(url, ref, options.rules),
        {
          env: hardenedGitEnv(options.rules),
          timeout: timeoutMs,
          killSignal: "SIGKILL",
          maxBuffer: 4 * 1024 * 1024,
          signal: options.signal,
        },
        (err, out, errOut) => resolve({ stdout: String(out), stderr: String(errOut), error: err }),
      );
    },
  );
  if (error) {
    if (options.signal?.aborted) throw error;
    const killed = (error as { killed?: boolean }).killed;
    if (killed) {
      throw new UnavailableError(`git ls-remote of ${target.displayName} timed out after ${timeoutMs / 1000} s`);
    }
    if ((error as { code?: unknown }).code === "ENOENT") {
      throw new UnavailableError(`git is not installed (${options.gitBin ?? "git"})`);
    }
    const message = gitMessage(stderr);
    if (UNREACHABLE.test(message)) throw new UnavailableError(`could not reach ${target.displayName}: ${message}`);
    throw new SpecError(
      "repo_unreadable",
      `could not read ${target.displayName}: ${message} (it may not exist, or not be public)`,
    );
  }
  const commit = pickCommit(stdout, ref);
  if (!commit) throw new SpecError("ref_not_found", `ref '${ref}' not found in ${target.displayName}`, "ref");
  return commit;
}
