/**
 * The repository at one commit, in a fresh temporary folder, for one build; removed again whatever happens.
 *
 * `git init` + `git fetch --depth 1 origin <commit>` + `git checkout --detach FETCH_HEAD` fetches only that commit
 * (GitHub, GitLab and git's own http-backend with protocol v2 allow asking for a commit by id); a server that refuses
 * (protocol v0 without allowReachableSHA1InWant, dumb http) gets a full fetch of its branches and tags instead. git
 * runs with execFile, never a shell, and with resolve-ref.ts's hardening: no system or user configuration, no
 * credential helper or prompt, only http(s) transports (GIT_ALLOW_PROTOCOL, protocol.file.allow=never), no
 * redirects when private hosts are forbidden, submodules not fetched, a timeout and the caller's AbortSignal.
 * git's progress (stderr with --progress) becomes `fetching` lines, thinned out.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UnavailableError } from "../../errors.js";
import { SpecError } from "../errors.js";
import { isCommitId } from "../git-ref.js";
import { checkRepoHost, type ResolveHost } from "../host-check.js";
import type { RepoSpec, RepoUrlRules } from "../repo-spec.js";
import { checkRepoUrl } from "../repo-url.js";
import { gitMessage, hardenedGitConfig, hardenedGitEnv } from "../git-hardening.js";
import { abortReason } from "./errors.js";

export interface CheckoutOptions {
  rules: Pick<RepoUrlRules, "allowHttp" | "allowPrivateHosts">;
  /** For the whole checkout; default 5 min. */
  timeoutMs?: number;
  /** Default "git" from PATH. */
  gitBin?: string;
  /** Where the temporary folder is made; default the OS's temp dir. */
  workDir?: string;
  signal?: AbortSignal;
  /** Progress lines from git (without the newline). */
  onProgress?: (line: string) => void;
  /** DNS lookup for the private-host check; defaults to node:dns. */
  resolveHost?: ResolveHost;
}

type Target = Pick<RepoSpec, "repoUrl" | "displayName">;

function hardening(rules: CheckoutOptions["rules"]): string[] {
  return [
    ...hardenedGitConfig(rules),
    "-c", "submodule.recurse=false",
    "-c", "advice.detachedHead=false",
    "-c", "init.defaultBranch=main",
  ];
}

interface GitResult {
  error: (Error & { code?: unknown; killed?: boolean }) | null;
  stderr: string;
  stdout: string;
}


const UNREACHABLE =
  /could not resolve host|couldn't connect|failed to connect|connection refused|timed out|network is unreachable|ssl|tls/i;

/**
 * Thins out git's progress: a counter line ("Receiving objects:  40% (2/5)") at most once a second per kind, and
 * its final "done." line; other lines as they come.
 */
export function progressFilter(emit: (line: string) => void, now: () => number = Date.now): (chunk: string) => void {
  let partial = "";
  const lastShown = new Map<string, number>();
  return (chunk) => {
    const parts = (partial + chunk).split(/[\r\n]/);
    partial = parts.pop() ?? "";
    for (const raw of parts) {
      const line = raw.replace(/[\x00-\x1f\x7f]/g, "").trim();
      if (!line) continue;
      const counter = /^(?:remote: )?([A-Za-z ]+):\s+\d+%/.exec(line);
      if (counter && !/done\.?$/.test(line)) {
        const kind = counter[1]!;
        const at = now();
        if (at - (lastShown.get(kind) ?? -Infinity) < 1000) continue;
        lastShown.set(kind, at);
      }
      emit(line);
    }
  };
}

