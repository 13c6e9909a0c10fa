/**
 * The composition root: builds every module from the validated config, restores running servers, and listens.
 * Closing the hub stops its own work but leaves user servers running, so that the next hub process (after an
 * upgrade, a crash, a kill -9) reattaches to them.
 */
import http from "node:http";
import path from "node:path";
import type { z } from "zod";
import type { HubConfig } from "../config/schema.js";
import { Identifier } from "../auth/identify.js";
import type { PasswordAuthenticator } from "../auth/authenticator.js";
import { LocalAuthenticator } from "../auth/local-authenticator.js";
import { createOidcClients } from "../auth/oidc.js";
import { createOriginCheck } from "../auth/csrf.js";
import { SESSION_COOKIE, XSRF_COOKIE } from "../auth/sessions.js";
import { AuditTrail } from "../audit/trail.js";
import { policyReloaded, proxyRefused } from "../audit/events.js";
import { Culler } from "../culler/culler.js";
import { BackgroundWork } from "../cluster/background.js";
import { PostgresBus, SoloBus, type ClusterBus } from "../cluster/bus.js";
import { ClusterMutex } from "../cluster/lease.js";
import { Replica } from "../cluster/replica.js";
import { createApp } from "../http/app.js";
import { notRunningHandler } from "../http/not-running.js";
import { createLogger, type Logger } from "../lib/logger.js";
import { SecretBox } from "../lib/secrets.js";
import { createMetrics } from "../metrics/metrics.js";
import { PolicyEngine } from "../policy/index.js";
import { RouteTable, createUserProxy, type UserProxy } from "../proxy/index.js";
import { Sharing } from "../sharing/service.js";
import { Servers } from "../servers/service.js";
import { localServersRoot, SPAWNER_BACKENDS, type SpawnerBackend } from "../spawners/registry.js";
import type { SpawnerFactory } from "../spawners/types.js";
import { openDatabase, type Db } from "../store/database.js";
import { applyMigrationsInChild } from "../store/migrate-child.js";
import { isUpToDate } from "../store/migrate.js";
import { Users } from "../users/service.js";
import { bootstrapAdmin } from "./bootstrap.js";
import { makeEntriesPrivate, prepareDataDir } from "./data-dir.js";
import type { HubContext } from "./context.js";

export interface RunningHub {
  /** The URL the hub listens on, e.g. http://127.0.0.1:8000 */
  url: string;
  ctx: HubContext;
  /** Path of the first-run administrator password file, when this start created it. */
  adminPasswordFile?: string;
  /** The culler (running every `culler.interval` when enabled); tests call its cullOnce() with a clock of their own. */
  culler: Culler;
  /** Whether this replica does the hub's background work now (`isHolder`), handed over when it closes. */
  background: BackgroundWork;
  /**
   * Stops this hub process; user servers keep running. With `drain` (SIGTERM), /hub/health answers 503 first so a
   * load balancer sends new requests elsewhere, requests and starts in flight finish (within cluster.drainTimeout),
   * then the background work lease is handed over.
   */
  close(options?: { drain?: boolean }): Promise<void>;
}

