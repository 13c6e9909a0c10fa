/**
 * What the Kubernetes backends (servers as pods, builds as pods) share of @kubernetes/client-node: the cluster's
 * client from a kubeconfig or the pod's service account, the namespace they work in, and the client's errors as
 * values (the HTTP status, the API server's message, "not found" as undefined), a container that cannot start, and
 * the end of a container's log.
 */
import { KubeConfig, type CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";

export interface ClusterSettings {
  /** A kubeconfig file; default: in the cluster, the pod's service account, else $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** The kubeconfig's context (default: its current one). */
  context?: string;
  namespace?: string;
}

const IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

export function loadKubeConfig(settings: ClusterSettings): KubeConfig {
  const kc = new KubeConfig();
  if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
  else kc.loadFromDefault();
  if (settings.context) kc.setCurrentContext(settings.context);
  return kc;
}

/** The configured namespace, else the hub pod's own, else the kubeconfig context's, else `default`. */
export function resolveNamespace(settings: ClusterSettings, kc: KubeConfig): string {
  if (settings.namespace) return settings.namespace;
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE, "utf8").trim();
  } catch {
    return kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  }
}

/** The HTTP status of a failed API call (the client's ApiException carries it as `code`). */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The API server's own message ("pods \"x\" is forbidden: exceeded quota: …"), else the error's. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: the text itself
    }
    if (body.trim()) return body.trim();
  }
  if (body && typeof body === "object" && "message" in body) return String((body as { message: unknown }).message);
  return (err as Error)?.message ?? String(err);
}

/** A container's last non-empty log lines, `secret` masked; rejects with the API's error when the log is unreadable. */
export async function podLogTail(
  core: CoreV1Api,
  pod: { name: string; namespace: string; container: string },
  lines: number,
  secret?: string,
): Promise<string[]> {
  const text = await core.readNamespacedPodLog({ ...pod, tailLines: lines });
  return String(text)
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => (secret ? line.replaceAll(secret, "[token]") : line));
}

/** Resolves undefined instead of rejecting when the object is not there (404). */
export async function ignoreNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

/** Waiting reasons of a container that does not start however long one waits (bar the kubelet's own retries). */
const STUCK_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "CrashLoopBackOff",
]);

const PULL_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);

/**
 * The kubelet's own transient failures under a stuck reason: its watch of the pod's Secret or ConfigMap had not
 * synced in time (a busy API server). The kubelet retries them and the container then starts.
 */
const RETRIED_MESSAGE = /failed to sync (secret|configmap) cache/i;

export interface StuckContainer {
  reason: string;
  /** The kubelet's words, or a stand-in when it gave none. */
  message: string;
  /** The image could not be pulled (rather than the container created or run). */
  pull: boolean;
  /** The kubelet retries this one by itself: wait, and report it only if the wait runs out. */
  retrying: boolean;
}

/** Why the pod's named container is stuck waiting, when it is. */
export function stuckContainer(pod: V1Pod, container: string): StuckContainer | undefined {
  const waiting = pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.waiting;
  if (!waiting?.reason || !STUCK_REASONS.has(waiting.reason)) return undefined;
  const message = waiting.message ?? "no details from the cluster";
  return { reason: waiting.reason, message, pull: PULL_REASONS.has(waiting.reason), retrying: RETRIED_MESSAGE.test(message) };
}
