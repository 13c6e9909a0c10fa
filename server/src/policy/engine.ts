/**
 * PolicyEngine: the hub's live view of the policy directory.
 *
 * It holds the last *good* PolicySet. A reload that finds any problem keeps the previous set in force, logs why and
 * shows it in `status()`, so a typo in one file never takes the hub down or changes anyone's limits. Only the very
 * first load may fail loudly (`PolicyLoadError`): without a policy the hub cannot decide anything, so it must not
 * start.
 *
 * Changes are picked up by `watch(intervalMs)` (polling the directory's fingerprint, which works on every filesystem
 * and with Kubernetes ConfigMap symlink swaps, unlike fs.watch) and by `sighup()`.
 */
import { decide, type Decision, type PolicyRequest } from "./decide.js";
import { explain, type ExplainedLimit } from "./explain.js";
import { loadPolicyDir, policyDirFingerprint } from "./load.js";
import type { EffectiveLimits, PolicyUser } from "./resolve.js";
import { resolveRepositoryRules, type RepositoryRules } from "./repositories.js";
import { poolsOf, poolUsage, type PoolUse, type RunningServer } from "./quotas.js";
import type { FileReport, PolicySet } from "./set.js";

/** The subset of a pino logger the engine uses. */
export interface PolicyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What a reload after the first load did: the sets before and after, or why it was refused. */
export type PolicyReloadEvent = { ok: true; before: PolicySet; after: PolicySet } | { ok: false; problems: string[] };

export interface PolicyEngineOptions {
  logger?: PolicyLogger;
  /** Told of every reload after the first load (the audit trail records them). */
  onReload?: (event: PolicyReloadEvent) => void;
  /** For tests. */
  now?: () => Date;
}

