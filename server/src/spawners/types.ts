/**
 * The spawner seam: how a server process/container/pod is started, watched and stopped.
 *
 * Contract (after JupyterHub's Spawner): the servers module owns the lifecycle (database rows, pending state, start
 * timeout, cleanup on failure, progress fan-out); a backend owns only the mechanism and never touches the database.
 * The hub persists the backend's opaque `state()` and hands it back to `restore()` after a hub restart.
 */

/** Resource limits the policy engine granted this server. */
export interface ServerLimits {
  /** CPU cores (fractions allowed). */
  cpu: number;
  /** Memory in bytes. */
  memoryBytes: number;
  /** Storage in bytes. */
  storageBytes: number;
}

/**
 * What a backend needs to start one server: the server, its token, and the launch specification the servers module
 * resolved for this start (servers/launch.ts: limits, image, storage folder, environment, user options).
 */
export interface SpawnContext {
  /** Hub username. */
  user: string;
  /** Server name; "" is the default server. */
  serverName: string;
  /** The public URL prefix of this server, with trailing slash: "/user/alice/" or "/user/alice/work/". */
  baseUrl: string;
  /** Random secret the server must accept (as its Jupyter token); the hub's proxy injects it. */
  token: string;
  limits: ServerLimits;
  /** The server's environment (JupyterHub's and BinderHub's variables), on top of the backend's configured env. */
  env: Record<string, string>;
  /** The start request's user options (JupyterHub's user_options), for backends that offer choices. */
  userOptions: Record<string, unknown>;
  /**
   * The image to run, for backends that run images (docker): a Binder launch passes the image it built. Without it
   * the backend's configured image is used; backends that run no images ignore it.
   */
  image?: string;
  /**
   * Where to mount the server's storage, when not its home folder: a Binder image keeps the repository in the home
   * folder, which a volume mounted there would hide. Backends that run no images ignore it.
   */
  storageDir?: string;
  /**
   * When the node pulls `image` (Kubernetes' imagePullPolicy), for an image whose tag says what it holds (a Binder
   * build's, named by its commit): absent, the backend's configured policy. Backends that pull nothing ignore it.
   */
  imagePullPolicy?: ImagePullPolicy;
  /** The Jupyter command to run instead of the backend's configured one (an environment's venv); the hub's options follow. */
  command?: string[];
  /** GPUs the server gets (an environment's), for backends that schedule them (Kubernetes); others refuse rather than ignore. */
  gpus?: number;
  /** Node labels the server needs (an environment's), added to the backend's own, for backends with nodes (Kubernetes). */
  nodeSelector?: Record<string, string>;
}

/** When a node pulls an image (Kubernetes' imagePullPolicy, for servers' and build pods' images alike). */
export const IMAGE_PULL_POLICIES = ["IfNotPresent", "Always", "Never"] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

/** Where a started server listens (reachable by the hub only). */
export interface Endpoint {
  /** "http://127.0.0.1:41234" or "http+unix://%2Frun%2F…%2Fjupyter.sock" (lib/endpoint.ts). */
  url: string;
}

/** How the backend applied each limit, reported in the server model ("enforced" or why not). */
export interface Enforcement {
  cpu: LimitEnforcement;
  memory: LimitEnforcement;
  storage: LimitEnforcement;
  /** The most processes and threads the server may have (spawner.pidsLimit): what stops a fork bomb. */
  processes: LimitEnforcement;
}

export type LimitEnforcement =
  | { enforced: true; by: string }
  | { enforced: false; reason: string };

export interface SpawnProgress {
  /** 0–100 */
  progress: number;
  message: string;
}

export type PollResult = { running: true } | { running: false; exitCode: number | null };

/** Opaque JSON-serialisable state (no secrets: the hub keeps the server token itself, sealed). */
export type BackendState = Record<string, unknown>;

export interface Spawner {
  /** The backend's name (its factory's), kept with the server's state: a hub on another backend cannot take it over. */
  readonly backend: string;
  /**
   * Starts the server and resolves once the process is launched and its endpoint is known (readiness is checked by
   * the servers module). Progress may be reported through `onProgress`. If `signal` aborts, the backend stops what it
   * started and rejects.
   */
  start(ctx: SpawnContext, signal: AbortSignal, onProgress: (p: SpawnProgress) => void): Promise<Endpoint>;
  /** Stops the server. `now` skips the grace period. Idempotent; storage is kept. */
  stop(options?: { now?: boolean }): Promise<void>;
  /** Whether the server process is still alive. */
  poll(): Promise<PollResult>;
  /** State to persist so that `restore()` can reattach after a hub restart. */
  state(): BackendState;
  /** Reattaches to a server started by an earlier hub process. */
  restore(state: BackendState): void;
  /** Deletes the server's storage for good (after stop). Idempotent. */
  removeStorage(): Promise<void>;
  /**
   * The last lines the server process wrote during the current start (its token masked), for a failure message when
   * it exits before it is ready; empty when there are none or they cannot be read.
   */
  recentLog(): Promise<string[]>;
  /** Bytes used by the server's storage, or undefined when unknown. */
  storageUsed(): Promise<number | undefined>;
  /** How the limits are enforced on this machine. */
  enforcement(): Enforcement;
}

/** Identifies one server for a backend factory. */
export interface ServerIdentity {
  user: string;
  serverName: string;
}

/** How a backend keeps users' servers apart from each other and from the hub, for administrators (GET /info). */
export interface IsolationReport {
  /** True when one user's server can reach neither another user's server and files nor the hub's secrets. */
  separated: boolean;
  /** One sentence: how servers run. */
  summary: string;
  /** What is weaker than it should be on this machine, each with what to do about it. */
  warnings: string[];
}

export interface SpawnerFactory {
  readonly backend: string;
  create(identity: ServerIdentity): Spawner;
  isolation(): IsolationReport;
  /**
   * What this backend runs for the hub that belongs to none of the `known` servers (found after a restart: a server
   * whose row was deleted while the hub was down), described for the log. The hub reports them and leaves them alone.
   */
  unknownServers?(known: ServerIdentity[]): string[];
  /** Lets go of what the factory holds (watch connections) when the hub closes; servers keep running. */
  close?(): void;
  /**
   * The backend's shared requests so far, for /hub/metrics (`ganymede_backend_requests_total{resource,kind}`): e.g. a
   * cluster's lists and watches, which must not grow with the number of servers.
   */
  requestCounts?(): Array<{ resource: string; kind: string; count: number }>;
}

/** What backends log through (the hub's pino logger, or a test's). */
export interface SpawnerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}
