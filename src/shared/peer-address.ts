/**
 * How peers name one another's endpoints: `host:port` (a peer record's addresses, checked
 * strictly because other peers will dial them), and `peerId@host:port`, an address together with
 * the peer id whoever dials it must find there (a download source, a link hint). A TLS
 * connection to the address that proves another id is refused (shared/peer-tls.ts), so naming
 * a bystander's address gets nothing sent to it beyond a handshake.
 */
import { PEER_ID_PATTERN } from './ids.ts';

const MAX_ADDRESS_LENGTH = 270;
/**
 * Most addresses one peer advertises (`--advertise`, repeated) and its signed record lists: each
 * is dialled by others in turn until one proves the key, so the bound keeps what a record can
 * make others dial small.
 */
export const MAX_ADVERTISED_ADDRESSES = 8;
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

/** An endpoint of a known peer. */
export interface PeerAddress {
  readonly peerId: string;
  /** host:port */
  readonly address: string;
}

const PEER_ID_RE = new RegExp(PEER_ID_PATTERN);

/** `peerId@host:port`. */
export function formatPeerAddress(p: PeerAddress): string {
  return `${p.peerId}@${p.address}`;
}

/** The peer address written `peerId@host:port`, or undefined when it is not one. */
export function parsePeerAddress(text: unknown): PeerAddress | undefined {
  if (typeof text !== 'string') return undefined;
  const at = text.indexOf('@');
  const peerId = text.slice(0, at);
  const address = text.slice(at + 1);
  return at > 0 && PEER_ID_RE.test(peerId) && isAddress(address) ? { peerId, address } : undefined;
}

/** host:port of a base URL such as http://127.0.0.2:7871 (the form hits of releases before 2026-12-04 carry). */
export function addressOfUrl(url: string): string | undefined {
  try {
    const host = new URL(url).host;
    return isAddress(host) ? host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A File Management address as this code means it everywhere: host:port. Takes host:port, or a
 * base URL (what Hello and Hit messages carried before 2026-12-04); undefined for anything else.
 */
export function filesHostPort(address: string): string | undefined {
  return isAddress(address) ? address : addressOfUrl(address);
}