export class Checkout {
  constructor(
    /** The checkout (its `.git` included). */
    readonly dir: string,
    readonly commit: string,
    private readonly root: string,
  ) {}

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Checks `target` out at `commit` into a new folder. On failure nothing is left behind; on success the caller
 * removes it (or use withCheckout). Throws SpecError when the commit is not in the repository, UnavailableError when
 * the host cannot be reached or git timed out, and the signal's reason when it aborts.
 */
export async function checkout(target: Target, commit: string, options: CheckoutOptions): Promise<Checkout> {
  if (!isCommitId(commit)) throw new Error(`checkout needs a full commit id; got ${JSON.stringify(commit)}`);
  const url = checkRepoUrl(target.repoUrl, options.rules);
  await checkRepoHost(url, { allowPrivateHosts: options.rules.allowPrivateHosts, resolveHost: options.resolveHost });

  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const root = await mkdtemp(path.join(options.workDir ?? tmpdir(), "ganymede-checkout-"));
  const dir = path.join(root, "repo");
  const git = gitRunner(options, signal);

  const fail = (result: GitResult, what: string): Error => {
    if (options.signal?.aborted) return abortReason(options.signal);
    if (timeout.aborted) return new UnavailableError(`fetching ${target.displayName} timed out after ${timeoutMs / 1000} s`);
    if (result.error?.code === "ENOENT") return new UnavailableError(`git is not installed (${options.gitBin ?? "git"})`);
    const message = gitMessage(result.stderr);
    if (UNREACHABLE.test(message)) return new UnavailableError(`could not reach ${target.displayName}: ${message}`);
    return new SpecError("repo_unreadable", `could not ${what} ${target.displayName}: ${message}`);
  };

  try {
    const init = await git(["init", "--quiet", "--template=", dir], root);
    if (init.error) throw fail(init, "prepare a checkout of");
    const remote = await git(["remote", "add", "origin", url.href], dir);
    if (remote.error) throw fail(remote, "prepare a checkout of");

    const fetchArgs = ["fetch", "--progress", "--no-tags", "--no-recurse-submodules"];
    let fetched = await git([...fetchArgs, "--depth", "1", "origin", commit], dir, true);
    let rev = "FETCH_HEAD";
    if (fetched.error && !signal.aborted && !UNREACHABLE.test(gitMessage(fetched.stderr))) {
      // The server would not hand out a commit by id: fetch its branches and tags, then look for the commit.
      options.onProgress?.(`The server does not serve single commits (${gitMessage(fetched.stderr)}); fetching all branches`);
      fetched = await git(
        [...fetchArgs, "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
        dir,
        true,
      );
      rev = commit;
      if (!fetched.error) {
        const has = await git(["cat-file", "-e", `${commit}^{commit}`], dir);
        if (has.error) {
          throw new SpecError("ref_not_found", `commit ${commit} is not in ${target.displayName} (was it force-pushed away?)`, "ref");
        }
      }
    }
    if (fetched.error) throw fail(fetched, "fetch");
    const checkedOut = await git(["checkout", "--quiet", "--detach", rev], dir);
    if (checkedOut.error) throw fail(checkedOut, "check out");
    const head = await git(["rev-parse", "HEAD"], dir);
    if (head.error || head.stdout.trim() !== commit) {
      throw new SpecError("repo_unreadable", `${target.displayName} gave ${head.stdout.trim() || "nothing"} for commit ${commit}`);
    }
    return new Checkout(dir, commit, root);
  } catch (err) {
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
    throw err;
  }
}

/** Runs `body` with a checkout of `target` at `commit`, and removes the checkout afterwards, whatever happened. */
export async function withCheckout<T>(
  target: Target,
  commit: string,
  options: CheckoutOptions,
  body: (dir: string) => Promise<T>,
): Promise<T> {
  const co = await checkout(target, commit, options);
  try {
    return await body(co.dir);
  } finally {
    await co.remove();
  }
}

function gitRunner(options: CheckoutOptions, signal: AbortSignal) {
  const env = hardenedGitEnv(options.rules);
  const pre = hardening(options.rules);
  const progress = options.onProgress ? progressFilter(options.onProgress) : undefined;
  return (args: string[], cwd: string, showProgress = false): Promise<GitResult> =>
    new Promise((resolve) => {
      if (signal.aborted) {
        resolve({ error: Object.assign(new Error("aborted"), { code: "ABORT_ERR" }), stderr: "", stdout: "" });
        return;
      }
      const child = execFile(
        options.gitBin ?? "git",
        [...pre, ...args],
        { cwd, env, signal, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
        (error, stdout, stderr) => resolve({ error, stdout: String(stdout), stderr: String(stderr) }),
      );
      if (showProgress && progress) child.stderr?.on("data", (chunk: Buffer | string) => progress(String(chunk)));
    });
}
