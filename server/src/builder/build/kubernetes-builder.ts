/**
 * The Kubernetes backend (`builder.backend: kubernetes`): each build is a pod of its own running BuildKit, with no
 * Docker socket anywhere. The hub runs `buildctl` against it through the API server (kube-pod://: an exec, so the
 * pod opens no port), sending the checkout and the generated Dockerfile as BuildKit's local sources; BuildKit
 * builds, pushes to builder.registry and keeps its layer cache there (`<image repository>:buildcache`), so a build
 * on any node reuses what earlier ones made. buildctl's log is the build's log; the timeout and cancellation arrive as
 * the AbortSignal and end buildctl and the pod. The pod goes when the build ends, whatever the outcome; pods of
 * builds a previous hub process left (it died mid-build) are deleted when this backend starts: their client is gone.
 *
 * Needs in the namespace, besides the spawner's: pods/exec (create), pods/log (get: why a build pod ended), and pods
 * with seccomp and AppArmor unconfined (rootless, kubernetes-build-pod.ts) or privileged pods (rootful): BuildKit
 * runs each step in a container of its own. `buildctl` must be on the hub's PATH (or builder.kubernetes.buildctl) and `kubectl` too
 * (buildctl's kube-pod:// connection runs it), with the same kubeconfig.
 */
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { apiMessage, apiStatus, ignoreNotFound, loadKubeConfig, podLogTail, resolveNamespace, stuckContainer, type ClusterSettings } from "../../engines/kubernetes.js";
import type { Logger } from "../../lib/logger.js";
import type { ImagePullPolicy } from "../../spawners/types.js";
import type { BuildBackend, BuildJob } from "./backend.js";
import { writeGeneratedFiles } from "./build-context.js";
import { LineSplitter, Tail } from "./engine-stream.js";
import { abortReason, BuildFailedError } from "./errors.js";
import type { EmitBuildEvent } from "./events.js";
import { buildctlArguments, buildkitConfig, buildkitConfigMap, buildPodManifest, BUILD_CONTAINER } from "./kubernetes-build-pod.js";
import type { RegistryClient } from "./registry.js";

export interface KubernetesBuilderOptions extends ClusterSettings {
  /** An image with buildkitd and runc (BuildKit's own image, moby/buildkit, is one; its -rootless one when rootless). */
  image: string;
  /** buildkitd in a user namespace as user 1000 (RootlessKit), else in a privileged pod. */
  rootless: boolean;
  imagePullPolicy: ImagePullPolicy;
  namePrefix: string;
  hostNetwork: boolean;
  cpu?: string;
  memory?: string;
  nodeSelector: Record<string, string>;
  /** The buildctl program on the hub's machine. */
  buildctl: string;
  /** How long buildkitd may take to be ready in its pod (image pull included). */
  startTimeoutMs: number;
  registry: RegistryClient;
  logger: Logger;
}

const LABELS = { "app.kubernetes.io/name": "ganymede-build", "app.kubernetes.io/managed-by": "ganymede" };
const IMAGE_ANNOTATION = "ganymede.io/image";
/** The pod's own deadline: longer than any policy's build timeout is likely to be; the hub ends it sooner. */
const POD_DEADLINE_SECONDS = 6 * 3600;

export class KubernetesBuildBackend implements BuildBackend {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly kubeconfigEnv: Record<string, string>;
  private readonly labels: Record<string, string>;
  private configReady: Promise<void> | undefined;

  constructor(private readonly o: KubernetesBuilderOptions) {
    const kc = loadKubeConfig(o);
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = resolveNamespace(o, kc);
    // kubectl (run by buildctl) needs the same cluster and identity as the hub's client.
    this.kubeconfigEnv = o.kubeconfig ? { KUBECONFIG: o.kubeconfig } : {};
    this.labels = { ...LABELS, "app.kubernetes.io/instance": o.namePrefix };
  }

