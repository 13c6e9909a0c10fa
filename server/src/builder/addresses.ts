/**
 * Which IP addresses count as "private" for the builder: anything that is not a public unicast address, since a
 * repository URL pointing there makes the hub (and git) talk to the hub's own machine, its network or the cloud's
 * metadata service. IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64, 6to4, the old
 * IPv4-compatible form) are judged by that IPv4 address, so `::ffff:127.0.0.1` is loopback too.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";

const V4_RANGES: [string, number, string][] = [
  ["0.0.0.0", 8, "this network"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared address space (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay anycast"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

const V6_RANGES: [string, number, string][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["100::", 64, "discard-only"],
  ["2001::", 23, "IETF protocol assignments"],
  ["2001:db8::", 32, "documentation"],
  ["fc00::", 7, "unique local (private)"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
];

function blockList(ranges: [string, number, string][], type: "ipv4" | "ipv6"): [BlockList, string][] {
  return ranges.map(([net, prefix, label]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    return [list, label];
  });
}

const V4 = blockList(V4_RANGES, "ipv4");
const V6 = blockList(V6_RANGES, "ipv6");

/** An IPv6 address as eight 16-bit groups; undefined if it is not one. Accepts a trailing dotted IPv4 part. */
export function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!isIPv6(text)) return undefined;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::") as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail ?? "");
  const fill = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  const groups = [...left, ...fill, ...right];
  return groups.length === 8 ? groups : undefined;
}

function v4FromGroups(hi: number, lo: number): string {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
}

/** The IPv4 address an IPv6 address carries (mapped, IPv4-compatible, NAT64 or 6to4), if any. */
export function embeddedIPv4(groups: number[]): string | undefined {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeroTo(5) && g5 === 0xffff) return v4FromGroups(g6, g7); // ::ffff:a.b.c.d
  if (zeroTo(6) && (g6 !== 0 || g7 > 1)) return v4FromGroups(g6, g7); // ::a.b.c.d (deprecated)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4FromGroups(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return v4FromGroups(g6, g7); // local-use NAT64 64:ff9b:1::/48
  if (g0 === 0x2002) return v4FromGroups(g1, g2); // 6to4
  return undefined;
}

/**
 * Why an address is not public ("loopback", "private", …), or undefined for a public unicast address.
 * Anything that is not an IP address at all is reported as "not an IP address".
 */
export function nonPublicReason(address: string): string | undefined {
  if (isIPv4(address)) return V4.find(([list]) => list.check(address, "ipv4"))?.[1];
  const groups = ipv6Groups(address);
  if (!groups) return "not an IP address";
  const v4 = embeddedIPv4(groups);
  if (v4 !== undefined) {
    const reason = nonPublicReason(v4);
    return reason && `${reason} (IPv4 ${v4} inside IPv6)`;
  }
  const normal = groups.map((g) => g.toString(16)).join(":");
  return V6.find(([list]) => list.check(normal, "ipv6"))?.[1];
}

export function isPublicAddress(address: string): boolean {
  return nonPublicReason(address) === undefined;
}