export async function startHub(
  config: HubConfig,
  options: {
    logger?: Logger;
    /** A spawner backend made by the caller instead of the configured one (tests' FakeSpawner). */
    spawners?: SpawnerFactory;
  } = {},
): Promise<RunningHub> {
  const logger = options.logger ?? createLogger(config.logging.level);
  const dataDir = config.hub.dataDir;
  // Local servers pass through the data directory to their homes; nothing else in it is theirs to see.
  await prepareDataDir(dataDir, { passThrough: config.spawner.backend === "local" });
  const secrets = await SecretBox.fromFile(config.hub.secretKeyFile ?? path.join(dataDir, "secret-key"));

  const databaseUrl = config.database.url!;
  let database = await openDatabase(databaseUrl).catch(() => undefined); // a SQLite file is made by the migrations
  if (!database || !(await isUpToDate(database.prisma, databaseUrl))) {
    await database?.close();
    await applyMigrationsInChild(databaseUrl, (msg) => logger.info(msg));
    database = await openDatabase(databaseUrl);
  }
  const db = database.prisma;

  const audit = new AuditTrail(db, logger);
  const policy = await PolicyEngine.open(config.policies.dir, { logger, onReload: (event) => void audit.record(policyReloaded(event)) });
  if (config.policies.reloadInterval > 0) policy.watch(config.policies.reloadInterval);

  const spawners = options.spawners ?? (await createSpawnerFactory(config, logger, db));
  await makeEntriesPrivate(dataDir, [localServersRoot(dataDir)]);

  const metrics = createMetrics(
    async () => {
      const groups = await db.server.groupBy({ by: ["status"], _count: { _all: true } });
      return Object.fromEntries(groups.map((g) => [g.status, g._count._all]));
    },
    () => spawners.requestCounts?.() ?? [],
  );
  const replica = new Replica(db, { heartbeatMs: config.cluster.heartbeat, leaseMs: config.cluster.leaseTime }, logger);
  await replica.join();
  const bus: ClusterBus = database.provider === "postgresql" ? await PostgresBus.connect(databaseUrl, replica.id, logger) : new SoloBus();
  const routes = new RouteTable();
  const servers = new Servers({
    db,
    spawners,
    policy,
    routes,
    bus,
    replica,
    ...(database.provider === "postgresql" ? { clusterAdmission: new ClusterMutex(db, "admissions", replica.id, config.cluster.leaseTime) } : {}),
    secrets,
    logger,
    metrics,
    startTimeoutMs: config.spawner.startTimeout,
    concurrentStops: config.spawner.concurrentStops,
    slowSpawnTimeoutMs: config.spawner.slowSpawnTimeout,
    publicUrl: `${(config.hub.publicUrl ?? config.hub.bind).replace(/\/+$/, "")}/`,
    audit,
  });
  const identifier = new Identifier(db);
  const users = new Users(db, identifier, servers);
  // A revoked share closes the live WebSockets of whoever lost access; the proxy that holds them is made below.
  let proxyRef: UserProxy | undefined;
  const sharing = new Sharing({
    db,
    policy,
    logger,
    onRevoked: (owner, server, stillAllowed) => proxyRef?.recheckWebSockets(owner, server, stillAllowed) ?? Promise.resolve(0),
  });
  const publicOrigins = [config.hub.bind, ...(config.hub.publicUrl ? [config.hub.publicUrl] : [])];
  const isAllowedOrigin = createOriginCheck(publicOrigins, config.hub.trustProxy);

  const authenticator = await createAuthenticator(config, db, logger);
  // OpenID Connect providers: discovered lazily at the first sign-in, so a provider being down never stops the hub.
  const oidc = await createOidcClients(config.auth.oidc);
  const binder = config.builder.enabled
    ? await (await import("../binder/create.js")).createBinderLauncher(config, { servers, users, policy, logger })
    : undefined;
  const ctx: HubContext = {
    config,
    db,
    logger,
    secrets,
    identifier,
    authenticator,
    oidc,
    servers,
    sharing,
    users,
    policy,
    metrics,
    audit,
    binder,
    isAllowedOrigin,
    startedAt: new Date(),
    cluster: { replica: replica.id, draining: false },
  };

  const adminPasswordFile = await bootstrapAdmin(db, users, dataDir, logger);
  // Routes from the database alone: this replica answers at once; the servers are verified in the background.
  const routed = await servers.loadRoutes();
  if (routed) logger.info({ routes: routed }, "routes loaded");
  const resync = setInterval(() => void servers.loadRoutes().catch((err: unknown) => logger.error({ err }, "reloading routes failed")), config.cluster.resyncInterval);
  resync.unref();
  servers.activity.startFlushing(10_000);

  const background = new BackgroundWork(db, replica, servers, logger);
  const culler = new Culler({ db, servers, policy, logger, audit, culls: metrics.culls, intervalMs: config.culler.interval, shouldRun: () => background.isHolder });
  if (config.culler.enabled) culler.start();
  const auditRetention = keepTrimmed(audit, config.audit.retention, logger);

  const proxy = createUserProxy({
    routes,
    authenticate: (req) => identifier.identify(req),
    isAllowedOrigin,
    hubCookieNames: [SESSION_COOKIE, XSRF_COOKIE],
    loginUrl: (next) => `/hub/login?next=${encodeURIComponent(next)}`,
    onActivity: (user, serverName) => servers.activity.touch(user, serverName),
    notRunning: notRunningHandler(servers),
    metrics: { proxiedRequests: metrics.proxiedRequests },
    trustProxy: config.hub.trustProxy,
    logger,
    onRefused: (refusal) => void audit.record(proxyRefused(refusal)),
    canAccess: (identity, user, serverName) => sharing.mayUse(identity.name, user, serverName),
  });
  proxyRef = proxy;

  // The proxy sees every request before Express does: /user/… never pays for Express's routing (≈2× throughput).
  const app = createApp(ctx);
  const server = http.createServer(proxy.listener(app));
  server.on("upgrade", (req, socket, head) => {
    if (!proxy.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const bind = new URL(config.hub.bind);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(bind.port || 80), bind.hostname.replace(/^\[|\]$/g, ""), () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : Number(bind.port);
  const url = `${bind.protocol}//${bind.hostname}:${port}`;
  logger.info({ url, replica: replica.id }, "hub listening");
  background.start();

  return {
    url,
    ctx,
    adminPasswordFile,
    culler,
    background,
    async close(options = {}) {
      const drainMs = options.drain ? config.cluster.drainTimeout : 0;
      if (options.drain) {
        ctx.cluster.draining = true;
        // Long enough for a load balancer checking health every second or two to stop sending requests here.
        await new Promise((resolve) => setTimeout(resolve, Math.min(drainMs, DRAIN_NOTICE_MS)));
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections close now; requests in flight finish (when draining) before theirs do.
      server.closeIdleConnections();
      if (!options.drain) server.closeAllConnections();
      // Open WebSockets end: JupyterLab reconnects, through the load balancer, to another replica.
      proxy.close();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, drainMs))]);
      server.closeAllConnections();
      clearInterval(resync);
      await culler.stop();
      await background.stop();
      clearInterval(auditRetention);
      await servers.shutdown(drainMs);
      await audit.flush();
      await bus.close();
      await replica.leave();
      policy.close();
      await database.close();
    },
  };
}

