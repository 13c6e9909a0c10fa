/**
 * The Helm chart (charts/ganymede) installed with helm on the real test cluster, with the default SQLite database on
 * the hub's claim, the hub's and the servers' images built by the project's own script from its own Dockerfiles: the
 * hub pod becomes ready and answers through its Service (kube-proxy's cluster IP); the image pre-puller runs the
 * servers' image on the node; `helm test` passes; the first administrator signs in with the password the hub wrote on
 * its claim; a named server of the chart's default image, started through the Service, runs a kernel through the
 * hub's proxy; `helm upgrade` with a changed policy changes the limit the hub explains without restarting it; an
 * upgrade the hub would refuse (a configuration, a policy set) fails with the hub's own words before the running hub
 * is touched; an upgrade that restarts the hub (to sign people in against the test slapd, its service account's
 * password in the chart's Secret) keeps the server running, and a directory user signs in; the network policies
 * exist; `helm uninstall` removes everything the chart made and keeps users' claims.
 *
 * chart-postgresql.test.ts installs the chart on PostgreSQL, with policies from a ConfigMap of the operator's, and
 * proves the network policies enforced.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { AppsV1Api, BatchV1Api, NetworkingV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { clusterHubImage, clusterSingleuserImage } from "../support/chart-images.js";
import { loginError, makeDataDir, readEvents, request, signInThroughForm, waitFor } from "../support/hub.js";
import { execute, startKernel } from "../support/kernel.js";
import { clusterClient, testNamespace, type TestNamespace } from "../support/kubernetes.js";
import { helmIn } from "../support/helm.js";
import { repoRoot } from "../support/paths.js";
import { startSlapd, type SlapdServer } from "../support/slapd.js";

const release = `t${randomBytes(2).toString("hex")}`;
const hubName = `${release}-ganymede-hub`;
let namespace: TestNamespace;
let valuesFile: string;
let values: Record<string, unknown>;
let base: string;
let adminToken: string;
let slapd: SlapdServer | undefined;

const helm = (...args: string[]) => helmIn(namespace.name).helm(...args);
const kubectl = (...args: string[]) => helmIn(namespace.name).kubectl(...args);

/** Small servers, so that the hub and a server fit on the test node's two cores. */
const policy = (namedServers: number) => ({
  name: "default",
  appliesTo: { default: true },
  limits: { namedServers, serverNameMaxLength: 20, idleTimeout: "2h", storage: "64MiB", cpu: 0.1, memory: "256MiB", concurrentBuilds: 1, buildTimeout: "10m" },
});

async function install(command: "install" | "upgrade", changes: (v: Record<string, unknown>) => void = () => {}) {
  changes(values);
  writeFileSync(valuesFile, YAML.stringify(values));
  await helmIn(namespace.name).release(command, release, valuesFile);
}

const hubPod = async () => {
  const pods = (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: `app.kubernetes.io/name=ganymede-hub,app.kubernetes.io/instance=${release}` })).items;
  return pods.filter((p) => !p.metadata?.deletionTimestamp);
};

beforeAll(async () => {
  namespace = await testNamespace();
  const [hubImage, serverImage] = await Promise.all([clusterHubImage(), clusterSingleuserImage()]);
  const [repository, tag] = hubImage.split(":");
  valuesFile = path.join(makeDataDir(), "values.yaml");
  values = {
    hub: {
      image: { repository, tag, pullPolicy: "Never" },
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
      persistence: { size: "64Mi" },
      config: {
        // The chart's default command (`jupyter lab`) in the chart's default image, built here.
        spawner: { startTimeout: "120s", kubernetes: { image: serverImage, imagePullPolicy: "Never" } },
      },
    },
    policies: { files: { default: policy(5) } },
    prePuller: { enabled: true },
  };
  await install("install");
  const service = await namespace.core.readNamespacedService({ name: hubName, namespace: namespace.name });
  // Port 80 goes unsaid, as a browser's Origin says it (the hub compares origins as sent).
  base = `http://${service.spec!.clusterIP}`;
}, 1_200_000);

