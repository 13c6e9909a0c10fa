/**
 * The Helm chart's values (charts/ganymede/values.yaml) as a schema: `hub.config` is the hub's own configuration
 * schema and each of `policies.files` a policy file's, the rest is the chart's own. scripts/chart-schema.ts turns it
 * into the chart's values.schema.json and README table; the tests check the chart's defaults and examples with it,
 * the hub's cross-field rules included (JSON Schema cannot say those).
 */
import { z } from "zod";
import { configSchema } from "../src/config/schema.js";
import { policyFileSchema } from "../src/policy/schema.js";

/** A Kubernetes object of the chart's rendered output, in Kubernetes' own form (kubeconform checks it rendered). */
const k8s = (what: string) => z.record(z.string(), z.unknown()).describe(`${what} (Kubernetes' own form).`);
const k8sList = (what: string) => z.array(z.record(z.string(), z.unknown())).describe(`${what} (Kubernetes' own form).`);
const strings = z.record(z.string(), z.string());

const image = (what: string) =>
  z
    .object({
      repository: z.string().min(1).describe(`The ${what} image's repository.`),
      tag: z.string().describe("Its tag (default: the chart's appVersion)."),
      pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).describe("When nodes pull it."),
    })
    .strict();

const egressAllowRules = z
  .object({
    cloudMetadataServer: z.boolean().describe("The cloud metadata address 169.254.169.254 (the node's cloud credentials)."),
    dnsPortsKubeSystemNamespace: z.boolean().describe("DNS (port 53) on pods in kube-system (the cluster's DNS)."),
    dnsPortsPrivateIPs: z.boolean().describe("DNS (port 53) on private addresses (a node-local cache, a site's resolver)."),
    nonPrivateIPs: z.boolean().describe("Public addresses, any port (pip, conda, git)."),
    privateIPs: z.boolean().describe("Private addresses (10/8, 172.16/12, 192.168/16): the cluster's pods and services, the site's network."),
  })
  .strict()
  .describe("What the pods may reach, as zero-to-jupyterhub's switches.");

