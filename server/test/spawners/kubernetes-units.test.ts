/**
 * The Kubernetes backend's pure parts, without a cluster (after KubeSpawner's make_pod tests): the pod, claim and
 * Secret manifests, names and labels, reading a pod's status, and the backend registry's configuration rules. The
 * behaviour against a real cluster is in test/kubernetes/.
 */
import { KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { HUB_CONFIG_TARGET } from "../../src/spawners/image-server.js";
import { claimManifest, podManifest, resourceQuantities, tokenSecretManifest, type PodInput } from "../../src/spawners/kubernetes/manifests.js";
import { identityOf, labelValue, serverAnnotations, serverLabels, serverObjectName } from "../../src/spawners/kubernetes/naming.js";
import { describePodProblem, podEndpoint, podExit } from "../../src/spawners/kubernetes/pod-status.js";
import { buildctlArguments, buildkitConfig, buildPodManifest } from "../../src/builder/build/kubernetes-build-pod.js";

const alice = { user: "alice", serverName: "work" };

const input = (overrides: Partial<PodInput> = {}): PodInput => ({
  meta: { name: "ganymede-alice--work", namespace: "hub", labels: serverLabels("ganymede", alice), annotations: serverAnnotations(alice) },
  image: "example/notebook:1",
  imagePullPolicy: "IfNotPresent",
  command: ["jupyter", "lab"],
  args: ["--ServerApp.log_level=DEBUG"],
  env: { LANG: "C.UTF-8" },
  baseUrl: "/user/alice/work/",
  homeDir: "/home/jovyan",
  limits: { cpu: 1.5, memoryBytes: 2e9, storageBytes: 2 * 2 ** 30 },
  uid: 1000,
  gid: 100,
  claimName: "ganymede-alice--work",
  secretName: "ganymede-alice--work",
  hubConfigMap: "ganymede-jupyter-config",
  terminationGraceSeconds: 5,
  nodeSelector: {},
  tolerations: [],
  extraVolumes: [],
  extraVolumeMounts: [],
  ...overrides,
});

describe("podManifest", () => {
  const pod = podManifest(input());
  const spec = pod.spec!;
  const container = spec.containers[0]!;

  it("asks for the policy's CPU and memory, as requests and limits", () => {
    expect(container.resources).toEqual({ requests: { cpu: "1500m", memory: "2000000000" }, limits: { cpu: "1500m", memory: "2000000000" } });
    expect(resourceQuantities({ cpu: 0.0001, memoryBytes: 1.4, storageBytes: 0 })).toEqual({ cpu: "1m", memory: "1" });
  });

  it("runs as the configured non-root uid, without privilege, capabilities or a service-account token", () => {
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 100, fsGroup: 100, seccompProfile: { type: "RuntimeDefault" } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.restartPolicy).toBe("Never");
  });

  it("passes the token from the server's Secret, never on the command line", () => {
    expect(container.env).toContainEqual({ name: "JUPYTER_TOKEN", valueFrom: { secretKeyRef: { name: "ganymede-alice--work", key: "token" } } });
    expect(JSON.stringify(container.command)).not.toContain("token");
    expect(container.command).toEqual([
      "jupyter",
      "lab",
      "--ServerApp.ip=0.0.0.0",
      "--ServerApp.port=8888",
      "--ServerApp.port_retries=0",
      "--ServerApp.base_url=/user/alice/work/",
      "--ServerApp.root_dir=/home/jovyan",
      "--ServerApp.allow_remote_access=True",
      "--no-browser",
      "--ServerApp.log_level=DEBUG",
    ]);
    expect(container.env).toContainEqual({ name: "LANG", value: "C.UTF-8" });
    expect(container.env).toContainEqual({ name: "JUPYTER_CONFIG_PATH", value: HUB_CONFIG_TARGET });
  });

  it("mounts the claim at home (or the Binder storage folder) and the hub's configuration read-only", () => {
    expect(container.volumeMounts).toEqual([
      { name: "storage", mountPath: "/home/jovyan" },
      { name: "hub-config", mountPath: HUB_CONFIG_TARGET, readOnly: true },
    ]);
    expect(spec.volumes).toEqual([
      { name: "storage", persistentVolumeClaim: { claimName: "ganymede-alice--work" } },
      { name: "hub-config", configMap: { name: "ganymede-jupyter-config", defaultMode: 0o444 } },
    ]);
    const binder = podManifest(input({ storageDir: "/home/jovyan/work" })).spec!.containers[0]!;
    expect(binder.volumeMounts![0]).toEqual({ name: "storage", mountPath: "/home/jovyan/work" });
    expect(binder.workingDir).toBe("/home/jovyan");
  });

  it("takes node selector, tolerations, priority class and extra volumes from the configuration", () => {
    const configured = podManifest(
      input({
        nodeSelector: { pool: "notebooks" },
        tolerations: [{ key: "notebooks", operator: "Exists", effect: "NoSchedule" }],
        priorityClassName: "user-servers",
        extraVolumes: [{ name: "shared", persistentVolumeClaim: { claimName: "shared-data" } }],
        extraVolumeMounts: [{ name: "shared", mountPath: "/shared", readOnly: true }],
      }),
    ).spec!;
    expect(configured.nodeSelector).toEqual({ pool: "notebooks" });
    expect(configured.tolerations).toEqual([{ key: "notebooks", operator: "Exists", effect: "NoSchedule" }]);
    expect(configured.priorityClassName).toBe("user-servers");
    expect(configured.volumes!.at(-1)).toEqual({ name: "shared", persistentVolumeClaim: { claimName: "shared-data" } });
    expect(configured.containers[0]!.volumeMounts!.at(-1)).toEqual({ name: "shared", mountPath: "/shared", readOnly: true });
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.tolerations).toBeUndefined();
  });

  it("gives an environment's GPUs as the extended resource nvidia.com/gpu, requested and limited alike", () => {
    const gpu = podManifest(input({ gpus: 2 })).spec!.containers[0]!.resources!;
    expect(gpu.requests).toMatchObject({ "nvidia.com/gpu": "2" });
    expect(gpu.limits).toMatchObject({ "nvidia.com/gpu": "2" });
    expect(spec.containers[0]!.resources!.limits).not.toHaveProperty(["nvidia.com/gpu"]);
  });

  it("claims the policy's storage from the configured class, and keeps the token in a Secret", () => {
    const claim = claimManifest({ meta: input().meta, storageBytes: 2 * 2 ** 30, storageClass: "fast", accessMode: "ReadWriteOnce" });
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], storageClassName: "fast", resources: { requests: { storage: "2147483648" } } });
    expect(claimManifest({ meta: input().meta, storageBytes: 1, accessMode: "ReadWriteOnce" }).spec!.storageClassName).toBeUndefined();
    expect(tokenSecretManifest(input().meta, "s3cret")).toMatchObject({ kind: "Secret", stringData: { token: "s3cret" } });
  });
});