/** How long a draining replica keeps answering (health 503) before it stops accepting connections. */
const DRAIN_NOTICE_MS = 3_000;

/** Deletes audit events past their retention now and hourly (a timer that does not keep the process alive). */
function keepTrimmed(audit: AuditTrail, retentionMs: number, logger: Logger): NodeJS.Timeout {
  const trim = () =>
    audit.purge(retentionMs).then(
      (count) => count && logger.info({ count }, "audit events past their retention deleted"),
      (err: unknown) => logger.error({ err }, "audit retention failed"),
    );
  void trim();
  return setInterval(trim, 60 * 60_000).unref();
}

/** Authenticators by `auth.backend`: only the chosen one is loaded (the LDAP client stays out of a local hub). */
const AUTHENTICATORS: Record<HubConfig["auth"]["backend"], (config: HubConfig, db: Db, logger: Logger) => Promise<PasswordAuthenticator>> = {
  local: async (_config, db) => new LocalAuthenticator(db),
  ldap: async (config, _db, logger) => {
    const { LdapAuthenticator } = await import("../auth/ldap-authenticator.js");
    return new LdapAuthenticator(config.auth.ldap!, logger);
  },
};

/** The chosen spawner backend, given its own section (only its code is loaded). */
function createSpawnerFactory(config: HubConfig, logger: Logger, db: Db): Promise<SpawnerFactory> {
  const name = config.spawner.backend;
  const backend: SpawnerBackend<z.ZodType> = SPAWNER_BACKENDS[name];
  return backend.load(config.spawner[name], {
    dataDir: config.hub.dataDir,
    stopGraceMs: config.spawner.stopGrace,
    pidsLimit: config.spawner.pidsLimit,
    db,
    logger,
  });
}

function createAuthenticator(config: HubConfig, db: Db, logger: Logger): Promise<PasswordAuthenticator> {
  return AUTHENTICATORS[config.auth.backend](config, db, logger);
}
