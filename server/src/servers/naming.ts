/** How servers are named in keys, URLs and messages. The default server's name is "". */

export const serverKey = (user: string, serverName: string) => `${user}/${serverName}`;

export function splitKey(key: string): [user: string, serverName: string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** The public URL prefix of a server, with its trailing slash: /user/alice/ or /user/alice/work/. */
export function serverBaseUrl(user: string, serverName: string): string {
  return `/user/${encodeURIComponent(user)}/${serverName ? `${encodeURIComponent(serverName)}/` : ""}`;
}

export function progressUrl(user: string, serverName: string): string {
  const u = encodeURIComponent(user);
  return serverName
    ? `/hub/api/users/${u}/servers/${encodeURIComponent(serverName)}/progress`
    : `/hub/api/users/${u}/server/progress`;
}

/** "alice's server 'work'" / "alice's default server", for messages people read. */
export function describeServer(user: string, serverName: string): string {
  return serverName ? `${user}'s server '${serverName}'` : `${user}'s default server`;
}