describe("names and labels", () => {
  it("names objects like Docker's, within a DNS label's 63 characters", () => {
    expect(serverObjectName("ganymede", alice)).toBe("ganymede-alice--work");
    expect(serverObjectName("ganymede", { user: "john.doe", serverName: "" })).toBe("ganymede-john-2edoe");
    const long = serverObjectName("ganymede", { user: "a".repeat(80), serverName: "x" });
    const longer = serverObjectName("ganymede", { user: "a".repeat(80), serverName: "y" });
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(longer);
  });

  it("labels with the names where Kubernetes allows them, a hash otherwise, and keeps the exact names in annotations", () => {
    expect(labelValue("alice")).toBe("alice");
    expect(labelValue("")).toBe("");
    expect(labelValue("émile@example.org")).toMatch(/^h-[0-9a-f]{20}$/);
    expect(labelValue("a".repeat(64))).toMatch(/^h-/);
    const labels = serverLabels("ganymede", { user: "émile", serverName: "work" });
    expect(labels).toMatchObject({ "app.kubernetes.io/managed-by": "ganymede", "app.kubernetes.io/instance": "ganymede", "ganymede.io/server": "work" });
    expect(identityOf(serverAnnotations({ user: "émile", serverName: "" }))).toEqual({ user: "émile", serverName: "" });
    expect(identityOf({})).toBeUndefined();
  });
});