export const chartValuesSchema = z
  .object({
    global: z.record(z.string(), z.unknown()).optional().describe("Helm's values shared with subcharts (none here)."),
    nameOverride: z.string().describe("Replaces the chart's name in object names."),
    fullnameOverride: z.string().describe("Replaces the whole prefix of object names (default: <release>-ganymede)."),
    hub: z
      .object({
        image: image("hub"),
        imagePullSecrets: z.array(z.string()).describe("Secrets with credentials for private registries (names)."),
        config: configSchema.describe("The hub's own configuration (ganymede.yaml, README \"Configuration\"), merged over what the chart sets (where it listens, its folders, the Kubernetes backends in the release's namespace). Secrets go in `secrets`."),
        database: z.enum(["sqlite", "postgresql"]).describe("`sqlite`: a file on the hub's claim; `postgresql`: the URL in secrets.databaseUrl."),
        replicas: z
          .number()
          .int()
          .min(1)
          .describe("Hub pods: each answers any request and proxies any server; background work has one owner. More than one needs database: postgresql; they are then replaced one at a time (RollingUpdate)."),
        persistence: z
          .object({
            size: z.string().describe("The size of the hub's claim (the SQLite file, the generated secret key, the first administrator's password)."),
            storageClassName: z.string().describe("Its StorageClass (default: the cluster's default)."),
            accessModes: z.array(z.string()).describe("Its access modes."),
          })
          .strict()
          .describe("The hub's claim, with database: sqlite."),
        resources: k8s("The hub container's requests and limits"),
        nodeSelector: strings.describe("Node labels the hub's pod must match."),
        tolerations: k8sList("The hub pod's tolerations"),
        affinity: k8s("The hub pod's affinity"),
        priorityClassName: z.string().describe("The hub pod's PriorityClass."),
        podAnnotations: strings.describe("More annotations of the hub's pod."),
        podLabels: strings.describe("More labels of the hub's pod."),
        extraEnv: k8sList("More environment variables of the hub; GANYMEDE_<SECTION>__<KEY> overrides a configuration key"),
        service: z
          .object({
            type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).describe("The hub Service's type."),
            port: z.number().int().min(1).max(65535).describe("Its port."),
            annotations: strings.describe("Its annotations."),
          })
          .strict(),
        serviceAccount: z
          .object({
            create: z.boolean().describe("Make the hub's ServiceAccount, with a Role holding exactly what the backends do."),
            name: z.string().describe("Its name (default: the hub's); with create: false, an existing account with those rights."),
            annotations: strings.describe("Its annotations."),
          })
          .strict(),
        pdb: z
          .object({
            enabled: z.boolean().describe("A PodDisruptionBudget for the hub's pod."),
            maxUnavailable: z.number().int().min(0).describe("Hub pods a voluntary disruption may take."),
          })
          .strict(),
        networkPolicy: z
          .object({
            enabled: z.boolean().describe("A NetworkPolicy for the hub's pod: reached on its port only."),
            ingress: k8sList("Ingress rules replacing \"anyone, on the hub's port\""),
          })
          .strict(),
        configCheck: z
          .object({
            enabled: z
              .boolean()
              .describe("Before every install and upgrade, a Job runs `ganymede config check` on the new configuration and policies: what the hub would refuse fails `helm install`/`upgrade` with the hub's own message, before the running hub is touched."),
          })
          .strict(),
      })
      .strict(),
    policies: z
      .object({
        files: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/), policyFileSchema).describe("Policy files by name (`<name>.yaml`, README \"Policies\"); edits reach the running hub without a restart."),
        existingConfigMap: z.string().describe("A ConfigMap of your own with the policy files instead of `files`."),
      })
      .strict(),
    secrets: z
      .object({
        existingSecret: z.string().describe("A Secret of your own with the keys below instead of the chart's: secret-key (required), database-url, ldap-bind-password, registry-password, oidc-<provider name>. Mounted at /etc/ganymede/secrets."),
        secretKey: z.string().regex(/^([0-9a-f]{64})?$/).describe("The hub's secret key, 64 hex characters (`openssl rand -hex 32`); generated at install and kept across upgrades when empty."),
        databaseUrl: z.string().regex(/^(postgres(ql)?:\/\/.+)?$/).describe("postgresql://user:password@host:5432/db, with hub.database: postgresql."),
        ldapBindPassword: z.string().describe("The LDAP service account's password: the file /etc/ganymede/secrets/ldap-bind-password, which hub.config.auth.ldap.bindPasswordFile names."),
        registryPassword: z.string().describe("The registry's password, given to the hub when hub.config.builder.registry has a username."),
        oidcClientSecrets: strings.describe("Client secrets of the OpenID Connect providers by name: the files /etc/ganymede/secrets/oidc-<name>, which each provider's clientSecretFile names."),
      })
      .strict(),
    singleuser: z
      .object({
        networkPolicy: z
          .object({
            enabled: z.boolean().describe("Servers accept connections from the hub only, and reach out as egressAllowRules say."),
            egressAllowRules,
            egress: k8sList("More egress rules of servers, e.g. a site's package mirror"),
            ingress: k8sList("More ingress rules of servers"),
          })
          .strict(),
      })
      .strict(),
    builder: z
      .object({
        networkPolicy: z
          .object({
            enabled: z.boolean().describe("Build pods accept no connection (buildctl reaches BuildKit through the API server) and reach out as egressAllowRules say."),
            egressAllowRules,
            egress: k8sList("More egress rules of build pods, e.g. the registry's address"),
          })
          .strict(),
      })
      .strict(),
    ingress: z
      .object({
        enabled: z.boolean().describe("An Ingress to the hub's Service."),
        ingressClassName: z.string().describe("Its IngressClass."),
        annotations: strings.describe("Its annotations."),
        hosts: z.array(z.string()).describe("Its host names; the first makes the hub's public URL unless hub.config.hub.publicUrl is set."),
        tls: k8sList("Its TLS sections"),
      })
      .strict(),
    prePuller: z
      .object({
        enabled: z.boolean().describe("Pull the servers' image on every node ahead of the first start (a DaemonSet)."),
        extraImages: z.array(z.string()).describe("More images to pull."),
        pause: z.object({ image: z.string().describe("What the puller's pods run once the pulls are done.") }).strict(),
      })
      .strict(),
  })
  .strict()
  .superRefine((values, ctx) => {
    // Replicas share routes, leases and work through the database: a SQLite file on one pod's claim cannot be shared.
    if (values.hub.replicas > 1 && values.hub.database !== "postgresql") {
      ctx.addIssue({ code: "custom", path: ["hub", "replicas"], message: "more than one hub replica needs hub.database: postgresql" });
    }
  });
