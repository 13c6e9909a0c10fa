/**
 * The Kubernetes backend (`spawner.backend: kubernetes`): each server is a pod in one namespace, its storage a
 * PersistentVolumeClaim sized from the policy (kept while it is stopped, deleted with the server), its token in a
 * Secret of its own. The hub's proxy reaches the server at the pod's IP.
 *
 * One watch of the hub's pods and one of the namespace's pod events serve every server (watch-cache.ts): readiness,
 * exits and progress come from them, so the API requests do not grow with the number of servers. A start shows the
 * hub's own steps and the Kubernetes events of its own pod (by uid); it fails at once on what waiting cannot fix
 * (an image that cannot be pulled, a refused container configuration, an exit) with the cluster's words, and an
 * unscheduled pod fails with the scheduler's words when the start times out. A failed start leaves nothing behind
 * that it made. After a hub restart, servers are reattached from their saved state; pods of this hub that no server
 * row knows are reported in the log and left alone.
 *
 * The hub needs a namespaced Role only: pods (create, get, list, watch, delete), pods/log (get), pods/exec (get,
 * create: for storage used, storage-meter.ts; optional), persistentvolumeclaims (create, get, delete), secrets and
 * configmaps (create, get, update, delete), events (list, watch).
 */
import { CoreV1Api, Watch, type CoreV1Event, type V1Pod } from "@kubernetes/client-node";
import { readHubConfig } from "../jupyter-config.js";
import type { IsolationReport, ServerIdentity, SpawnerFactory, SpawnerLogger } from "../types.js";
import { apiStatus, loadKubeConfig, resolveNamespace } from "../../engines/kubernetes.js";
import type { KubernetesSpawnerConfig } from "./config.js";
import { KubernetesSpawner, type KubernetesShared } from "./kubernetes-spawner.js";
import { hubConfigMapManifest } from "./manifests.js";
import { hubLabels, hubSelector, identityOf } from "./naming.js";
import { StorageMeter } from "./storage-meter.js";
import { WatchCache } from "./watch-cache.js";

export { KubernetesSpawner } from "./kubernetes-spawner.js";

export interface KubernetesSpawnerOptions extends KubernetesSpawnerConfig {
  stopGraceMs: number;
  logger?: SpawnerLogger;
}

export interface KubernetesSpawnerFactory extends SpawnerFactory {
  unknownServers(known: ServerIdentity[]): string[];
  close(): void;
}

const silent: SpawnerLogger = { info() {}, warn() {}, error() {}, debug() {} };

export async function createKubernetesSpawnerFactory(options: KubernetesSpawnerOptions): Promise<KubernetesSpawnerFactory> {
  const log = options.logger ?? silent;
  const kc = loadKubeConfig(options);
  const namespace = resolveNamespace(options, kc);
  const core = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  // The client aborts a watch that has been silent for requestTimeoutMs (30 s by default, less than the API server's
  // one bookmark a minute). Not in its typings, but what its Watch reads on every request: with bookmarks on, silence
  // this long means a stalled connection. (The Kubernetes tests fail if the field goes away.)
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.watchStallTimeout;
  const selector = hubSelector(options.namePrefix);
  const pods = new WatchCache<V1Pod>({
    what: "pods",
    path: `/api/v1/namespaces/${namespace}/pods`,
    labelSelector: selector,
    list: () => core.listNamespacedPod({ namespace, labelSelector: selector }),
    watch,
    logger: log,
    keep: true,
  });
  const events = new WatchCache<CoreV1Event>({
    what: "pod events",
    path: `/api/v1/namespaces/${namespace}/events`,
    fieldSelector: "involvedObject.kind=Pod",
    list: () => core.listNamespacedEvent({ namespace, fieldSelector: "involvedObject.kind=Pod" }),
    watch,
    logger: log,
    keep: false,
  });

  // The hub's Jupyter configuration, mounted read-only into every pod: written at each hub start (a new version's).
  const hubConfigMap = `${options.namePrefix}-jupyter-config`;
  const configMap = hubConfigMapManifest(
    { name: hubConfigMap, namespace, labels: hubLabels(options.namePrefix), annotations: {} },
    readHubConfig(),
  );
  try {
    await core.replaceNamespacedConfigMap({ name: hubConfigMap, namespace, body: configMap });
  } catch (err) {
    if (apiStatus(err) !== 404) throw new Error(`cannot write the ConfigMap ${hubConfigMap} in namespace ${namespace}: ${String(err)}`);
    await core.createNamespacedConfigMap({ namespace, body: configMap });
  }
  await Promise.all([pods.start(), events.start()]);
  log.info({ namespace, pods: pods.all().length }, "kubernetes backend ready");

  const shared: KubernetesShared = {
    ...options,
    core,
    namespace,
    pods,
    events,
    terminationGraceSeconds: Math.ceil((options.terminationGracePeriod ?? options.stopGraceMs) / 1000),
    hubConfigMap,
    log,
    storage: new StorageMeter(kc, namespace, log),
  };

  return {
    backend: "kubernetes",
    create: (identity) => new KubernetesSpawner(shared, identity),
    isolation: (): IsolationReport => ({
      separated: true,
      summary: `Servers run as pods in namespace ${namespace}, as uid ${options.uid} (never root), without privilege escalation, capabilities or a service-account token.`,
      warnings: [
        "Pods accept connections from anywhere in the cluster unless a NetworkPolicy restricts them: allow ingress to servers' pods from the hub only.",
      ],
    }),
    requestCounts: () =>
      Object.entries({ pods: pods.stats, events: events.stats }).flatMap(([resource, stats]) => [
        { resource, kind: "list", count: stats.lists },
        { resource, kind: "watch", count: stats.watches },
        { resource, kind: "stalled watch restart", count: stats.stallRestarts },
      ]),
    unknownServers: (known) => {
      const keys = new Set(known.map((k) => `${k.user}\0${k.serverName}`));
      return pods
        .all()
        .filter((pod) => {
          const identity = identityOf(pod.metadata?.annotations);
          return !identity || !keys.has(`${identity.user}\0${identity.serverName}`);
        })
        .map((pod) => `pod ${pod.metadata?.name ?? ""}`);
    },
    close: () => {
      pods.close();
      events.close();
    },
  };
}
