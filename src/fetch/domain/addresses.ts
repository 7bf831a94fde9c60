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

export { isAddress, MAX_ADVERTISED_ADDRESSES } from '../../shared/peer-address.ts';
