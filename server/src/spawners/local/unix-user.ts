/**
 * Who a local server runs as: the hub user's own uid and a gid of the same number, no supplementary groups, and a
 * name for the environment and the sandbox's /etc/passwd. Hub names are not always valid Unix names ("7of9",
 * names longer than 32 characters), nor free ("root", "daemon"): those get `u<uid>` instead, which is only a label,
 * since the uid is what the kernel checks.
 */

export interface UnixUser {
  uid: number;
  gid: number;
  /** The login name inside the server (USER, LOGNAME, /etc/passwd). */
  name: string;
}

/** Portable user names: a letter or underscore first, then letters, digits, '.', '_' or '-'; at most 32 characters. */
const UNIX_NAME = /^[a-z_][a-z0-9._-]{0,31}$/;

/** The account names of a passwd file's lines. */
export function accountNames(passwd: string): Set<string> {
  return new Set(passwd.split("\n").map((l) => l.split(":")[0] ?? "").filter(Boolean));
}

export function unixUserFor(hubName: string, uid: number, machineAccounts: ReadonlySet<string>): UnixUser {
  const name = UNIX_NAME.test(hubName) && !machineAccounts.has(hubName) ? hubName : `u${uid}`;
  return { uid, gid: uid, name };
}

/** The machine's passwd with the server's own account added (the sandbox binds it over /etc/passwd). */
export function passwdWith(machinePasswd: string, user: UnixUser, home: string, shell: string): string {
  const base = machinePasswd.endsWith("\n") || machinePasswd === "" ? machinePasswd : machinePasswd + "\n";
  return `${base}${user.name}:x:${user.uid}:${user.gid}:Ganymede user:${home}:${shell}\n`;
}

/** The machine's group file with the server's own group added. */
export function groupWith(machineGroup: string, user: UnixUser): string {
  const base = machineGroup.endsWith("\n") || machineGroup === "" ? machineGroup : machineGroup + "\n";
  return `${base}${user.name}:x:${user.gid}:\n`;
}