afterAll(async () => {
  await helm("uninstall", release, "--wait").catch(() => undefined);
  await namespace?.remove();
  await slapd?.stop();
});

describe("the Helm chart on a real cluster", () => {
  it("installs a hub that becomes ready, answers through its Service, and passes helm test", async () => {
    const [pod] = await hubPod();
    expect(pod!.status!.containerStatuses![0]!.ready).toBe(true);
    expect(pod!.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod!.spec!.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const info = await request(base, "GET", "/hub/api/");
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ version: expect.any(String) });
    const { stdout } = await helm("test", release, "--logs");
    expect(stdout).toMatch(/Phase:\s+Succeeded/);
    expect(stdout).toMatch(/JupyterHub API \d/);
  });

  it("pre-pulls the servers' image on the node: the puller's pod ran it and idles", async () => {
    const { kc } = clusterClient();
    const puller = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: `${release}-ganymede-image-puller`, namespace: namespace.name });
    expect(puller.status).toMatchObject({ desiredNumberScheduled: 1, numberReady: 1 });
    const [pod] = (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: `app.kubernetes.io/name=ganymede-image-puller,app.kubernetes.io/instance=${release}` })).items;
    const serverImage = ((values.hub as { config: { spawner: { kubernetes: { image: string } } } }).config.spawner.kubernetes.image);
    expect(pod!.spec!.initContainers!.map((c) => c.image)).toEqual([serverImage]);
    expect(pod!.status!.initContainerStatuses![0]!.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
  });

  it("signs in the first administrator, and starts a named server through the Service that runs a kernel through the hub's proxy", async () => {
    const password = (await kubectl("exec", `deploy/${hubName}`, "--", "cat", "/srv/ganymede/data/initial-admin-password")).stdout.trim();
    const signIn = await signInThroughForm(base, "admin", password);
    expect(signIn.status).toBe(303);
    expect(signIn.headers.getSetCookie().some((c) => c.startsWith("ganymede-session="))).toBe(true);

    // An API token for the rest, from the hub's own CLI in its pod (the same database, the same configuration).
    adminToken = (await kubectl("exec", `deploy/${hubName}`, "--", "node", "/app/server/dist/cli.js", "token", "create", "--user", "admin")).stdout.trim().split("\n").at(-1)!;
    expect((await request(base, "POST", "users/alice", { token: adminToken })).status).toBe(201);
    expect((await request(base, "POST", "users/alice/servers/lab", { token: adminToken })).status).toBeOneOf([201, 202]);
    const events = await readEvents(base, "/hub/api/users/alice/servers/lab/progress", adminToken, 180_000);
    expect(events.at(-1), JSON.stringify(events)).toMatchObject({ ready: true, url: "/user/alice/lab/" });

    const target = { serverUrl: `${base}/user/alice/lab/`, headers: { authorization: `token ${adminToken}` } };
    const kernel = await startKernel(target);
    expect(await execute(target, kernel, "print(6 * 7)")).toContain("42");
  }, 240_000);

  it("applies a changed policy from helm upgrade without restarting the hub", async () => {
    const explained = async () => ((await request(base, "GET", "users/alice/policy", { token: adminToken })).body as { limits: Array<{ limit: string; raw: unknown }> }).limits;
    expect(await explained()).toEqual(expect.arrayContaining([expect.objectContaining({ limit: "namedServers", raw: 5 })]));
    const [before] = await hubPod();
    await install("upgrade", (v) => ((v.policies as { files: Record<string, unknown> }).files.default = policy(3)));
    await waitFor(async () => (await explained()).some((l) => l.limit === "namedServers" && l.raw === 3), 150_000, 1000);
    const [after] = await hubPod();
    expect(after!.metadata!.uid).toBe(before!.metadata!.uid);
    expect(after!.status!.containerStatuses![0]!.restartCount).toBe(0);
    // The kubelet refreshes a mounted ConfigMap on its periodic sync of the pod: up to a minute and a half.
  }, 240_000);

  it("refuses an upgrade the hub would refuse, with the hub's own words, before the running hub is touched", async () => {
    const [before] = await hubPod();
    const refused = async (changes: (v: Record<string, unknown>) => void) => {
      const broken = structuredClone(values);
      changes(broken);
      const file = path.join(path.dirname(valuesFile), "refused.yaml");
      writeFileSync(file, YAML.stringify(broken));
      const failure = await helm("upgrade", release, path.join(repoRoot, "charts/ganymede"), "-f", file, "--wait", "--timeout", "2m").then(
        () => undefined,
        (err: { stdout: string; stderr: string }) => `${err.stdout}\n${err.stderr}`,
      );
      expect(failure, "the upgrade went through").toBeDefined();
      return failure!;
    };
    // A rule across keys, which the values' schema cannot say: LDAP sign-in without a directory.
    const ldapWithoutDirectory = await refused((v) => ((v.hub as { config: Record<string, unknown> }).config.auth = { backend: "ldap" }));
    expect(ldapWithoutDirectory).toMatch(/pre-upgrade hooks failed/);
    expect(ldapWithoutDirectory).toMatch(/auth\.ldap: backend: ldap needs an `ldap` section/);
    // A rule across policy files: two default policies, each valid alone.
    const twoDefaults = await refused((v) => ((v.policies as { files: Record<string, unknown> }).files.other = { ...policy(2), name: "other" }));
    expect(twoDefaults).toMatch(/appliesTo\.default: .*are all default policies; exactly one may be/);

    // The hub is the same pod, never restarted, with the same limits; the check's objects are gone.
    const [after] = await hubPod();
    expect(after!.metadata!.uid).toBe(before!.metadata!.uid);
    expect(after!.status!.containerStatuses![0]!.restartCount).toBe(0);
    const limits = ((await request(base, "GET", "users/alice/policy", { token: adminToken })).body as { limits: Array<{ limit: string; raw: unknown }> }).limits;
    expect(limits).toEqual(expect.arrayContaining([expect.objectContaining({ limit: "namedServers", raw: 3 })]));
    const { kc } = clusterClient();
    const jobs = (await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: namespace.name })).items;
    expect(jobs.map((j) => j.metadata!.name)).toEqual([]);
    // The release stays usable: the next good upgrade (below) goes through.

    // And at `helm install`: a second release refused the same way makes nothing but Helm's record of the attempt.
    const second = `${release}x`;
    const broken = structuredClone(values);
    (broken.hub as { config: Record<string, unknown> }).config.auth = { backend: "ldap" };
    const file = path.join(path.dirname(valuesFile), "refused-install.yaml");
    writeFileSync(file, YAML.stringify(broken));
    const install = await helm("install", second, path.join(repoRoot, "charts/ganymede"), "-f", file, "--wait", "--timeout", "2m").then(
      () => "installed",
      (err: { stdout: string; stderr: string }) => `${err.stdout}\n${err.stderr}`,
    );
    expect(install).toMatch(/INSTALLATION FAILED: failed pre-install: .*config-check/);
    expect(install).toMatch(/auth\.ldap: backend: ldap needs an `ldap` section/);
    const made = [
      ...(await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: `app.kubernetes.io/instance=${second}` })).items,
      ...(await namespace.core.listNamespacedConfigMap({ namespace: namespace.name, labelSelector: `app.kubernetes.io/instance=${second}` })).items,
      ...(await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: namespace.name, labelSelector: `app.kubernetes.io/instance=${second}` })).items,
    ];
    expect(made.map((o) => o.metadata!.name)).toEqual([]);
    await helm("uninstall", second);
  }, 300_000);

  it("keeps the running server through an upgrade that restarts the hub, here to sign people in with LDAP", async () => {
    // The test directory, where the hub's pod reaches this machine: the address the API server is advertised at.
    const endpoints = await namespace.core.readNamespacedEndpoints({ name: "kubernetes", namespace: "default" });
    slapd = await startSlapd({ host: endpoints.subsets![0]!.addresses![0]!.ip });
    const serverPod = async () => (await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: "ganymede.io/user=alice" })).items[0];
    const [before, server] = [(await hubPod())[0]!, await serverPod()];
    const directory = slapd;
    await install("upgrade", (v) => {
      (v.hub as { config: Record<string, unknown> }).config.auth = {
        backend: "ldap",
        ldap: {
          url: directory.url,
          bindDn: directory.bindDn,
          bindPasswordFile: "/etc/ganymede/secrets/ldap-bind-password",
          searchBase: `ou=people,${directory.baseDn}`,
          searchFilter: "(uid={{username}})",
        },
      };
      v.secrets = { ldapBindPassword: directory.bindPassword };
    });
    const [after] = await hubPod();
    expect(after!.metadata!.uid).not.toBe(before.metadata!.uid);
    expect((await serverPod())!.metadata!.uid).toBe(server!.metadata!.uid);
    const user = (await request(base, "GET", "users/alice", { token: adminToken })).body as { servers: Record<string, { ready: boolean }> };
    expect(user.servers.lab).toMatchObject({ ready: true });
    expect((await request(base, "GET", "/user/alice/lab/api/status", { token: adminToken })).status).toBe(200);

    // alice of the directory signs in with her directory password, through the hub's Service.
    const signIn = await signInThroughForm(base, "alice", "alice-secret");
    expect(signIn.status, loginError(signIn)).toBe(303);
    expect(signIn.headers.getSetCookie().some((c) => c.startsWith("ganymede-session="))).toBe(true);
    expect((await signInThroughForm(base, "alice", "wrong")).status).toBe(403);
  }, 360_000);

  it("makes the network policies for the hub and the servers (chart-postgresql.test.ts proves them enforced)", async () => {
    const { kc } = clusterClient();
    const policies = (await kc.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: namespace.name })).items;
    const byName = Object.fromEntries(policies.map((p) => [p.metadata!.name!, p.spec!]));
    expect(Object.keys(byName).sort()).toEqual([`${release}-ganymede-hub`, `${release}-ganymede-singleuser`]);
    const servers = byName[`${release}-ganymede-singleuser`]!;
    expect(servers.podSelector?.matchLabels).toMatchObject({ "app.kubernetes.io/name": "ganymede-server" });
    expect(servers.ingress).toHaveLength(1);
    // The client names `from` (a reserved word in its generator's languages) `_from`.
    expect(servers.ingress![0]).toMatchObject({ _from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "ganymede-hub", "app.kubernetes.io/instance": release } } }], ports: [{ port: 8888 }] });
    expect(JSON.stringify(servers.egress)).toContain('"except":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","169.254.169.254/32"]');
  });

  it("uninstalls everything the chart made, and keeps users' claims", async () => {
    expect((await request(base, "DELETE", "users/alice/servers/lab", { token: adminToken })).status).toBeOneOf([202, 204]);
    await waitFor(async () => !((await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: "ganymede.io/user=alice" })).items.length), 60_000, 500);
    await helm("uninstall", release, "--wait");
    const selector = `app.kubernetes.io/instance=${release}`;
    const { kc } = clusterClient();
    const left = [
      ...(await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await kc.makeApiClient(AppsV1Api).listNamespacedDaemonSet({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await namespace.core.listNamespacedService({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await namespace.core.listNamespacedConfigMap({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await namespace.core.listNamespacedSecret({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await namespace.core.listNamespacedServiceAccount({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await namespace.core.listNamespacedPod({ namespace: namespace.name, labelSelector: selector })).items,
      ...(await kc.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: namespace.name, labelSelector: selector })).items,
    ].map((o) => `${o.kind ?? ""} ${o.metadata!.name}`);
    expect(left).toEqual([]);
    const claims = (await namespace.core.listNamespacedPersistentVolumeClaim({ namespace: namespace.name })).items.map((c) => c.metadata!.name);
    expect(claims).toEqual([expect.stringMatching(/alice--lab$/)]);
  }, 240_000);
});
