/**
 * Where a user's server listens, as one string that fits a database column and a log line: `http://host:port` for a
 * TCP port (containers published on the host's loopback), or `http+unix://<percent-encoded socket path>` for a Unix
 * socket (local servers: a socket in a folder only the server's own uid may enter, so no other user on the machine
 * can connect to it). The `http+unix` form is the one jupyter-server prints and requests-unixsocket understands.
 */

export type EndpointAddress = { socketPath: string } | { host: string; port: number };

export function unixEndpoint(socketPath: string): string {
  return `http+unix://${encodeURIComponent(socketPath)}`;
}

/** The address to hand to node:http (`socketPath`, or `host` + `port`); throws on anything else. */
export function endpointAddress(endpoint: string): EndpointAddress {
  if (endpoint.startsWith("http+unix://")) {
    const socketPath = decodeURIComponent(endpoint.slice("http+unix://".length).replace(/\/$/, ""));
    if (!socketPath.startsWith("/")) throw new Error(`a Unix socket endpoint needs an absolute path: ${endpoint}`);
    return { socketPath };
  }
  const url = new URL(endpoint);
  if (url.protocol !== "http:") throw new Error(`unsupported endpoint protocol ${url.protocol} (http or http+unix only)`);
  // URL keeps IPv6 brackets in hostname; node's connect wants the bare address.
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port ? Number(url.port) : 80 };
}
