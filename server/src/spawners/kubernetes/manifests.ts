/**
 * A server's Kubernetes objects as plain manifests: pure functions, no API call (after KubeSpawner's make_pod and
 * make_pvc), so every option is covered by unit tests without a cluster.
 *
 * What a server may do is decided here: it runs as the configured non-root uid:gid with no privilege escalation,
 * every capability dropped and the runtime's default seccomp profile; it gets no service-account token (its code
 * could otherwise talk to the API server as the pod); its own token comes from its Secret through the environment,
 * never the command line; the policy's CPU and memory are its requests and limits.
 */
import type { V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Toleration, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { HUB_CONFIG_TARGET, imageServerEnv, jupyterCommand, JUPYTER_PORT, storageMountPoint } from "../image-server.js";
import type { HubConfigFile } from "../jupyter-config.js";
import type { ImagePullPolicy, ServerLimits } from "../types.js";

/** The key of the token in a server's Secret. */
export const TOKEN_KEY = "token";
/** The name of the server's container in its pod. */
export const CONTAINER = "notebook";
/** The pod volume of the server's claim. */
export const STORAGE_VOLUME = "storage";

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PodInput {
  meta: ObjectMeta;
  image: string;
  imagePullPolicy: ImagePullPolicy;
  command: string[];
  args: string[];
  /** Configured env < the spawn context's env; the hub's own variables are added on top. */
  env: Record<string, string>;
  baseUrl: string;
  homeDir: string;
  /** Where the claim is mounted instead of homeDir (a Binder image keeps the repository in the home folder). */
  storageDir?: string;
  limits: ServerLimits;
  uid: number;
  gid: number;
  /** The server's claim and the Secret holding its token. */
  claimName: string;
  secretName: string;
  /** The ConfigMap holding the hub's Jupyter configuration. */
  hubConfigMap: string;
  terminationGraceSeconds: number;
  nodeSelector: Record<string, string>;
  /** GPUs (nvidia.com/gpu), requested and limited alike, as Kubernetes requires for extended resources. */
  gpus?: number;
  tolerations: Array<Record<string, unknown>>;
  priorityClassName?: string;
  extraVolumes: Array<Record<string, unknown>>;
  extraVolumeMounts: Array<Record<string, unknown>>;
}

/** CPU in millicores ("1500m"), memory in bytes: exact, whatever the policy's units. */
export function resourceQuantities(limits: ServerLimits): { cpu: string; memory: string } {
  return { cpu: `${Math.max(1, Math.round(limits.cpu * 1000))}m`, memory: `${Math.round(limits.memoryBytes)}` };
}

export function podManifest(input: PodInput): V1Pod {
  const resources = resourceQuantities(input.limits);
  const env = imageServerEnv(input.env, input.homeDir);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...input.meta },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      // Not the namespace's services as environment variables: noise at best, a map of the cluster at worst.
      enableServiceLinks: false,
      terminationGracePeriodSeconds: input.terminationGraceSeconds,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: input.uid,
        runAsGroup: input.gid,
        fsGroup: input.gid,
        // Only the claim's top folder needs the group: a full recursive walk at each start would be slow on big homes.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
      },
      nodeSelector: Object.keys(input.nodeSelector).length ? input.nodeSelector : undefined,
      tolerations: input.tolerations.length ? (input.tolerations as V1Toleration[]) : undefined,
      priorityClassName: input.priorityClassName,
      containers: [
        {
          name: CONTAINER,
          image: input.image,
          imagePullPolicy: input.imagePullPolicy,
          command: jupyterCommand(input),
          workingDir: input.homeDir,
          env: [
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
            { name: "JUPYTER_TOKEN", valueFrom: { secretKeyRef: { name: input.secretName, key: TOKEN_KEY } } },
          ],
          ports: [{ name: "http", containerPort: JUPYTER_PORT, protocol: "TCP" }],
          resources: input.gpus
            ? { requests: { ...resources, "nvidia.com/gpu": String(input.gpus) }, limits: { ...resources, "nvidia.com/gpu": String(input.gpus) } }
            : { requests: resources, limits: resources },
          securityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ["ALL"] },
          },
          volumeMounts: [
            { name: STORAGE_VOLUME, mountPath: storageMountPoint(input) },
            { name: "hub-config", mountPath: HUB_CONFIG_TARGET, readOnly: true },
            ...(input.extraVolumeMounts as unknown as V1VolumeMount[]),
          ],
        },
      ],
      volumes: [
        { name: STORAGE_VOLUME, persistentVolumeClaim: { claimName: input.claimName } },
        { name: "hub-config", configMap: { name: input.hubConfigMap, defaultMode: 0o444 } },
        ...(input.extraVolumes as unknown as V1Volume[]),
      ],
    },
  };
}

export function claimManifest(input: {
  meta: ObjectMeta;
  storageBytes: number;
  storageClass?: string;
  accessMode: string;
}): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { ...input.meta },
    spec: {
      accessModes: [input.accessMode],
      storageClassName: input.storageClass,
      resources: { requests: { storage: `${Math.round(input.storageBytes)}` } },
    },
  };
}

export function tokenSecretManifest(meta: ObjectMeta, token: string): V1Secret {
  return { apiVersion: "v1", kind: "Secret", metadata: { ...meta }, type: "Opaque", stringData: { [TOKEN_KEY]: token } };
}

/** The hub's Jupyter configuration (server/jupyter-config), one ConfigMap for all of this hub's servers. */
export function hubConfigMapManifest(meta: ObjectMeta, files: HubConfigFile[]): V1ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { ...meta }, data: Object.fromEntries(files.map((f) => [f.name, f.content])) };
}
