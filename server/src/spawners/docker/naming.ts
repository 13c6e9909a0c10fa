/**
 * Names and labels of a server's Docker objects. Container and volume names share one form,
 * `<prefix>-<user>` for the default server and `<prefix>-<user>--<server>` for a named one, after DockerSpawner.
 * Names are escaped (object-names.ts) so that every hub username maps to a valid, distinct Docker name; an escaped
 * text never contains `--`, so the separator is unambiguous.
 */
import { escapeName } from "../object-names.js";
import type { ServerIdentity } from "../types.js";

/** Labels on every container and volume: which hub owns it, and for which server (raw, unescaped names). */
export const LABEL_HUB = "ganymede.hub";
export const LABEL_USER = "ganymede.user";
export const LABEL_SERVER = "ganymede.server";

/** A name prefix Docker accepts and that cannot end in the separator. */
export const NAME_PREFIX = /^[a-z0-9][a-z0-9.-]*[a-z0-9]$|^[a-z0-9]$/;

/** The container's and the volume's name. */
export function objectName(prefix: string, identity: ServerIdentity): string {
  const server = identity.serverName ? `--${escapeName(identity.serverName)}` : "";
  return `${prefix}-${escapeName(identity.user)}${server}`;
}

export function objectLabels(prefix: string, identity: ServerIdentity): Record<string, string> {
  return { [LABEL_HUB]: prefix, [LABEL_USER]: identity.user, [LABEL_SERVER]: identity.serverName };
}

/** Whether a container or volume found under our name carries this hub's and this server's labels. */
export function isOurs(labels: Record<string, string> | null | undefined, prefix: string, identity: ServerIdentity): boolean {
  return (
    labels?.[LABEL_HUB] === prefix && labels[LABEL_USER] === identity.user && labels[LABEL_SERVER] === identity.serverName
  );
}
