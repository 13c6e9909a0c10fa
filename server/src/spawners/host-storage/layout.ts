/**
 * Where one server's files live:
 *
 *   <rootDir>/<user>/<serverName | "_default">/     the hub's, mode 0711: the user may pass through, not look in
 *     volume.img     sparse ext4 image (loop storage only), 0600: a user who could write it could feed the kernel a
 *                    crafted filesystem at the next mount
 *     home/          the server's working directory and $HOME, the user's own (0700); the volume's mount point
 *     server.log     the server's stdout and stderr (appended; rotated once it grows large), 0600
 *     usage.json     storage usage measured just before the volume was last unmounted
 *     passwd, group  the sandbox's /etc/passwd and /etc/group (the machine's, plus the server's own account)
 *
 * Backends that keep servers' storage on the hub's machine share it (local processes, Docker with loop volumes).
 */
import path from "node:path";
import type { ServerIdentity } from "../types.js";

export interface ServerLayout {
  dir: string;
  workdir: string;
  image: string;
  log: string;
  usageFile: string;
  passwd: string;
  group: string;
}

/** Folder name of the default server (not a valid server name, so it cannot collide with one). */
export const DEFAULT_SERVER_DIR = "_default";

/** The folder-safe server name: "_default" for "". */
export function serverDirName(serverName: string): string {
  if (serverName === "") return DEFAULT_SERVER_DIR;
  if (!/^[a-z0-9-]+$/.test(serverName)) throw new Error(`invalid server name: ${JSON.stringify(serverName)}`);
  return serverName;
}

/**
 * User names are validated by policy already; this refuses anything that could escape `rootDir` anyway.
 * `.` is allowed inside names (e.g. "john.doe") but not as the whole name.
 */
export function checkUserName(user: string): string {
  if (user === "" || user === "." || user.includes("..") || user.includes("/") || user.includes("\0")) {
    throw new Error(`invalid user name for local storage: ${JSON.stringify(user)}`);
  }
  return user;
}

export function serverLayout(rootDir: string, identity: ServerIdentity): ServerLayout {
  const dir = path.join(rootDir, checkUserName(identity.user), serverDirName(identity.serverName));
  return {
    dir,
    workdir: path.join(dir, "home"),
    image: path.join(dir, "volume.img"),
    log: path.join(dir, "server.log"),
    usageFile: path.join(dir, "usage.json"),
    passwd: path.join(dir, "passwd"),
    group: path.join(dir, "group"),
  };
}
