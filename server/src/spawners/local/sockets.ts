/**
 * Where a local server's Jupyter listens: `<runRoot>/<12 hex digits>/jupyter.sock`, in a folder that is the user's
 * own (0700) and emptied at every start, with the kernels' sockets beside it. The folder sits apart from the server's
 * files under a short hashed name because a Unix socket path may not exceed 107 bytes.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { ServerIdentity } from "../types.js";

/** The longest path a Unix socket can have (sun_path is 108 bytes with its terminating NUL). */
export const MAX_SOCKET_PATH = 107;
/** Jupyter's socket, in the server's socket folder. */
export const SOCKET_NAME = "jupyter.sock";
/** The longest name a kernel's socket gets in that folder ("kernel-<uuid>-ipc-5"). */
export const KERNEL_SOCKET_NAME_LENGTH = "kernel-00000000-0000-0000-0000-000000000000-ipc-5".length;

/** A server's socket folder: `<runRoot>/<first 12 hex digits of sha256(user NUL server)>`. */
export function socketDirFor(runRoot: string, identity: ServerIdentity): string {
  const hash = createHash("sha256").update(`${identity.user}\0${identity.serverName}`).digest("hex").slice(0, 12);
  return path.join(runRoot, hash);
}

/** Why a socket folder under `runRoot` would be too deep for Unix sockets (Jupyter's and, unsandboxed, kernels'). */
export function socketPathProblem(runRoot: string, longestName: number): string | undefined {
  const longest = path.join(runRoot, "000000000000", "x".repeat(longestName)).length;
  if (longest <= MAX_SOCKET_PATH) return undefined;
  return `socket paths under ${runRoot} would be ${longest} bytes, more than the ${MAX_SOCKET_PATH} a Unix socket allows: set spawner.local.runDir to a shorter path (e.g. /run/ganymede)`;
}
