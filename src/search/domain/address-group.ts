/**
 * Which inbound links count as coming from "the same place", for the per-address and per-subnet
 * link caps and for eviction (docs/PROTOCOL.md §8): an IPv4 address's subnet is its /24, an IPv6
 * address's its /64 (both settings). Every 127.x address counts as a host and a subnet of its own,
 * so tests, benchmarks and the demo, which give each peer its own 127.x address on one machine,
 * behave as separate hosts do. An IPv4-mapped IPv6 address is taken as the IPv4 address.
 */

/** The forms a socket reports (checked loosely: these come from the OS, not from a peer). */
const isIPv4 = (ip: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
const isIPv6 = (ip: string) => ip.includes(':');

export const DEFAULT_SUBNET_BITS_V4 = 24;
export const DEFAULT_SUBNET_BITS_V6 = 64;

export interface SubnetBits {
  readonly v4: number;
  readonly v6: number;
}

/** The subnet `ip` belongs to, as a key ("10.1.2.0/24", "2001:db8:0:0::/64"); the ip itself when loopback or not an IP. */
export function subnetOf(ip: string, bits: SubnetBits = { v4: DEFAULT_SUBNET_BITS_V4, v6: DEFAULT_SUBNET_BITS_V6 }): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return subnetOf(mapped[1]!, bits);
  if (isIPv4(ip)) {
    if (ip.startsWith('127.')) return ip;
    const value = ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    const masked = bits.v4 <= 0 ? 0 : Math.floor(value / 2 ** (32 - Math.min(32, bits.v4))) * 2 ** (32 - Math.min(32, bits.v4));
    return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${bits.v4}`;
  }
  if (isIPv6(ip)) {
    const groups = expandV6(ip);
    if (groups.every((g, i) => g === (i === 7 ? 1 : 0))) return ip; // ::1
    let left = Math.max(0, Math.min(128, bits.v6));
    const masked = groups.map((g) => {
      const keep = Math.min(16, left);
      left -= keep;
      return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
    });
    return `${masked.map((g) => g.toString(16)).join(':')}/${bits.v6}`;
  }
  return ip;
}

/** The eight 16-bit groups of an IPv6 address (with "::" and an embedded IPv4 tail expanded). */
function expandV6(ip: string): number[] {
  let text = ip.split('%')[0]!;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const [a, b, c, d] = v4Tail[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = parse(head);
  if (tail === undefined) return h;
  const t = parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}
