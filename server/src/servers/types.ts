/** Types shared by the servers module and its callers. */
import type { PolicyReason } from "../errors.js";
import type { Decision, EffectiveLimits, PolicyRequest, PolicyUser, PoolUse, RunningServer } from "../policy/index.js";
import type { Enforcement } from "../spawners/types.js";

export type { EffectiveLimits, PolicyUser };

/**
 * Where a server launched from a repository came from (kept in its user options under `binder`, which only the hub
 * writes): its later starts run the same image, and the dashboard shows the repository.
 */
export interface BinderOrigin {
  /** The launch spec, e.g. "gh/owner/repo/main". */
  spec: string;
  repoUrl: string;
  commit: string;
  image: string;
}

/** Where a Binder server's storage is mounted: the image's home folder holds the repository (repo2docker's layout). */
export const BINDER_STORAGE_DIR = "/home/jovyan/work";

/** The user option the hub reserves for BinderOrigin. */
export const BINDER_OPTION = "binder";

/** What the servers module needs from the policy engine. */
export interface ServerPolicy {
  /** Whether `user` may create a named server called `serverName`, given the named servers they already have. */
  mayCreate(user: PolicyUser, serverName: string, existingNames: string[]): { allow: boolean; reasons: PolicyReason[] };
  /** The effective limits for `user`'s servers. */
  limitsFor(user: PolicyUser): EffectiveLimits;
  /** Any other decision (a start with its quotas, extending a server's lifetime; the culler's limits and sources). */
  decide(request: PolicyRequest): Decision;
  /** The capacity pools (policy names) a start of `user`'s draws from. */
  poolsFor(user: PolicyUser): string[];
  /** What runs in each capacity pool. */
  poolUsage(running: Iterable<RunningServer>): Map<string, PoolUse>;
}

export type ServerStatus = "stopped" | "pending" | "running" | "stopping";

/** One quota across a user's servers: what is held, and the most allowed (null: unlimited). */
export interface QuotaAmount {
  used: number;
  limit: number | null;
}

/** What a user's servers hold against their quotas (the dashboard's "CPU 1 of 2 in use"). */
export interface QuotaUse {
  runningServers: QuotaAmount;
  cpu: QuotaAmount;
  memoryBytes: QuotaAmount;
  storageBytes: QuotaAmount;
}

/** A server as the API and the dashboard see it (JupyterHub's server model plus Ganymede's additions). */
export interface ServerView {
  name: string;
  status: ServerStatus;
  pending: "spawn" | "stop" | null;
  ready: boolean;
  stopped: boolean;
  url: string;
  progressUrl: string;
  started: Date | null;
  lastActivity: Date | null;
  userOptions: Record<string, unknown>;
  lastError: string | null;
  limits: EffectiveLimits;
  enforcement: Enforcement | null;
  /** While a stop waits for a slot: its place in the queue of stops (1 = next); otherwise null. */
  stopQueuePosition: number | null;
  /** A running server's stop for its maximum lifetime, and the latest its owner may move it to; null without one. */
  lifetime: { deadline: Date; latest: Date } | null;
  /** When and why the server last stopped (until its next start). */
  stoppedAt: Date | null;
  stopReason: string | null;
  /** Backend state (admins only). */
  state: Record<string, unknown> | null;
}
