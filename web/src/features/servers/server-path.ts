/** The API path of one of the user's servers: `""` is the default server. */
export function serverPath(user: string, server: string): string {
  const u = encodeURIComponent(user);
  return server ? `/users/${u}/servers/${encodeURIComponent(server)}` : `/users/${u}/server`;
}
