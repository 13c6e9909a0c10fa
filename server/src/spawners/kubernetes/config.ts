/** The `spawner.kubernetes` section: servers as pods, their storage as PersistentVolumeClaims. */
import { z } from "zod";
import { imageServerFields, nonRootId } from "../image-server-config.js";
import { durationSchema } from "../../lib/units.js";
import { IMAGE_PULL_POLICIES } from "../types.js";

/** A Kubernetes object name part: lowercase letters, digits and dashes (RFC 1123 label). */
const dnsLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, { error: "must be lowercase letters, digits and '-', at most 32 characters" });

export const kubernetesSpawnerConfig = z
  .object({
    kubeconfig: z
      .string()
      .optional()
      .describe("A kubeconfig file for the cluster. Default: the pod's service account when the hub runs in the cluster, else $KUBECONFIG or ~/.kube/config."),
    context: z.string().optional().describe("The kubeconfig context to use (default: its current one)."),
    namespace: z
      .string()
      .optional()
      .describe("Where servers' pods, claims and secrets go (default: the hub's own namespace in the cluster, else the kubeconfig context's, else `default`). The hub needs a Role there only (README, Kubernetes)."),
    image: z
      .string()
      .min(1)
      .optional()
      .describe("The image of servers not launched from a Binder build (required with backend: kubernetes). It runs as `uid` with `jupyter` on PATH."),
    imagePullPolicy: z
      .enum(IMAGE_PULL_POLICIES)
      .default("IfNotPresent")
      .describe("When the node pulls the image (Kubernetes' imagePullPolicy). Binder builds' images, named by their commit, are pulled only when missing."),
    ...imageServerFields,
    namePrefix: dnsLabel
      .default("ganymede")
      .describe("Pods, claims and secrets are named <prefix>-<user>[--<server>] and labelled with it; hubs sharing a namespace need different prefixes."),
    storageClass: z
      .string()
      .optional()
      .describe("The StorageClass of servers' claims (default: the cluster's default class). Claims are sized from the policy's storage limit."),
    storageAccessMode: z
      .enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"])
      .default("ReadWriteOnce")
      .describe("The access mode of servers' claims."),
    uid: nonRootId("uid").default(1000).describe("The uid the server runs as (runAsUser, with runAsNonRoot)."),
    gid: nonRootId("gid").default(1000).describe("The server's group (runAsGroup) and the group its volume is given (fsGroup)."),
    nodeSelector: z.record(z.string(), z.string()).default({}).describe("Node labels a server's pod must match."),
    tolerations: z.array(z.record(z.string(), z.unknown())).default([]).describe("Tolerations of servers' pods (Kubernetes' own form)."),
    priorityClassName: z.string().optional().describe("The PriorityClass of servers' pods."),
    extraVolumes: z.array(z.record(z.string(), z.unknown())).default([]).describe("More volumes for every pod (Kubernetes' own form)."),
    extraVolumeMounts: z.array(z.record(z.string(), z.unknown())).default([]).describe("Where the extra volumes go in the server's container (Kubernetes' own form)."),
    watchStallTimeout: durationSchema
      .prefault("3m")
      .describe("A watch of pods or events that has said nothing for this long (the API server sends a bookmark every minute) is restarted."),
    terminationGracePeriod: durationSchema
      .optional()
      .describe("How long a pod has between SIGTERM and SIGKILL (default: spawner.stopGrace)."),
  })
  .strict()
  .prefault({});

export type KubernetesSpawnerConfig = z.output<typeof kubernetesSpawnerConfig>;
