/**
 * The seam between the overlay and the bytes: a transport listens and dials and hands over plain
 * Duplex streams, which the link manager wraps in protocol sessions. TCP is the one transport
 * today (tcp-transport.ts); a TLS transport (node:tls, the peer id pinned to the certificate key)
 * implements the same interface and nothing above it changes.
 */
import type { Duplex } from 'node:stream';

/** One accepted or dialled connection, before any protocol has run over it. */
export interface RawConnection {
  readonly stream: Duplex;
  /** The remote IP address (IPv4-mapped IPv6 unwrapped), for per-address link caps. */
  readonly remoteIp: string;
}

export interface Listening {
  /** The address actually bound (the port is real even when 0 was asked). */
  readonly host: string;
  readonly port: number;
  /** Stop accepting; connections already handed over are the caller's to close. */
  close(): Promise<void>;
}

export interface StreamTransport {
  /** Accept connections on host:port, handing each to `onConnection`. */
  listen(host: string, port: number, onConnection: (connection: RawConnection) => void): Promise<Listening>;
  /** Open a connection to `address` (host:port) from our own host; rejects on refusal or timeout. */
  dial(address: string): Promise<RawConnection>;
}
