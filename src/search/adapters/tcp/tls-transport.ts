/**
 * Overlay links over TLS 1.3, pinned to peer ids (docs/PROTOCOL.md §2): the link port listens
 * through the shared peer port (ALPN `peershare-link/2`, no plaintext path: a plaintext client,
 * a version 1 peer or a broken ClientHello is closed there and logged), and dials go through
 * `dialPeer`, which checks the id the other end proves before a byte of the link is sent.
 * Outgoing connections are bound to this peer's own host, so that on one machine (one 127.x
 * address per peer) every link shows where it really comes from, as it would between hosts.
 * Nagle is off: queries and hits are small and latency is the point.
 */
import { isIP, type Socket } from 'node:net';
import { dialPeer } from '../../../shared/http-client.ts';
import type { Logger } from '../../../shared/logging.ts';
import { listenPeerPort } from '../../../shared/peer-port.ts';
import { ALPN_LINK, type PeerTls } from '../../../shared/peer-tls.ts';
import type { Listening, RawConnection, StreamTransport } from './transport.ts';

export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;

/** Split "host:port" or "[v6]:port"; throws RangeError on anything else. */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:]+):(\d{1,5})$/.exec(address);
  const port = Number(m?.[2]);
  if (!m || !m[1] || !(port >= 1 && port <= 65535)) throw new RangeError(`not a host:port address: ${address}`);
  return { host: m[1], port };
}

function ipOf(socket: Socket): string {
  const ip = socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export class TlsTransport implements StreamTransport {
  constructor(
    private readonly tls: PeerTls,
    /** Our own host; outgoing connections use it as their source address unless it is a wildcard. */
    private readonly localHost: string,
    private readonly logger: Logger,
    private readonly dialTimeoutMs = DEFAULT_DIAL_TIMEOUT_MS,
  ) {}

  async listen(host: string, port: number, onConnection: (c: RawConnection) => void): Promise<Listening> {
    const listening = await listenPeerPort(host, port, {
      tls: this.tls,
      alpn: [ALPN_LINK],
      logger: this.logger,
      onPeer: (socket, peerId) => {
        // A client that named no ALPN protocol is not a link client (one naming another fails the handshake).
        if (socket.alpnProtocol !== ALPN_LINK) {
          this.logger.info(
            { remote: socket.remoteAddress, peerId },
            `peer connection refused: ALPN ${String(socket.alpnProtocol)}, not ${ALPN_LINK}`,
          );
          return void socket.destroy();
        }
        socket.setNoDelay(true);
        socket.on('error', () => undefined); // the session reports errors; this only keeps them from being uncaught
        onConnection({ stream: socket, remoteIp: ipOf(socket), peerId });
      },
    });
    return { host: listening.host, port: listening.port, close: () => listening.close() };
  }

  async dial(address: string, expectedPeerId?: string): Promise<RawConnection> {
    const { host } = parseAddress(address);
    const wildcard = this.localHost === '0.0.0.0' || this.localHost === '::';
    const sameFamily = isIP(host) === 0 || isIP(host) === isIP(this.localHost);
    const localAddress = !wildcard && sameFamily ? this.localHost : undefined;
    const { socket, peerId } = await dialPeer(this.tls, address, expectedPeerId, {
      alpn: [ALPN_LINK],
      timeoutMs: this.dialTimeoutMs,
      ...(localAddress ? { localAddress } : {}),
    });
    socket.on('error', () => undefined);
    return { stream: socket, remoteIp: ipOf(socket), peerId };
  }
}