  /** Deletes build pods a previous hub process left behind (their buildctl died with it). */
  async cleanUpLeftovers(): Promise<string[]> {
    const selector = Object.entries(this.labels).map(([k, v]) => `${k}=${v}`).join(",");
    const pods = (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector })).items;
    for (const pod of pods) await this.deletePod(pod.metadata!.name!);
    return pods.map((pod) => `${pod.metadata!.name} (${pod.metadata?.annotations?.[IMAGE_ANNOTATION] ?? "unknown image"})`);
  }

  hasImage(image: string, signal?: AbortSignal): Promise<boolean> {
    return this.o.registry.hasImage(image, signal);
  }

  async build(job: BuildJob, signal: AbortSignal, emit: EmitBuildEvent): Promise<void> {
    if (signal.aborted) throw abortReason(signal);
    await writeGeneratedFiles(job.checkoutDir, job.recipe.generated);
    await this.ensureConfig();
    const name = `${this.o.namePrefix}-build-${createHash("sha256").update(`${job.image}\0${Date.now()}`).digest("hex").slice(0, 12)}`;
    const tail = new Tail(25);
    try {
      emit({ phase: "building", message: `Starting BuildKit in pod ${name}\n` });
      await this.core.createNamespacedPod({ namespace: this.namespace, body: this.podFor(name, job.image) });
      await this.untilReady(name, signal);
      emit({ phase: "building", message: `BuildKit is ready; sending the repository\n` });
      await this.runBuildctl(name, job, signal, emit, tail);
      emit({ phase: "pushing", message: `Pushed ${job.image}\n` });
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      if (err instanceof BuildFailedError) throw err;
      throw new BuildFailedError("backend", `The cluster could not run the build: ${apiMessage(err)}`, tail.all);
    } finally {
      await this.deletePod(name).catch((err: unknown) => this.o.logger.error({ err: String(err), pod: name }, "deleting a build pod"));
    }
  }

  private podFor(name: string, image: string): V1Pod {
    return buildPodManifest({
      name,
      namespace: this.namespace,
      labels: this.labels,
      annotations: { [IMAGE_ANNOTATION]: image },
      image: this.o.image,
      rootless: this.o.rootless,
      imagePullPolicy: this.o.imagePullPolicy,
      hostNetwork: this.o.hostNetwork,
      configMap: this.configMapName,
      cpu: this.o.cpu,
      memory: this.o.memory,
      activeDeadlineSeconds: POD_DEADLINE_SECONDS,
      nodeSelector: this.o.nodeSelector,
    });
  }

  private get configMapName(): string {
    return `${this.o.namePrefix}-buildkitd`;
  }

  /** buildkitd.toml in a ConfigMap, written once per hub process (the registry's settings may have changed). */
  private ensureConfig(): Promise<void> {
    this.configReady ??= (async () => {
      const toml = buildkitConfig(this.o.registry.plainHttp ? [this.o.registry.host] : []);
      const body = buildkitConfigMap(this.configMapName, this.namespace, this.labels, toml);
      try {
        await this.core.replaceNamespacedConfigMap({ name: this.configMapName, namespace: this.namespace, body });
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
        await this.core.createNamespacedConfigMap({ namespace: this.namespace, body });
      }
    })().catch((err: unknown) => {
      this.configReady = undefined;
      throw err;
    });
    return this.configReady;
  }

  /** Waits until buildkitd answers in the pod (`buildctl debug workers` through the pod), or the pod fails. */
  private async untilReady(name: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.o.startTimeoutMs;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const pod = await ignoreNotFound(this.core.readNamespacedPod({ name, namespace: this.namespace }));
      const stuck = pod && stuckContainer(pod, BUILD_CONTAINER);
      if (stuck && !stuck.retrying) throw new BuildFailedError("backend", `The build pod could not start (${stuck.reason}): ${stuck.message}`);
      if (!pod || pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") {
        const log = pod ? await this.logTail(name) : [];
        const said = log.length ? `; its last words:\n${log.join("\n")}` : "";
        throw new BuildFailedError("backend", `The build pod ${name} ended before BuildKit was ready${said}`, log);
      }
      if (pod.status?.phase === "Running" && (await this.buildctl(["--addr", this.address(name), "debug", "workers"], signal).then((r) => r.code === 0))) return;
      if (Date.now() > deadline) {
        const still = stuck ? ` (the kubelet still retrying ${stuck.reason}: ${stuck.message})` : "";
        throw new BuildFailedError("backend", `BuildKit was not ready in pod ${name} after ${Math.round(this.o.startTimeoutMs / 1000)} s${still}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private address(pod: string): string {
    return `kube-pod://${pod}?namespace=${this.namespace}&container=${BUILD_CONTAINER}`;
  }

  private async runBuildctl(pod: string, job: BuildJob, signal: AbortSignal, emit: EmitBuildEvent, tail: Tail): Promise<void> {
    const args = buildctlArguments({
      address: this.address(pod),
      contextDir: job.checkoutDir,
      dockerfile: job.recipe.dockerfile,
      image: job.image,
      cacheRef: `${job.image.slice(0, job.image.lastIndexOf(":"))}:buildcache`,
      plainHttp: this.o.registry.plainHttp,
      buildArgs: job.buildArgs ?? {},
      labels: job.labels,
    });
    const lines = new LineSplitter((line) => {
      tail.add(line);
      emit({ phase: /^#\d+ (exporting|pushing)/.test(line) ? "pushing" : "building", message: `${line}\n` });
    });
    const result = await this.buildctl(args, signal, (chunk) => lines.push(chunk));
    lines.flush();
    if (signal.aborted) throw abortReason(signal);
    if (result.code !== 0) {
      const last = tail.all;
      const pushFailed = last.some((line) => /pushing|push access denied|failed to push/i.test(line)) && last.some((line) => /exporting/.test(line));
      throw new BuildFailedError(
        pushFailed ? "push" : "build",
        `The image could not be ${pushFailed ? "pushed" : "built"}.\nThe end of the build log:\n${last.join("\n")}\n`,
        last,
      );
    }
  }

  /** Runs buildctl; resolves with its exit code (SIGTERM on abort). `onOutput` gets stdout and stderr as they come. */
  private async buildctl(args: string[], signal: AbortSignal, onOutput?: (text: string) => void): Promise<{ code: number | null }> {
    const credentials = await this.dockerConfig();
    try {
      return await new Promise((resolve, reject) => {
        const child = spawn(this.o.buildctl, args, {
          env: { ...process.env, ...this.kubeconfigEnv, ...(credentials ? { DOCKER_CONFIG: credentials } : {}) },
          stdio: ["ignore", "pipe", "pipe"],
        });
        const onAbort = () => child.kill("SIGTERM");
        signal.addEventListener("abort", onAbort, { once: true });
        child.stdout.setEncoding("utf8").on("data", (text: string) => onOutput?.(text));
        child.stderr.setEncoding("utf8").on("data", (text: string) => onOutput?.(text));
        child.on("error", (err) => reject(new BuildFailedError("backend", `cannot run ${this.o.buildctl}: ${err.message}`)));
        child.on("close", (code) => {
          signal.removeEventListener("abort", onAbort);
          resolve({ code });
        });
      });
    } finally {
      if (credentials) await rm(credentials, { recursive: true, force: true });
    }
  }

  /** A Docker config folder with the registry's credentials for buildctl's pushes, when it has credentials. */
  private async dockerConfig(): Promise<string | undefined> {
    const auth = this.o.registry.engineAuth;
    if (auth.username === undefined) return undefined;
    const dir = await mkdtemp(path.join(tmpdir(), "ganymede-buildctl-"));
    const token = Buffer.from(`${auth.username}:${auth.password ?? ""}`).toString("base64");
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ auths: { [this.o.registry.host]: { auth: token } } }), { mode: 0o600 });
    return dir;
  }

  /** The end of buildkitd's log in the pod (RootlessKit's and BuildKit's reasons for not starting); none if unreadable. */
  private async logTail(name: string): Promise<string[]> {
    return podLogTail(this.core, { name, namespace: this.namespace, container: BUILD_CONTAINER }, 10).catch(() => []);
  }

  private async deletePod(name: string): Promise<void> {
    await ignoreNotFound(this.core.deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 0 }));
  }
}
