/**
 * Names, labels and annotations of a server's Kubernetes objects. The pod, its claim and its token's Secret share one
 * name, `<prefix>-<user>[--<server>]` (escaped like Docker's, object-names.ts), cut to 63 characters with a hash of
 * the whole when longer (a pod's name is also its hostname, a DNS label). Labels select (the hub's one watch, finding
 * servers again after a restart); they hold the names when those are valid label values, else a hash, and the exact
 * names are in annotations.
 */
import { createHash } from "node:crypto";
import { escapeName } from "../object-names.js";
import type { ServerIdentity } from "../types.js";

export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_INSTANCE = "app.kubernetes.io/instance";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABEL_USER = "ganymede.io/user";
export const LABEL_SERVER = "ganymede.io/server";
export const ANNOTATION_USER = "ganymede.io/user";
export const ANNOTATION_SERVER = "ganymede.io/server";

const MAX_NAME = 63;
const hash = (text: string, length: number): string => createHash("sha256").update(text).digest("hex").slice(0, length);

/** The name of the server's pod, claim and Secret. */
export function serverObjectName(prefix: string, identity: ServerIdentity): string {
  const server = identity.serverName ? `--${escapeName(identity.serverName)}` : "";
  const full = `${prefix}-${escapeName(identity.user)}${server}`;
  if (full.length <= MAX_NAME) return full;
  const suffix = hash(`${identity.user}\0${identity.serverName}`, 10);
  return `${full.slice(0, MAX_NAME - suffix.length - 1).replace(/-+$/, "")}-${suffix}`;
}

/** A label value for a hub name: the name itself when Kubernetes accepts it, else `h-` and a hash of it. */
export function labelValue(text: string): string {
  if (text === "" || (text.length <= MAX_NAME && /^[a-z0-9A-Z]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/.test(text))) return text;
  return `h-${hash(text, 20)}`;
}

/** The labels every object of this hub carries (its pods' watch selects on them). */
export function hubLabels(prefix: string): Record<string, string> {
  return { [LABEL_NAME]: "ganymede-server", [LABEL_INSTANCE]: prefix, [LABEL_MANAGED_BY]: "ganymede" };
}

export function hubSelector(prefix: string): string {
  return Object.entries(hubLabels(prefix))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export function serverLabels(prefix: string, identity: ServerIdentity): Record<string, string> {
  return {
    ...hubLabels(prefix),
    [LABEL_COMPONENT]: "singleuser-server",
    [LABEL_USER]: labelValue(identity.user),
    [LABEL_SERVER]: labelValue(identity.serverName),
  };
}

export function serverAnnotations(identity: ServerIdentity): Record<string, string> {
  return { [ANNOTATION_USER]: identity.user, [ANNOTATION_SERVER]: identity.serverName };
}

/** The server an object of this hub belongs to, from its annotations; undefined when it has none. */
export function identityOf(annotations: Record<string, string> | undefined): ServerIdentity | undefined {
  const user = annotations?.[ANNOTATION_USER];
  const serverName = annotations?.[ANNOTATION_SERVER];
  return user === undefined || serverName === undefined ? undefined : { user, serverName };
}
