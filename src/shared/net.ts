/** Address helpers shared by services. */
import { isIP } from 'node:net';

/** Whether an address is loopback (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** Whether a bound address is a wildcard (every interface): not an address anyone can dial. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** An address as a socket reports it, IPv4-mapped IPv6 written as plain IPv4. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
