import { BlockList, isIP } from 'node:net';

/**
 * The SSRF guard's decision: may a postback connect to this IP address? Pure and
 * table-tested; the connector calls it with the address it is about to dial (after DNS),
 * so a name cannot resolve to a safe address for the check and an unsafe one for the dial.
 */
const BLOCKED_V4: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this network", includes 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const BLOCKED_V6: readonly [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64 (embeds IPv4)
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo etc.)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds IPv4)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

export interface TargetPolicy {
  readonly allowPrivate: boolean;
  /** Exceptions (CIDRs) allowed although they are in a blocked range. */
  readonly allowed: BlockList;
}

const BLOCKED = (() => {
  const list = new BlockList();
  for (const [net, prefix] of BLOCKED_V4) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of BLOCKED_V6) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

/** Parses "10.1.0.0/16,fd00::/8" into a BlockList; throws naming the bad entry. */
export function parseCidrs(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr = '', prefixText] = cidr.split('/');
    const family = isIP(addr);
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new Error(`ALLOWED_TARGET_CIDRS: ${JSON.stringify(cidr)} is not a CIDR like 10.0.0.0/8 or fd00::/8`);
    }
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address, if any. */
function embeddedV4(address: string): string | undefined {
  const m = /^(?:0{0,4}:){0,5}(?:0{0,4}|ffff):((?:\d{1,3}\.){3}\d{1,3})$/i.exec(address);
  if (m) return m[1];
  // ::ffff:7f00:1 (hex form of a mapped address)
  const hex = /^(?:0{0,4}:){0,5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const hi = parseInt(hex[1] as string, 16);
    const lo = parseInt(hex[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Whether the guard refuses `address` (an IP literal; brackets allowed). */
export function isBlockedAddress(address: string, policy: TargetPolicy): boolean {
  if (policy.allowPrivate) return false;
  let ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);
  let family = isIP(ip);
  if (family === 0) return true; // not an address: refuse rather than guess
  if (family === 6) {
    const v4 = embeddedV4(ip);
    if (v4 !== undefined) {
      ip = v4;
      family = 4;
    }
  }
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (policy.allowed.check(ip, type)) return false;
  return BLOCKED.check(ip, type);
}

/** Whether a URL's host is an IP literal the guard refuses (for warnings at endpoint creation). */
export function isBlockedLiteralHost(url: string, policy: TargetPolicy): boolean {
  let host: string;
  try {
    host = new URL(url).hostname; // WHATWG parsing normalises 127.1, 2130706433, 0x7f.0.0.1
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return !policy.allowPrivate;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return isIP(bare) !== 0 && isBlockedAddress(bare, policy);
}
