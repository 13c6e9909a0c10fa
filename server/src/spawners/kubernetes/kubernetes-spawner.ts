/**
 * One server as a pod with a PersistentVolumeClaim. See index.ts for the behaviour in full; this file is the
 * lifecycle: start (claim → token Secret → pod → scheduled, pulled, running), stop, poll, state/restore, storage
 * removal. Everything it learns about its pod comes from the factory's shared watches, never from a request of its own.
 */
import type { CoreV1Api, CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { exitedDuringStart, SpawnError } from "../../errors.js";
import { JUPYTER_PORT } from "../image-server.js";
import type {
  BackendState,
  Endpoint,
  Enforcement,
  PollResult,
  ServerIdentity,
  SpawnContext,
  Spawner,
  SpawnerLogger,
  SpawnProgress,
} from "../types.js";
import { formatSize } from "../host-storage/volume.js";
import { apiMessage, apiStatus, ignoreNotFound, podLogTail } from "../../engines/kubernetes.js";
import { claimManifest, CONTAINER, podManifest, tokenSecretManifest, type ObjectMeta } from "./manifests.js";
import { serverAnnotations, serverLabels, serverObjectName } from "./naming.js";
import { describePodProblem, podEndpoint, podExit, type PodProblem } from "./pod-status.js";
import { kubernetesStateSchema, type KubernetesState } from "./state.js";
import type { KubernetesSpawnerConfig } from "./config.js";
import type { StorageMeter } from "./storage-meter.js";
import type { WatchCache } from "./watch-cache.js";

/** What every spawner of one factory shares: its configuration section, the API client, the watches. */
export interface KubernetesShared extends KubernetesSpawnerConfig {
  core: CoreV1Api;
  /** The namespace resolved from the configuration, the pod's own or the kubeconfig's. */
  namespace: string;
  pods: WatchCache<V1Pod>;
  events: WatchCache<CoreV1Event>;
  terminationGraceSeconds: number;
  hubConfigMap: string;
  log: SpawnerLogger;
  storage: StorageMeter;
}

/** The events worth showing someone waiting for their server, by Kubernetes reason. */
const SHOWN_EVENTS = new Set(["Scheduled", "FailedScheduling", "Pulling", "Pulled", "Created", "Started", "Failed", "BackOff", "FailedMount", "FailedAttachVolume", "SuccessfulAttachVolume"]);

/** How long stop() waits for the pod to be gone after its grace period, before reporting a failure. */
const GONE_WAIT_MS = 60_000;

export class KubernetesSpawner implements Spawner {
  readonly backend = "kubernetes";
  private readonly name: string;
  private current: KubernetesState | undefined;
  private startToken: string | undefined;
  private lastEnforcement: Enforcement | undefined;

  constructor(
    private readonly shared: KubernetesShared,
    private readonly identity: ServerIdentity,
  ) {
    this.name = serverObjectName(shared.namePrefix, identity);
  }

  private meta(): ObjectMeta {
    return {
      name: this.name,
      namespace: this.shared.namespace,
      labels: serverLabels(this.shared.namePrefix, this.identity),
      annotations: serverAnnotations(this.identity),
    };
  }

  private get logFields() {
    return { user: this.identity.user, server: this.identity.serverName, pod: this.name };
  }

  async start(ctx: SpawnContext, signal: AbortSignal, onProgress: (p: SpawnProgress) => void): Promise<Endpoint> {
    const { core, namespace } = this.shared;
    const image = ctx.image ?? this.shared.image;
    if (!image) throw new SpawnError("backend", "no image to run: spawner.kubernetes.image is not set");
    this.startToken = ctx.token;
    const meta = this.meta();
    let claimCreated = false;
    let podUid: string | undefined;
    try {
      // A pod left by an earlier start (a hub killed mid-start) would hold the name: it goes first.
      if (this.shared.pods.get(this.name)) {
        onProgress({ progress: 5, message: "Removing the pod of an earlier start" });
        await this.deletePodAndWait(0);
      }
      let existingClaim = await ignoreNotFound(core.readNamespacedPersistentVolumeClaim({ name: this.name, namespace }));
      if (existingClaim?.metadata?.deletionTimestamp) {
        // The storage of a deleted server of the same name, still going: a new server starts empty.
        await this.untilClaimGone();
        existingClaim = undefined;
      }
      if (!existingClaim) {
        await core.createNamespacedPersistentVolumeClaim({
          namespace,
          body: claimManifest({ meta, storageBytes: ctx.limits.storageBytes, storageClass: this.shared.storageClass, accessMode: this.shared.storageAccessMode }),
        });
        claimCreated = true;
        onProgress({ progress: 10, message: `Storage claimed: ${formatSize(ctx.limits.storageBytes)} (PersistentVolumeClaim ${this.name})` });
      } else {
        onProgress({ progress: 10, message: `Reusing the server's storage (PersistentVolumeClaim ${this.name})` });
      }
      this.current = { pod: this.name, claim: this.name, secret: this.name, namespace, startedAt: new Date().toISOString(), claimCreated };
      await ignoreNotFound(core.deleteNamespacedSecret({ name: this.name, namespace }));
      await core.createNamespacedSecret({ namespace, body: tokenSecretManifest(meta, ctx.token) });

      const pod = podManifest({
        meta,
        image,
        imagePullPolicy: ctx.imagePullPolicy ?? this.shared.imagePullPolicy,
        command: ctx.command ?? this.shared.command,
        args: this.shared.args,
        env: { ...this.shared.env, ...ctx.env },
        baseUrl: ctx.baseUrl,
        homeDir: this.shared.homeDir,
        storageDir: ctx.storageDir,
        limits: ctx.limits,
        uid: this.shared.uid,
        gid: this.shared.gid,
        claimName: this.name,
        secretName: this.name,
        hubConfigMap: this.shared.hubConfigMap,
        terminationGraceSeconds: this.shared.terminationGraceSeconds,
        nodeSelector: { ...this.shared.nodeSelector, ...ctx.nodeSelector },
        gpus: ctx.gpus,
        tolerations: this.shared.tolerations,
        priorityClassName: this.shared.priorityClassName,
        extraVolumes: this.shared.extraVolumes,
        extraVolumeMounts: this.shared.extraVolumeMounts,
      });
      const created = await core.createNamespacedPod({ namespace, body: pod });
      podUid = created.metadata?.uid;
      this.current = { ...this.current, podUid };
      this.lastEnforcement = this.enforcementFor(ctx);
      onProgress({ progress: 15, message: `Pod ${this.name} requested (image ${image})` });
      this.shared.log.info({ ...this.logFields, image }, "pod created");
      const ip = await this.untilRunning(podUid!, signal, onProgress);
      return { url: podEndpoint(ip, JUPYTER_PORT) };
    } catch (err) {
      await this.undoStart(claimCreated).catch((e: unknown) => this.shared.log.error({ ...this.logFields, err: e }, "undoing a failed start"));
      if (err instanceof SpawnError) throw err;
      if (signal.aborted) throw signal.reason;
      throw new SpawnError("backend", `the cluster refused the server: ${apiMessage(err)}`);
    }
  }

  /**
   * Resolves the pod's IP once it runs; follows its events (this pod's uid only) into progress meanwhile. Rejects at
   * once when the pod cannot come up (image pull error, crash, a refused configuration), and with the scheduler's
   * words when the start is given up while the pod is still unscheduled.
   */
  private untilRunning(uid: string, signal: AbortSignal, onProgress: (p: SpawnProgress) => void): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let lastProblem: PodProblem | undefined;
      const seenEvents = new Set<string>();
      const finish = (outcome: () => void) => {
        stopPods();
        stopEvents();
        signal.removeEventListener("abort", onAbort);
        outcome();
      };
      const check = (pod: V1Pod | undefined) => {
        if (!pod || pod.metadata?.uid !== uid) return;
        const problem = describePodProblem(pod);
        if (problem?.fatal) {
          void this.fatalFailure(problem).then((e) => finish(() => reject(e)));
          return;
        }
        lastProblem = problem;
        const endpoint = pod.status?.phase === "Running" ? pod.status.podIP : undefined;
        if (endpoint) finish(() => resolve(endpoint));
        else if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") {
          void this.exitFailure(pod).then((e) => finish(() => reject(e)));
        }
      };
      const onAbort = () => {
        const timedOut = (signal.reason as Error | undefined)?.name === "TimeoutError";
        finish(() =>
          reject(
            timedOut && lastProblem
              ? new SpawnError("timeout", `The server's pod did not start in time: ${lastProblem.message}`)
              : signal.reason,
          ),
        );
      };
      const stopPods = this.shared.pods.subscribe((type, pod) => {
        if (type === "DELETED" && pod.metadata?.uid === uid) {
          finish(() => reject(new SpawnError("backend", "the server's pod was deleted while it was starting")));
        } else check(pod);
      });
      const stopEvents = this.shared.events.subscribe((_type, event) => {
        if (event.involvedObject?.uid !== uid || !event.reason || !SHOWN_EVENTS.has(event.reason)) return;
        const key = `${event.metadata?.uid}:${event.count ?? 1}`;
        if (seenEvents.has(key)) return;
        seenEvents.add(key);
        onProgress({ progress: EVENT_PROGRESS[event.reason] ?? 20, message: `${event.reason}: ${event.message ?? ""}`.trim() });
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      check(this.shared.pods.get(this.name));
    });
  }

  private async fatalFailure(problem: PodProblem): Promise<SpawnError> {
    if (problem.exited) return this.exitFailure(this.shared.pods.get(this.name));
    return new SpawnError("backend", problem.message);
  }

  private async exitFailure(pod: V1Pod | undefined): Promise<SpawnError> {
    const exit = pod ? podExit(pod) : undefined;
    return exitedDuringStart(exit?.exitCode, await this.recentLog(), exit?.reason === "OOMKilled" ? "killed: out of memory" : "");
  }

  /** After a failed or aborted start: the pod and Secret go, and the claim too when this start made it. */
  private async undoStart(claimCreated: boolean): Promise<void> {
    await this.deletePodAndWait(0);
    await ignoreNotFound(this.shared.core.deleteNamespacedSecret({ name: this.name, namespace: this.shared.namespace }));
    if (claimCreated) await this.deleteClaim();
    this.current = undefined;
  }

  async stop(options: { now?: boolean } = {}): Promise<void> {
    await this.deletePodAndWait(options.now ? 0 : this.shared.terminationGraceSeconds);
    await ignoreNotFound(this.shared.core.deleteNamespacedSecret({ name: this.name, namespace: this.shared.namespace }));
    this.current = undefined;
  }

  /** Deletes the pod (if any) and resolves once the watch has seen it gone. */
  private async deletePodAndWait(graceSeconds: number): Promise<void> {
    const { pods, core, namespace } = this.shared;
    if (!pods.get(this.name)) {
      // The cache may not have seen a pod created a moment ago: ask once.
      const found = await ignoreNotFound(core.readNamespacedPod({ name: this.name, namespace }));
      if (!found) return;
    }
    const gone = new Promise<void>((resolve) => {
      const check = () => {
        if (!pods.get(this.name)) {
          unsubscribe();
          resolve();
        }
      };
      const unsubscribe = pods.subscribe(check);
      setImmediate(check);
    });
    await ignoreNotFound(core.deleteNamespacedPod({ name: this.name, namespace, gracePeriodSeconds: graceSeconds }));
    const deadline = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), (graceSeconds * 1000) + GONE_WAIT_MS).unref());
    if ((await Promise.race([gone, deadline])) === "late") {
      throw new Error(`pod ${this.name} was still there ${graceSeconds + GONE_WAIT_MS / 1000} s after it was deleted`);
    }
  }

  /** Deletes the claim and waits until it is gone (its volume goes with it, by the storage class' reclaim policy). */
  private async deleteClaim(): Promise<void> {
    await ignoreNotFound(this.shared.core.deleteNamespacedPersistentVolumeClaim({ name: this.name, namespace: this.shared.namespace }));
    await this.untilClaimGone();
  }

  /** Claims are not watched (a handful of reads when a server is deleted cost less than a watch of them all). */
  private async untilClaimGone(): Promise<void> {
    const { core, namespace } = this.shared;
    for (const deadline = Date.now() + GONE_WAIT_MS; ; ) {
      if (!(await ignoreNotFound(core.readNamespacedPersistentVolumeClaim({ name: this.name, namespace })))) return;
      if (Date.now() > deadline) throw new Error(`claim ${this.name} was still there ${GONE_WAIT_MS / 1000} s after it was deleted`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async poll(): Promise<PollResult> {
    const pod = this.shared.pods.get(this.name);
    if (!pod || (this.current?.podUid && pod.metadata?.uid !== this.current.podUid)) return { running: false, exitCode: null };
    if (pod.metadata?.deletionTimestamp) return { running: false, exitCode: null };
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") return { running: false, exitCode: podExit(pod)?.exitCode ?? null };
    return { running: true };
  }

  state(): BackendState {
    return this.current ? { ...this.current } : {};
  }

  restore(state: BackendState): void {
    if (Object.keys(state).length === 0) return;
    this.current = kubernetesStateSchema.parse(state);
  }

  async removeStorage(): Promise<void> {
    await this.deleteClaim();
    this.shared.storage.forget(this.name);
  }

  async recentLog(): Promise<string[]> {
    if (this.startToken === undefined) return [];
    try {
      return await podLogTail(this.shared.core, { name: this.name, namespace: this.shared.namespace, container: CONTAINER }, 20, this.startToken);
    } catch (err) {
      if (apiStatus(err) !== 400 && apiStatus(err) !== 404) this.shared.log.debug({ ...this.logFields, err: String(err) }, "pod log unreadable");
      return [];
    }
  }

  /** Measured in the running pod (storage-meter.ts); while stopped, the last measure. */
  async storageUsed(): Promise<number | undefined> {
    return this.shared.storage.used(this.shared.pods.get(this.name), this.name);
  }

  enforcement(): Enforcement {
    return this.lastEnforcement ?? this.enforcementFor(undefined);
  }

  private enforcementFor(ctx: SpawnContext | undefined): Enforcement {
    const size = ctx ? formatSize(ctx.limits.storageBytes) : "the policy's size";
    return {
      cpu: { enforced: true, by: "Kubernetes (the pod's CPU limit, a cgroup on its node)" },
      memory: { enforced: true, by: "Kubernetes (the pod's memory limit, a cgroup on its node)" },
      storage: {
        enforced: false,
        reason: `a PersistentVolumeClaim of ${size}; whether writes stop at that size depends on the storage class${this.shared.storageClass ? ` (${this.shared.storageClass})` : ""}`,
      },
      processes: { enforced: false, reason: "Kubernetes limits processes per pod on the node (the kubelet's podPidsLimit), not per pod spec" },
    };
  }
}

/** Where each shown event puts the progress bar (the backend's share runs 0–100, the hub scales it). */
const EVENT_PROGRESS: Record<string, number> = {
  FailedScheduling: 20,
  Scheduled: 30,
  SuccessfulAttachVolume: 35,
  Pulling: 40,
  Pulled: 70,
  Created: 80,
  Started: 90,
};
