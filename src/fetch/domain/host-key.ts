/**
 * Which "host" and which "subnet" an IP address stands for, for admission's rate limits
 * (admission.ts): one attacker machine usually holds one address, and one provider hands out a
 * /24 (IPv4) or a /64 (IPv6), so limits count per address and per such prefix. Every 127.x
 * address counts as a host of its own, and as its own subnet, so that test networks, benchmarks
 * and the demo (one 127.x address per peer) are not one crowded subnet. Pure string work: the
 * domain imports no I/O module.
 */

/** The host part of host:port ("[v6]:port" → v6), lower-cased; an unparsable value is itself. */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return (bracketed[1] as string).toLowerCase();
  const colons = address.split(':').length - 1;
  if (colons === 1) return (address.split(':')[0] as string).toLowerCase();
  return address.toLowerCase(); // a bare IPv6 address, or a host without a port
}

/** The port of host:port or [v6]:port; NaN when there is none. */
export function portOf(address: string): number {
  return Number(/:(\d{1,5})$/.exec(address)?.[1] ?? NaN);
}

/** Whether `host` is on this machine's loopback (127.0.0.0/8, ::1, an IPv4-mapped 127.x). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h === '::1' || h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The subnet `host` belongs to, as a string key: IPv4 → first `v4Bits` bits, IPv6 → first
 * `v6Bits` bits; loopback and DNS names are their own subnet.
 */
export function subnetOf(host: string, v4Bits: number, v6Bits: number): string {
  const h = host.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  if (isLoopbackHost(h)) return h;
  const v4 = IPV4.exec(h);
  if (v4) {
    const n = v4.slice(1).reduce((acc, part) => acc * 256 + Number(part), 0);
    const kept = v4Bits >= 32 ? n : Math.floor(n / 2 ** (32 - v4Bits)) * 2 ** (32 - v4Bits);
    return `${[24, 16, 8, 0].map((s) => Math.floor(kept / 2 ** s) % 256).join('.')}/${v4Bits}`;
  }
  if (h.includes(':')) {
    const groups = expandV6(h);
    if (!groups) return h;
    const bits = groups.map((g) => g.toString(2).padStart(16, '0')).join('');
    return `${bits.slice(0, v6Bits)}/${v6Bits}`;
  }
  return h;
}

/** The eight 16-bit groups of an IPv6 address, or undefined if it is not one. */
function expandV6(host: string): number[] | undefined {
  const [head, tail, ...rest] = host.split('::');
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