describe("reading a pod's status", () => {
  const withContainer = (state: object): V1Pod => ({ status: { phase: "Pending", containerStatuses: [{ name: "notebook", image: "nope:1", state, ready: false, restartCount: 0, imageID: "" }] } }) as V1Pod;

  it("fails at once on an image that cannot be pulled, in the cluster's words", () => {
    const problem = describePodProblem(withContainer({ waiting: { reason: "ErrImageNeverPull", message: 'Container image "nope:1" is not present with pull policy of Never' } }));
    expect(problem).toEqual({ fatal: true, message: 'The image nope:1 could not be pulled (ErrImageNeverPull): Container image "nope:1" is not present with pull policy of Never' });
    expect(describePodProblem(withContainer({ waiting: { reason: "ContainerCreating" } }))).toBeUndefined();
  });

  it("waits through the kubelet's own retried failures (a Secret's cache not synced yet) but not a refused configuration", () => {
    const unsynced = withContainer({ waiting: { reason: "CreateContainerConfigError", message: "failed to sync secret cache: timed out waiting for the condition" } });
    expect(describePodProblem(unsynced)).toEqual({
      fatal: false,
      message: "the kubelet is retrying (CreateContainerConfigError): failed to sync secret cache: timed out waiting for the condition",
    });
    const root = withContainer({ waiting: { reason: "CreateContainerConfigError", message: "container has runAsNonRoot and image will run as root" } });
    expect(describePodProblem(root)).toMatchObject({ fatal: true });
  });

  it("reports an unscheduled pod with the scheduler's message, without giving up", () => {
    const pod = { status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu." }] } } as V1Pod;
    expect(describePodProblem(pod)).toEqual({ fatal: false, message: "no node can take it: 0/1 nodes are available: 1 Insufficient cpu." });
  });

  it("reads an exit and its reason, and makes the proxy's URL of an IPv4 or IPv6 pod address", () => {
    const pod = withContainer({ terminated: { exitCode: 137, reason: "OOMKilled" } });
    expect(describePodProblem(pod)).toMatchObject({ fatal: true, exited: true });
    expect(podExit(pod)).toEqual({ exitCode: 137, reason: "OOMKilled" });
    expect(podEndpoint("10.245.0.7", 8888)).toBe("http://10.245.0.7:8888");
    expect(podEndpoint("fd00::7", 8888)).toBe("http://[fd00::7]:8888");
  });
});

describe("a Binder build on Kubernetes (builder.backend: kubernetes)", () => {
  const buildPod = (rootless: boolean) =>
    buildPodManifest({
      name: "ganymede-build-0123",
      namespace: "builds",
      labels: { "app.kubernetes.io/name": "ganymede-build" },
      annotations: {},
      image: rootless ? "moby/buildkit:v0.35.0-rootless" : "moby/buildkit:v0.35.0",
      rootless,
      imagePullPolicy: "IfNotPresent",
      hostNetwork: false,
      configMap: "ganymede-buildkitd",
      memory: "4Gi",
      activeDeadlineSeconds: 3600,
      nodeSelector: {},
    });
  const listening = ["--config", "/etc/buildkit/buildkitd.toml", "--root", "/var/lib/buildkit", "--addr", "unix:///run/buildkit/buildkitd.sock"];

  it("is a pod running only buildkitd, as user 1000 in a user namespace of its own, without a token or a port, ended by its own deadline at the latest", () => {
    const pod = buildPod(true);
    const container = pod.spec!.containers[0]!;
    expect(container.command).toEqual(["rootlesskit", "buildkitd"]);
    expect(container.args).toEqual([...listening, "--oci-worker-no-process-sandbox"]);
    // buildctl dial-stdio, exec'd in the pod, finds buildkitd by the container's environment.
    expect(container.env).toEqual([
      { name: "BUILDKIT_HOST", value: "unix:///run/buildkit/buildkitd.sock" },
      { name: "XDG_RUNTIME_DIR", value: "/run/buildkit" },
    ]);
    expect(container.ports).toBeUndefined();
    expect(container.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      allowPrivilegeEscalation: true,
      seccompProfile: { type: "Unconfined" },
      appArmorProfile: { type: "Unconfined" },
    });
    expect(container.securityContext!.privileged).toBeUndefined();
    expect(container.resources).toEqual({ limits: { memory: "4Gi" } });
    expect(pod.spec).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false, activeDeadlineSeconds: 3600 });
    expect(pod.spec!.hostNetwork).toBeUndefined();
  });

  it("is privileged, buildkitd as the node's root, only when rootless is turned off", () => {
    const container = buildPod(false).spec!.containers[0]!;
    expect(container.command).toEqual(["buildkitd"]);
    expect(container.args).toEqual(listening);
    expect(container.securityContext).toEqual({ privileged: true });
  });

  it("tells BuildKit which registries speak plain HTTP, and builds with buildctl from the checkout, caching in the registry", () => {
    expect(buildkitConfig(["127.0.0.1:5000"])).toContain('[registry."127.0.0.1:5000"]\n  http = true\n  insecure = true');
    expect(buildkitConfig([])).not.toContain("registry");
    expect(
      buildctlArguments({
        address: "kube-pod://p?namespace=builds&container=buildkitd",
        contextDir: "/tmp/checkout",
        dockerfile: "binder/Dockerfile",
        image: "127.0.0.1:5000/b/repo:abc",
        cacheRef: "127.0.0.1:5000/b/repo:buildcache",
        plainHttp: true,
        buildArgs: { NB_UID: "1000" },
        labels: { "repo2docker.repo": "https://example.org/r" },
      }),
    ).toEqual([
      "--addr", "kube-pod://p?namespace=builds&container=buildkitd", "build", "--progress", "plain",
      "--frontend", "dockerfile.v0", "--local", "context=/tmp/checkout", "--local", "dockerfile=/tmp/checkout/binder",
      "--opt", "filename=Dockerfile", "--opt", "build-arg:NB_UID=1000", "--opt", "label:repo2docker.repo=https://example.org/r",
      "--output", "type=image,name=127.0.0.1:5000/b/repo:abc,push=true,registry.insecure=true",
      "--export-cache", "type=registry,ref=127.0.0.1:5000/b/repo:buildcache,mode=max,registry.insecure=true",
      "--import-cache", "type=registry,ref=127.0.0.1:5000/b/repo:buildcache,registry.insecure=true",
    ]);
  });

  it("is refused without an image with BuildKit", () => {
    const refused = configSchema.safeParse({
      spawner: { backend: "kubernetes", kubernetes: { image: "x:1" } },
      builder: { enabled: true, backend: "kubernetes", registry: { url: "http://127.0.0.1:5000" } },
    });
    expect(refused.error!.issues).toContainEqual(expect.objectContaining({ path: ["builder", "kubernetes", "image"] }));
  });
});

