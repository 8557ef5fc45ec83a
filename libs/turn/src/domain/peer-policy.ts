import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Bytes } from './stun-message';

/**
 * Which peers a relay may send to. A TURN relay on the public edge is a door into the network it
 * runs in, so every address that is not a public unicast host is refused: loopback, unspecified,
 * private (RFC 1918), carrier-grade NAT, link-local (the cloud metadata address 169.254.169.254
 * included), IETF-reserved and benchmarking, multicast and broadcast, unique-local and the
 * deprecated IPv6 forms — and every IPv4 range again in each IPv6 spelling that reaches it
 * (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
 * 6to4 `2002:aabb:ccdd::`). An allowlist of CIDR ranges (for on-premise deployments whose peers are
 * on a private network) is checked first and wins.
 *
 * The same table renders coturn's `denied-peer-ip` lines (`coturnPeerRules`), so both relays refuse
 * exactly the same addresses.
 */

export interface AddressRange {
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly end: bigint;
  /** Why it is refused (`loopback`, `private`…): a code for logs and tests, never an address. */
  readonly label: string;
}

const V4_DENIED: readonly (readonly [string, string])[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier_grade_nat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link_local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved_broadcast'],
];

const V6_DENIED: readonly (readonly [string, string])[] = [
  ['::/96', 'ipv4_compatible_unspecified_loopback'],
  ['100::/64', 'discard'],
  ['64:ff9b:1::/48', 'nat64_local_use'],
  ['2001::/32', 'teredo'],
  ['2001:db8::/32', 'documentation'],
  ['fc00::/7', 'unique_local'],
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'site_local'],
  ['ff00::/8', 'multicast'],
];

/** IPv6 prefixes that carry an IPv4 address, and where in the 128 bits it sits. */
const V4_EMBEDDINGS: readonly {
  readonly label: string;
  readonly base: bigint;
  readonly shift: bigint;
}[] = [
  { label: 'ipv4_mapped', base: 0xffffn << 32n, shift: 0n },
  { label: 'ipv4_translated', base: 0xffffn << 48n, shift: 0n },
  { label: 'nat64', base: 0x64ff9bn << 96n, shift: 0n },
  { label: '6to4', base: 0x2002n << 112n, shift: 80n },
];

export function parseCidr(cidr: string): { family: 4 | 6; start: bigint; end: bigint } {
  const [text, bitsText] = cidr.trim().split('/');
  const family = isIPv4(text ?? '') ? 4 : isIPv6(text ?? '') ? 6 : undefined;
  if (!family || !text)
    throw new RangeError('expected an IPv4 or IPv6 CIDR range like 10.1.0.0/16');
  const width = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) {
    throw new RangeError('expected an IPv4 or IPv6 CIDR range like 10.1.0.0/16');
  }
  const value = addressValue(text, family);
  const host = (1n << BigInt(width - bits)) - 1n;
  const start = value & ~host & ((1n << BigInt(width)) - 1n);
  return { family, start, end: start | host };
}

function addressValue(address: string, family: 4 | 6): bigint {
  if (family === 4) {
    return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  return BigInt(`0x${ipv6Bytes(address).toString('hex')}`);
}

function buildDenied(): AddressRange[] {
  const ranges: AddressRange[] = [];
  for (const [cidr, label] of V4_DENIED) {
    const r = parseCidr(cidr);
    ranges.push({ ...r, label });
    for (const e of V4_EMBEDDINGS) {
      const tail = (1n << e.shift) - 1n;
      ranges.push({
        family: 6,
        start: e.base | (r.start << e.shift),
        end: e.base | (r.end << e.shift) | tail,
        label: `${label}:${e.label}`,
      });
    }
  }
  for (const [cidr, label] of V6_DENIED) ranges.push({ ...parseCidr(cidr), label });
  return ranges;
}

/** Every refused range, the IPv6 spellings of the IPv4 ones included. */
export const DENIED_PEER_RANGES: readonly AddressRange[] = buildDenied();

export type PeerDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export class PeerPolicy {
  private readonly allow: readonly { family: 4 | 6; start: bigint; end: bigint }[];

  /** `allowlist`: CIDR ranges relayed to even though the table refuses them. Throws RangeError on a bad one. */
  constructor(allowlist: readonly string[] = []) {
    this.allow = allowlist.map(parseCidr);
  }

  decide(address: string): PeerDecision {
    const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
    if (!family) return { allowed: false, reason: 'not_an_address' };
    const value = addressValue(address, family);
    for (const r of this.allow) {
      if (r.family === family && value >= r.start && value <= r.end) return { allowed: true };
    }
    for (const r of DENIED_PEER_RANGES) {
      if (r.family === family && value >= r.start && value <= r.end) {
        return { allowed: false, reason: r.label };
      }
    }
    return { allowed: true };
  }

  /** coturn configuration lines for the same policy: `allowed-peer-ip` first, then `denied-peer-ip`. */
  coturnPeerRules(): string[] {
    return [
      ...this.allow.map((r) => `allowed-peer-ip=${formatRange(r)}`),
      ...DENIED_PEER_RANGES.map((r) => `denied-peer-ip=${formatRange(r)}`),
    ];
  }
}

function formatRange(r: { family: 4 | 6; start: bigint; end: bigint }): string {
  return `${formatAddress(r.family, r.start)}-${formatAddress(r.family, r.end)}`;
}

export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const groups: string[] = [];
  for (let i = 7n; i >= 0n; i--) groups.push(((value >> (i * 16n)) & 0xffffn).toString(16));
  return groups.join(':');
}
