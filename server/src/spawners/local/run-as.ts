/**
 * Who a server runs as, decided at each start from the factory's Identities: the user's own uid (allocated on first
 * use), or the hub's own uid — refused when that would let two people's servers share one uid.
 */
import { readdirSync, readFileSync } from "node:fs";
import { SpawnError } from "../../errors.js";
import { accountNames, unixUserFor, type UnixUser } from "./unix-user.js";

/**
 * Who servers run as, decided once per factory:
 * - `own-uids`: the hub is root and gives each user their own uid (isolation: users);
 * - `hub-uid-one-user`: the hub is not root, so servers run as its uid, for one user only (isolation: users);
 * - `hub-uid`: every server runs as the hub's uid (isolation: none, never as root).
 */
export type Identities =
  | { kind: "own-uids"; uidFor(user: string): Promise<number> }
  | { kind: "hub-uid-one-user"; why: string }
  | { kind: "hub-uid" };

export interface RunAsInput {
  identities: Identities;
  /** The servers' root: one folder per user who has (or had) servers. */
  rootDir: string;
  /** Why server folders cannot be reached by server uids, if they cannot. */
  unreachable: string | undefined;
}

/** The user's own Unix identity, or undefined for the hub's own uid. */
export async function resolveRunAs(input: RunAsInput, hubUser: string): Promise<UnixUser | undefined> {
  const { identities } = input;
  if (identities.kind === "own-uids") {
    if (input.unreachable) {
      throw new SpawnError(
        "backend",
        `Server folders cannot be reached by the servers' own uids: ${input.unreachable}. An administrator can set hub.dataDir (or spawner.local.runDir) to a folder every user may pass through, e.g. /var/lib/ganymede.`,
      );
    }
    const uid = await identities.uidFor(hubUser);
    return unixUserFor(hubUser, uid, accountNames(readFileSync("/etc/passwd", "utf8")));
  }
  if (identities.kind === "hub-uid-one-user") {
    const others = readdirSync(input.rootDir).filter((u) => u !== hubUser && !u.startsWith("."));
    if (others.length) {
      throw new SpawnError(
        "backend",
        `Refused: ${identities.why}; every server would run as that one uid and could read the files of every other server. ` +
          `Servers already exist here for ${others.slice(0, 3).join(", ")}${others.length > 3 ? " and others" : ""}, so no other user may have one. ` +
          "An administrator can run the hub as root (one uid per user), or set spawner.local.isolation: none on a single person's machine.",
      );
    }
  }
  return undefined;
}

/** The hub's own account, for servers that run as the hub (isolation: none, or a hub that is not root). */
export function hubAccount(): UnixUser {
  const uid = process.getuid?.() ?? 0;
  return { uid, gid: process.getgid?.() ?? 0, name: process.env.USER || `u${uid}` };
}
