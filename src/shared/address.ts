/**
 * Network addresses as text, in one place: `host:port` (an IPv6 host in brackets) split and
 * joined, and which "host" and which "subnet" an address stands for. Pure string work, no I/O
 * module, so that the domains (Fetch's admission, Search's link caps and eviction) use the same
 * rules as the adapters.
 *
 * Grouping: one attacker machine usually holds one address, and one provider hands out a /24
 * (IPv4) or a /64 (IPv6), so limits count per address and per such prefix (both settings). Every
 * 127.x address counts as a host and a subnet of its own, so that tests, benchmarks and the demo,
 * which give each peer its own 127.x address on one machine, behave as separate hosts do. An
 * IPv4-mapped IPv6 address is taken as the IPv4 address.
 */

export const DEFAULT_SUBNET_BITS_V4 = 24;
export const DEFAULT_SUBNET_BITS_V6 = 64;

export interface SubnetBits {
  readonly v4: number;
  readonly v6: number;
}

/** host and port of "host:port" or "[v6]:port" (NaN port when there is none). */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

/** host:port, an IPv6 host bracketed (as URLs and `host:port` settings write it). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host part of host:port ("[v6]:port" → v6), lower-cased; an unparsable value is itself. */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const colons = address.split(':').length - 1;
  if (colons === 1) return address.split(':')[0]!.toLowerCase();
  return address.toLowerCase(); // a bare IPv6 address, or a host without a port
}

/** The port of host:port or [v6]:port; NaN when there is none. */
export function portOf(address: string): number {
  return Number(/:(\d{1,5})$/.exec(address)?.[1] ?? NaN);
}

/** Whether `host` is on this machine's loopback (127.0.0.0/8, ::1, an IPv4-mapped 127.x, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h === '::1' || h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The subnet `ip` belongs to, as a key ("10.1.2.0/24", "2001:db8:0:0:0:0:0:0/64"); the address
 * itself when loopback, a DNS name or not an address.
 */
export function subnetOf(
  ip: string,
  bits: SubnetBits = { v4: DEFAULT_SUBNET_BITS_V4, v6: DEFAULT_SUBNET_BITS_V6 },
): string {
  const h = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return subnetOf(mapped[1]!, bits);
  if (isLoopbackHost(h)) return h;
  if (IPV4.test(h)) {
    const value = h.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    const keep = Math.max(0, Math.min(32, bits.v4));
    const masked = keep === 0 ? 0 : Math.floor(value / 2 ** (32 - keep)) * 2 ** (32 - keep);
    return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${bits.v4}`;
  }
  if (h.includes(':')) {
    const groups = expandV6(h);
    if (!groups) return h;
    let left = Math.max(0, Math.min(128, bits.v6));
    const masked = groups.map((g) => {
      const keep = Math.min(16, left);
      left -= keep;
      return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
    });
    return `${masked.map((g) => g.toString(16)).join(':')}/${bits.v6}`;
  }
  return h;
}

/** The eight 16-bit groups of an IPv6 address ("::" and an IPv4 tail expanded), or undefined if it is not one. */
function expandV6(ip: string): number[] | undefined {
  let text = ip.split('%')[0]!;
  const v4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4Tail) {
    const [a, b, c, d] = v4Tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail, ...rest] = text.split('::');
  if (rest.length > 0) return undefined;
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const left = part(head);
  const right = part(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  const groups = all.map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
  return groups.some(Number.isNaN) ? undefined : groups;
}
