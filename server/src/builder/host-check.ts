/**
 * Refuses repository hosts that are, or resolve to, non-public addresses when the site forbids private hosts, so a
 * launch link cannot make the builder fetch from the hub's own machine, its cluster network or a cloud metadata
 * service. Every address a name resolves to must be public: one private answer is enough to refuse.
 *
 * This narrows but cannot close a DNS-rebinding gap (git resolves the name again later); resolve-ref.ts therefore
 * also turns off HTTP redirects when private hosts are forbidden, and a deployment should still deny the builder's
 * egress to private ranges at the network level.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { SpecError } from "./errors.js";
import { nonPublicReason } from "./addresses.js";

/** Resolves a host name to its addresses (IPv4 and IPv6). Injected so tests need no DNS. */
export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveWithDns: ResolveHost = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** `[::1]` → `::1`: URL.hostname keeps the brackets of an IPv6 literal. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, "$1");
}

export interface HostCheckOptions {
  allowPrivateHosts: boolean;
  resolveHost?: ResolveHost;
}

/** Resolves when the URL's host may be fetched from; throws SpecError("private_host" | "host_unresolved"). */
export async function checkRepoHost(url: URL, options: HostCheckOptions): Promise<void> {
  if (options.allowPrivateHosts) return;
  const host = bareHost(url.hostname);
  const refuse = (address: string, reason: string) => {
    const what = address === host ? `Repository host ${host} is` : `Repository host ${host} resolves to ${address}, which is`;
    return new SpecError("private_host", `${what} not a public address (${reason}); this site only builds from public hosts`);
  };
  if (isIP(host)) {
    const reason = nonPublicReason(host);
    if (reason) throw refuse(host, reason);
    return;
  }
  let addresses: string[];
  try {
    addresses = await (options.resolveHost ?? resolveWithDns)(host);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new SpecError("host_unresolved", `Repository host ${host} could not be resolved${code ? ` (${code})` : ""}`);
  }
  if (addresses.length === 0) throw new SpecError("host_unresolved", `Repository host ${host} has no addresses`);
  for (const address of addresses) {
    const reason = nonPublicReason(address);
    if (reason) throw refuse(address, reason);
  }
}
