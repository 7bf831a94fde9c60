/**
 * Test sources that speak as peers: an HTTP (or raw TCP) server behind TLS 1.3 with a
 * certificate from an identity of its own, as a real File Management port presents one, so a
 * download dials it pinned to that id. `source` is what a download job names it by:
 * `peerId@host:port`. Closed when the test ends.
 */
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { onTestFinished } from 'vitest';
import { memorySigner } from '../../src/shared/keys.ts';
import { formatPeerAddress } from '../../src/shared/peer-address.ts';
import { ALPN_HTTP, PeerTls } from '../../src/shared/peer-tls.ts';

export interface PeerListener {
  tls: PeerTls;
  peerId: string;
  host: string;
  port: number;
  /** `peerId@host:port` */
  source: string;
  /** The TLS connections open now. */
  readonly sockets: ReadonlySet<TLSSocket>;
  /** TCP connections accepted so far (each a dial, whether its handshake then succeeds or not). */
  readonly connections: number;
}

/** A fresh peer identity with its certificate made. */
export async function newPeerTls(): Promise<PeerTls> {
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  return tls;
}

/**
 * Serve `server` (an HTTP server, or a TCP server whose 'connection' handler takes the decrypted
 * socket) to TLS clients on `host`, port `port` (0: any). The server itself does not listen.
 */
export async function listenAsPeer(
  server: HttpServer | NetServer,
  host: string,
  port = 0,
  tls?: PeerTls,
): Promise<PeerListener> {
  const peerTls = tls ?? (await newPeerTls());
  const sockets = new Set<TLSSocket>();
  let connections = 0;
  const tlsServer = createTlsServer(peerTls.serverOptions([ALPN_HTTP]), (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    server.emit('connection', socket as unknown as Socket);
  });
  tlsServer.on('tlsClientError', () => undefined);
  tlsServer.on('connection', () => void connections++);
  tlsServer.listen(port, host);
  await once(tlsServer, 'listening');
  const bound = (tlsServer.address() as { port: number }).port;
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    tlsServer.close();
    await once(tlsServer, 'close');
  });
  return {
    tls: peerTls,
    peerId: peerTls.peerId,
    host,
    port: bound,
    source: formatPeerAddress({ peerId: peerTls.peerId, address: `${host}:${bound}` }),
    sockets,
    get connections() {
      return connections;
    },
  };
}