/** The first load failed: the hub has no policy to run with. */
export class PolicyLoadError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(`cannot load the policies in ${dir}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PolicyLoadError";
  }
}

export type ReloadResult = { ok: true; policies: string[] } | { ok: false; problems: string[] };

/** For admins (GET /hub/api/policies/status and the dashboard). Times are ISO 8601. */
export interface PolicyStatus {
  dir: string;
  /** When the policies in force were loaded; null before the first successful load. */
  loadedAt: string | null;
  /** Names of the policies in force (default first). */
  active: string[];
  /** When the directory was last read, successfully or not. */
  checkedAt: string | null;
  /** Every file as found by the last read (a broken file shows here even while the previous set stays in force). */
  files: FileReport[];
  /** Why the last read was rejected; absent when it succeeded. */
  lastError?: { at: string; message: string; problems: string[] };
}

export class PolicyEngine {
  #set: PolicySet | undefined;
  #loadedAt: Date | undefined;
  #checkedAt: Date | undefined;
  #files: FileReport[] = [];
  #lastError: PolicyStatus["lastError"];
  #fingerprint: string | undefined;
  /** Reloads run one at a time, in order; a SIGHUP during a watch-triggered reload waits its turn. */
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by every watch()/close(), so a tick from an earlier watch() never reschedules itself. */
  #watchGeneration = 0;
  readonly #logger: PolicyLogger | undefined;
  readonly #onReload: PolicyEngineOptions["onReload"];
  readonly #now: () => Date;

  constructor(
    readonly dir: string,
    options: PolicyEngineOptions = {},
  ) {
    this.#logger = options.logger;
    this.#onReload = options.onReload;
    this.#now = options.now ?? (() => new Date());
  }

  /** Creates an engine and loads the directory; throws PolicyLoadError when the policies are not usable. */
  static async open(dir: string, options?: PolicyEngineOptions): Promise<PolicyEngine> {
    const engine = new PolicyEngine(dir, options);
    await engine.reload();
    return engine;
  }

  /** The policies in force. Throws before the first successful load. */
  get set(): PolicySet {
    if (!this.#set) throw new Error(`policies from ${this.dir} are not loaded yet`);
    return this.#set;
  }

  /** decide() against the policies in force. */
  decide(request: PolicyRequest): Decision {
    return decide(this.set, request);
  }

  /**
   * Shorthand for the servers module: may `user` create the named server `serverName`, given the named servers
   * they have? Same as decide({ action: "server.create", … }).
   */
  mayCreate(user: PolicyUser, serverName: string, existingNames: readonly string[]): Decision {
    return this.decide({
      action: "server.create",
      user,
      server: { name: serverName },
      current: { namedServers: existingNames.length, serverNames: existingNames },
    });
  }

  /**
   * Shorthand for the builder: may `user` launch `repository` (`github.com/org/repo` or its clone URL)? Pass
   * `current.builds` (builds running or queued now) when the launch needs a build, so `concurrentBuilds` applies.
   * Same as decide({ action: "repository.launch", … }); `decision.repository.privateHosts` comes with it.
   */
  mayLaunchRepository(user: PolicyUser, repository: string, current?: { builds: number }): Decision {
    return this.decide({ action: "repository.launch", user, repository, ...(current ? { current } : {}) });
  }

  /** The repository rules for `user`; the builder reads `privateHosts` before it resolves a repository's host. */
  repositoryRules(user: PolicyUser): RepositoryRules {
    return resolveRepositoryRules(this.set, user);
  }

  /** Shorthand for the servers module and the culler: the effective limits of `user`. */
  limitsFor(user: PolicyUser): EffectiveLimits {
    return this.decide({ action: "limits", user }).limits;
  }

  /** The capacity pools (policy names) a start of `user`'s draws from; empty when no capacity applies to them. */
  poolsFor(user: PolicyUser): string[] {
    return poolsOf(this.set, user).map((p) => p.name);
  }

  /** What runs in each capacity pool of the policies in force. */
  poolUsage(running: Iterable<RunningServer>): Map<string, PoolUse> {
    return poolUsage(this.set, running);
  }

  /** explain() against the policies in force. */
  explain(user: PolicyUser): ExplainedLimit[] {
    return explain(this.set, user);
  }

  /**
   * Reads the directory again. On success the new set replaces the old one; on failure the old one stays and the
   * problems are recorded. Throws PolicyLoadError only when there has never been a good set.
   */
  reload(): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#reloadNow());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reloadNow(): Promise<ReloadResult> {
    // Fingerprint first: if a file changes while we read, the next watch tick sees a different fingerprint.
    this.#fingerprint = await policyDirFingerprint(this.dir);
    const result = await loadPolicyDir(this.dir);
    const now = this.#now();
    this.#checkedAt = now;
    this.#files = result.files;
    if (result.set) {
      const before = this.#set;
      this.#set = result.set;
      this.#loadedAt = now;
      this.#lastError = undefined;
      const policies = [result.set.defaultPolicy, ...result.set.overrides].map((p) => p.name);
      this.#logger?.info({ dir: this.dir, policies }, "policies loaded");
      if (before) this.#onReload?.({ ok: true, before, after: result.set });
      return { ok: true, policies };
    }
    if (!this.#set) {
      const error = new PolicyLoadError(this.dir, result.problems);
      this.#lastError = { at: now.toISOString(), message: error.message, problems: result.problems };
      throw error;
    }
    const count = result.problems.length;
    const message = `policies in ${this.dir} not reloaded (${count} problem(s)); the previous policies stay in force`;
    this.#lastError = { at: now.toISOString(), message, problems: result.problems };
    this.#logger?.warn({ dir: this.dir, problems: result.problems }, message);
    this.#onReload?.({ ok: false, problems: result.problems });
    return { ok: false, problems: result.problems };
  }

  /** For the hub's SIGHUP handler: reloads in the background; never throws (failures land in status()). */
  sighup(): void {
    this.reload().catch((err: unknown) => {
      this.#logger?.warn({ dir: this.dir, err }, "policy reload on SIGHUP failed");
    });
  }

  /**
   * Polls the directory every `intervalMs` and reloads when a policy file was added, removed or changed.
   * 0 or less disables watching. Returns a function that stops it (as does close()). The timer does not keep the
   * process alive.
   */
  watch(intervalMs: number): () => void {
    this.close();
    if (intervalMs <= 0) return () => {};
    const generation = this.#watchGeneration;
    const current = () => generation === this.#watchGeneration;
    const tick = async () => {
      try {
        const fingerprint = await policyDirFingerprint(this.dir);
        if (current() && fingerprint !== this.#fingerprint) await this.reload();
      } catch (err) {
        this.#logger?.warn({ dir: this.dir, err }, "policy watch failed");
      }
      // setTimeout after each check (not setInterval) so slow disks never stack up overlapping reloads.
      if (current()) this.#timer = setTimeout(tick, intervalMs).unref();
    };
    this.#timer = setTimeout(tick, intervalMs).unref();
    return () => {
      if (current()) this.close();
    };
  }

  /** Stops watching. */
  close(): void {
    this.#watchGeneration++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  status(): PolicyStatus {
    const set = this.#set;
    return {
      dir: this.dir,
      loadedAt: this.#loadedAt?.toISOString() ?? null,
      active: set ? [set.defaultPolicy, ...set.overrides].map((p) => p.name) : [],
      checkedAt: this.#checkedAt?.toISOString() ?? null,
      files: this.#files.map((f) => ({ ...f, problems: [...f.problems] })),
      ...(this.#lastError ? { lastError: { ...this.#lastError, problems: [...this.#lastError.problems] } } : {}),
    };
  }
}
