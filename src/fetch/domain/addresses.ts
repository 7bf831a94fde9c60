/**
 * Service addresses carried in peer records: `host:port`, where host is an IPv4 address, a
 * bracketed IPv6 address or a DNS name. Checked strictly because other peers will dial them.
 */

export interface ServiceAddresses {
  /** File Management HTTP API (chunks and manifests are fetched here). */
  files: string;
  /** Search overlay TCP endpoint. */
  search: string;
  /** Fetch HTTP API (membership sync). */
  fetch: string;
}

export const ADDRESS_KEYS = ['files', 'search', 'fetch'] as const;

const MAX_ADDRESS_LENGTH = 270;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^\[[0-9a-fA-F:.]{2,45}\]$/;
const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const PORT = /^[1-9]\d{0,4}$/;

function isHost(host: string): boolean {
  if (IPV4.test(host) || (IPV6.test(host) && host.includes(':'))) return true;
  // A name that merely looks numeric (999.1.1.1) is a malformed IPv4 address, not a host name.
  if (host.length > 253 || /^[\d.]+$/.test(host)) return false;
  return host.split('.').every((label) => LABEL.test(label));
}

/** Whether `value` is a `host:port` string a peer could dial. */
export function isAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_ADDRESS_LENGTH) return false;
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return false;
  const port = value.slice(colon + 1);
  return PORT.test(port) && Number(port) <= 65_535 && isHost(value.slice(0, colon));
}
