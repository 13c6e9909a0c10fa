/**
 * A Binder launch, end to end, as one stream of BinderHub's events: check the repository against the site's rules
 * and the user's policies → resolve the ref to a commit → make sure the image exists (build it only when the registry
 * does not have this commit's image) → start it as one of the user's named servers → `ready` with the server's URL.
 * Every refusal and failure ends the stream in `failed` with the reason; nothing is left half-started (the servers
 * module rolls back a failed first start, the build service cleans its checkouts and containers).
 */
import {
  binderServerName,
  checkRepoAccess,
  imageName,
  parseSpecPath,
  resolveRef,
  type RepoSpec,
  type RepoUrlRules,
} from "../builder/index.js";
import type { BuildLimits } from "../builder/build/build-queue.js";
import type { BuildEvent } from "../builder/build/events.js";
import type { BuilderConfig } from "../config/builder-schema.js";
import { HubError, PolicyDenied } from "../errors.js";
import type { Logger } from "../lib/logger.js";
import type { PolicyEngine } from "../policy/index.js";
import type { Servers } from "../servers/service.js";
import { binderOriginOf } from "../servers/persisted-state.js";
import type { BinderOrigin } from "../servers/types.js";
import type { Users } from "../users/service.js";
import { registryImage } from "./registry-image.js";

/** Makes sure an image exists, building it if needed (the builder's build service). */
export interface ImageSource {
  ensureImage(
    request: {
      user: string;
      spec: RepoSpec;
      commit: string;
      image: string;
      limits: BuildLimits;
      rules: Pick<RepoUrlRules, "allowHttp" | "allowPrivateHosts">;
    },
    signal: AbortSignal,
  ): AsyncIterable<BuildEvent>;
}

export interface LauncherDeps {
  config: BuilderConfig;
  servers: Servers;
  users: Users;
  policy: PolicyEngine;
  images: ImageSource;
  logger: Logger;
}

export class BinderLauncher {
  constructor(private readonly deps: LauncherDeps) {}

  /** The URL rules for `user`: the site's (http for test setups, provider hosts) and the policy's private-host rule. */
  urlRules(user: { name: string; groups: string[] }): RepoUrlRules {
    const { config, policy } = this.deps;
    return { allowHttp: config.allowHttp, allowPrivateHosts: policy.repositoryRules(user).privateHosts, hosts: config.hosts };
  }

  /** Launches the repository named by `specPath` (e.g. "gh/owner/repo/main", still percent-encoded) for `userName`. */
  async *launch(userName: string, specPath: string, signal: AbortSignal): AsyncGenerator<BuildEvent> {
    const log = this.deps.logger;
    let end: BuildEvent | undefined;
    try {
      for await (const event of this.run(userName, specPath, signal)) yield (end = event);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof HubError) {
        yield (end = { phase: "failed", message: err instanceof PolicyDenied ? err.reasons.map((r) => r.message).join(" ") : err.message });
      } else {
        log.error({ err, user: userName, spec: loggable(specPath) }, "binder launch failed unexpectedly");
        yield (end = { phase: "failed", message: "The launch failed because of an error in the hub; an administrator can find it in the hub's log." });
      }
    } finally {
      const outcome = signal.aborted && end?.phase !== "ready" ? "abandoned" : end?.phase;
      log.info({ user: userName, spec: loggable(specPath), outcome, reason: end?.phase === "failed" ? end.message : undefined }, "binder launch");
    }
  }

  private async *run(userName: string, specPath: string, signal: AbortSignal): AsyncGenerator<BuildEvent> {
    const { users, policy, images, config } = this.deps;
    const user = await users.get(userName);
    const policyUser = { name: user.name, groups: users.groupsOf(user) };
    const rules = this.urlRules(policyUser);
    const spec = parseSpecPath(specPath, rules);
    const decision = policy.mayLaunchRepository(policyUser, spec.repoUrl);
    if (!decision.allow) throw new PolicyDenied(decision.reasons);
    await checkRepoAccess(spec, { rules });

    yield { phase: "fetching", message: `Resolving ${spec.ref} in ${spec.displayName}\n` };
    const commit = await resolveRef(spec, { rules, signal });
    const image = registryImage(config, imageName(config.imagePrefix, spec, commit));
    yield { phase: "fetching", message: `${spec.ref} is commit ${commit}\n` };

    const limits = policy.limitsFor(policyUser);
    let built = false;
    for await (const event of images.ensureImage(
      {
        user: user.name,
        spec,
        commit,
        image,
        limits: {
          buildTimeoutMs: limits.buildTimeoutMs,
          admit: (builds) => policy.mayLaunchRepository(policyUser, spec.repoUrl, { builds }).reasons,
        },
        rules,
      },
      signal,
    )) {
      yield event;
      if (event.phase === "failed") return;
      if (event.phase === "built") built = true;
    }
    if (!built) throw new Error("the build service ended without `built` or `failed`");

    const origin: BinderOrigin = { spec: spec.spec, repoUrl: spec.repoUrl, commit, image };
    yield* this.startServer(user, origin, spec, signal);
  }

  /**
   * Starts the image as the user's server for this repository: the one launched from it before (its storage kept,
   * restarted on the new image if the commit changed), or a new named server (so the named-server limit applies).
   */
  private async *startServer(
    user: Awaited<ReturnType<Users["get"]>>,
    origin: BinderOrigin,
    spec: RepoSpec,
    signal: AbortSignal,
  ): AsyncGenerator<BuildEvent> {
    const { servers, policy, users } = this.deps;
    const existing = user.servers.map((s) => ({ name: s.name, status: s.status, binder: binderOriginOf(s.userOptions) }));
    const previous = existing.find((s) => s.name !== "" && s.binder?.repoUrl === origin.repoUrl);
    const maxLength = policy.limitsFor({ name: user.name, groups: users.groupsOf(user) }).serverNameMaxLength;
    const name = previous?.name ?? binderServerName(spec, existing.map((s) => s.name), maxLength);

    if (previous && previous.status !== "stopped") {
      // Already running (or starting) this very image: follow it rather than start it again.
      if (previous.binder?.image === origin.image && (previous.status === "running" || previous.status === "pending")) {
        yield* follow(servers, user, name, signal);
        return;
      }
      yield { phase: "launching", message: `Stopping ${name}, which runs an older commit (its files are kept)\n` };
      await servers.stop(user, name, { wait: true, reason: "relaunched on a new commit" });
    }
    yield { phase: "launching", message: `Starting ${origin.image} as your server ${name}\n` };
    await servers.start(user, name, {}, origin);
    yield* follow(servers, user, name, signal);
  }
}

/** Follows a server's start (progress events → `launching`) to `ready` with its URL, or `failed`. */
async function* follow(servers: Servers, user: Awaited<ReturnType<Users["get"]>>, name: string, signal: AbortSignal): AsyncGenerator<BuildEvent> {
  const log = await servers.progress(user, name);
  for await (const event of log.follow(signal)) {
    if (event.ready) {
      yield { phase: "ready", message: `${event.message}\n`, url: event.url };
      return;
    }
    if (event.failed) {
      yield { phase: "failed", message: event.message };
      return;
    }
    yield { phase: "launching", message: `${event.message}\n` };
  }
}


/**
 * The spec as it may appear in the log: decoded for reading, with any `user:password@` someone pasted (refused, but
 * still a secret) replaced.
 */
export function loggable(specPath: string): string {
  let text = specPath;
  try {
    text = decodeURIComponent(specPath);
  } catch {
    // Not valid percent-encoding: log it as it came (minus credentials).
  }
  return text.replace(/\/\/[^/@\s]*@/g, "//***@");
}