describe("the client library", () => {
  it("still reads the watch idle timeout the backend sets to detect stalled watches (not in its typings)", () => {
    expect(new Watch(new KubeConfig())).toHaveProperty("requestTimeoutMs", 30_000);
  });
});

describe("the backend registry in the configuration", () => {
  it("knows the three backends and checks the chosen one's section only", () => {
    expect(configSchema.parse({}).spawner.backend).toBe("local");
    const refused = configSchema.safeParse({ spawner: { backend: "kubernetes" } });
    expect(refused.success).toBe(false);
    expect(refused.error!.issues).toContainEqual(expect.objectContaining({ path: ["spawner", "kubernetes", "image"], message: "backend: kubernetes needs spawner.kubernetes.image (the image of servers)" }));
    const parsed = configSchema.parse({ spawner: { backend: "kubernetes", kubernetes: { image: "x:1" } } });
    expect(parsed.spawner.kubernetes).toMatchObject({ image: "x:1", namePrefix: "ganymede", uid: 1000, watchStallTimeout: 180_000 });
  });

  it("lets Binder launches run only on a backend that runs images, naming those that do", () => {
    const refused = configSchema.safeParse({ builder: { enabled: true, registry: { url: "http://127.0.0.1:5000" } } });
    expect(refused.error!.issues.map((i) => i.message)).toContain(
      "Binder launches run the images they build: set spawner.backend to docker or kubernetes (local servers cannot run images)",
    );
  });
});
