/**
 * The seam between the overlay and the bytes: a transport listens and dials and hands over
 * Duplex streams whose remote peer id it has proven, which the link manager wraps in protocol
 * sessions. TLS 1.3 pinned to peer ids is the one transport (tls-transport.ts); there is no
 * plaintext path between peers.
 */
import type { Duplex } from 'node:stream';

/** One accepted or dialled connection, before any protocol has run over it. */
export interface RawConnection {
  readonly stream: Duplex;
  /** The remote IP address (IPv4-mapped IPv6 unwrapped), for per-address link caps. */
  readonly remoteIp: string;
  /** The peer id the other end proved (its TLS certificate's key); its Hello must claim the same. */
  readonly peerId: string;
}

export interface Listening {
  /** The address actually bound (the port is real even when 0 was asked). */
  readonly host: string;
  readonly port: number;
  /** Stop accepting; resolves once the connections handed over (which the caller closes) have ended. */
  close(): Promise<void>;
}

export interface StreamTransport {
  /** Accept connections on host:port, handing each to `onConnection` once its peer id is proven. */
  listen(host: string, port: number, onConnection: (connection: RawConnection) => void): Promise<Listening>;
  /**
   * Open a connection to `address` (host:port) from our own host; rejects on refusal, timeout, or
   * (PEER_ID_MISMATCH) when `expectedPeerId` is given and the other end proves another id.
   */
  dial(address: string, expectedPeerId?: string): Promise<RawConnection>;
}
