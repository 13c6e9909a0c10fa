/**
 * The launch specification: everything a server is started with, resolved once per start from the request (the
 * user's options, a Binder launch's origin) and the policy decision (the limits), stored on the server's row
 * (`Server.launch`) and handed unchanged to the backend as part of its SpawnContext. One shape from the API to the
 * backend, so what comes next (profiles, images per group) has one path to take.
 *
 * The environment follows JupyterHub's and BinderHub's, so notebooks written for them keep working:
 * JUPYTERHUB_USER, JUPYTERHUB_SERVER_NAME and JUPYTERHUB_SERVICE_PREFIX for every server; BINDER_REPO_URL,
 * BINDER_REQUEST, BINDER_PERSISTENT_REQUEST, BINDER_REF_URL and BINDER_LAUNCH_HOST for servers launched from a
 * repository (what repo2docker-built notebooks read to link back to their source).
 */
import { z } from "zod";
import { IMAGE_PULL_POLICIES, type ServerLimits, type SpawnContext } from "../spawners/types.js";
import { BINDER_STORAGE_DIR, type BinderOrigin } from "./types.js";
import type { OfferedEnvironment } from "../policy/index.js";

/** What of a backend's SpawnContext the launch decides (the rest is the server's identity and token). */
export type LaunchSpec = Pick<
  SpawnContext,
  "limits" | "image" | "imagePullPolicy" | "storageDir" | "env" | "userOptions" | "command" | "gpus" | "nodeSelector"
>;

export const launchSpecSchema: z.ZodType<LaunchSpec> = z.object({
  limits: z.object({ cpu: z.number(), memoryBytes: z.number(), storageBytes: z.number() }),
  /** For backends that run images: a Binder launch's build; absent, the backend's configured image. */
  image: z.string().optional(),
  /** With `image`: when the node pulls it; absent, the backend's configured policy. */
  imagePullPolicy: z.enum(IMAGE_PULL_POLICIES).optional(),
  /** Where storage is mounted when not the home folder (a Binder image keeps the repository in the home folder). */
  storageDir: z.string().optional(),
  /** The server's environment, added to what the backend's configuration sets. */
  env: z.record(z.string(), z.string()),
  /** The user options of the start request as they were given (JupyterHub's user_options). */
  userOptions: z.record(z.string(), z.unknown()),
  /** An environment's Jupyter command, GPUs and node labels. */
  command: z.array(z.string()).optional(),
  gpus: z.number().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
});

export interface LaunchRequest {
  user: string;
  serverName: string;
  /** The server's URL prefix: "/user/alice/" or "/user/alice/work/". */
  baseUrl: string;
  /** The user options of the request (the hub's own `binder` option included when there is one). */
  userOptions: Record<string, unknown>;
  origin?: BinderOrigin;
  limits: ServerLimits;
  /** The environment the policy chose for this start (its image, command, GPUs, node labels), if any is offered. */
  environment?: OfferedEnvironment | null;
  /** The hub's public URL with a trailing slash ("https://hub.example.org/"), for BINDER_LAUNCH_HOST. */
  publicUrl: string;
}

export function resolveLaunch(request: LaunchRequest): LaunchSpec {
  const env: Record<string, string> = {
    JUPYTERHUB_USER: request.user,
    JUPYTERHUB_SERVER_NAME: request.serverName,
    JUPYTERHUB_SERVICE_PREFIX: request.baseUrl,
  };
  const origin = request.origin;
  if (origin) Object.assign(env, binderEnvironment(origin, request.publicUrl));
  return {
    limits: { cpu: request.limits.cpu, memoryBytes: request.limits.memoryBytes, storageBytes: request.limits.storageBytes },
    ...environmentLaunch(request.environment),
    // A Binder image is named by its commit: what a node already has under that name is it, even where the
    // configured image (a moving tag) is pulled at every start. It replaces an environment's image.
    ...(origin ? { image: origin.image, imagePullPolicy: "IfNotPresent" as const, storageDir: BINDER_STORAGE_DIR } : {}),
    env,
    userOptions: request.userOptions,
  };
}

/** What an environment adds to a launch: only the fields it sets. */
function environmentLaunch(environment: OfferedEnvironment | null | undefined): Partial<LaunchSpec> {
  if (!environment) return {};
  return {
    ...(environment.image ? { image: environment.image } : {}),
    ...(environment.command ? { command: [...environment.command] } : {}),
    ...(environment.gpus ? { gpus: environment.gpus } : {}),
    ...(environment.nodeSelector ? { nodeSelector: { ...environment.nodeSelector } } : {}),
  };
}

/** BinderHub's variables: the repository, the launch request as given and pinned to its commit, and the hub. */
function binderEnvironment(origin: BinderOrigin, publicUrl: string): Record<string, string> {
  const slash = origin.spec.lastIndexOf("/");
  const pinned = `${origin.spec.slice(0, slash)}/${origin.commit}`;
  return {
    BINDER_REPO_URL: origin.repoUrl,
    BINDER_REQUEST: `v2/${origin.spec}`,
    BINDER_PERSISTENT_REQUEST: `v2/${pinned}`,
    BINDER_REF_URL: refUrl(origin.repoUrl, origin.commit),
    BINDER_LAUNCH_HOST: publicUrl,
  };
}

/** A link to the commit on the hosts that have commit pages (GitHub, GitLab and their kin); else the repository. */
function refUrl(repoUrl: string, commit: string): string {
  const base = repoUrl.replace(/\.git$/, "").replace(/\/+$/, "");
  if (/^https:\/\/github\.com\//.test(base)) return `${base}/tree/${commit}`;
  if (/^https:\/\/gist\.github\.com\//.test(base)) return `${base}/${commit}`;
  if (/^https:\/\/gitlab\./.test(base)) return `${base}/-/tree/${commit}`;
  return repoUrl;
}
