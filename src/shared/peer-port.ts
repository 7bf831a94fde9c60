/**
 * A port other peers reach: TLS 1.3 only, every connection pinned to the peer id its certificate
 * proves (peer-tls.ts) before any byte of it is handed on. The same port also answers this
 * host's own plaintext callers (the user's commands, the peer's other services in split mode,
 * tests), told apart by the first byte: a TLS ClientHello starts with 0x16, an HTTP request with
 * a letter. Plaintext from any other host is closed at once, so a remote caller gets nothing
 * without a certificate: a version 1 peer, a scanner or a browser elsewhere sees a closed
 * connection, and the log says why.
 *
 * HTTP services put their Fastify app behind it (`servePeerHttp`), and each route says whether
 * peers may call it (`peerAccess`): the routes that change or reveal this peer's state are for
 * its local user, never for a remote peer's TLS identity alone.
 */
import type { FastifyRequest } from 'fastify';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { PeershareError } from './errors.ts';
import type { HttpApp } from './http-server.ts';
import type { Logger } from './logging.ts';
import { isLoopback } from './net.ts';
import { ALPN_HTTP, ALPN_PUSH, provenPeerId, TLS_HANDSHAKE_BYTE, type PeerTls } from './peer-tls.ts';

/** A connection must send its first byte and finish the TLS handshake within this time. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Connections not yet handed on (no first byte yet, or in their TLS handshake) held at once, from
 * one remote address and in all. Each holds a file descriptor and handshake state for up to the
 * deadline: without a bound, connections that send nothing run the process out of descriptors.
 */
export const MAX_UNPROVEN_PER_ADDRESS = 128;
export const MAX_UNPROVEN = 1_024;

export interface PeerPortOptions {
  tls: PeerTls;
  /** ALPN protocols offered; a client that asks for none of them fails the handshake. */
  alpn: readonly string[];
  logger: Logger;
  /** A verified peer connection, its id proven. */
  onPeer(socket: TLSSocket, peerId: string): void;
  /** A plaintext connection from this host; without it, plaintext is refused from everywhere. */
  onLocal?(socket: Socket): void;
  /** These three: as given here, else the peer's settings (`tls.acceptLimits`), else the defaults above. */
  handshakeTimeoutMs?: number;
  maxUnprovenPerAddress?: number;
  maxUnproven?: number;
}

export interface PeerPort {
  readonly host: string;
  readonly port: number;
  /**
   * Stop accepting and close every connection not yet handed on; resolves once the connections
   * handed on have ended too (their owners close them).
   */
  close(): Promise<void>;
  /** Connections closed at accept because their address, or the port, held too many unproven ones. */
  readonly refusedOverCap: number;
}

/** Whether `ip` is an address of this host (loopback, or one of its interfaces). */
export function isThisHost(ip: string | undefined): boolean {
  if (!ip) return false;
  const a = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isLoopback(a)) return true;
  return Object.values(networkInterfaces()).some((list) =>
    list?.some((i) => i.address === a || i.address.split('%')[0] === a),
  );
}

export async function listenPeerPort(host: string, port: number, options: PeerPortOptions): Promise<PeerPort> {
  const { tls, logger } = options;
  const limits = tls.acceptLimits;
  const deadline = options.handshakeTimeoutMs ?? limits.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  /** Connections that have not sent their first byte, and those still in their TLS handshake: close() ends them. */
  const pending = new Set<Socket>();
  const inHandshake = new Set<Socket>();
  const tlsServer = createTlsServer({ ...tls.serverOptions(options.alpn), handshakeTimeout: deadline });
  tlsServer.on('tlsClientError', (err, socket) => refuse(socket, `TLS handshake failed: ${err.message}`));
  tlsServer.on('secureConnection', (socket: TLSSocket) => secured(socket));
  const refuse = (socket: Socket, why: string) => {
    logger.info({ remote: socket.remoteAddress }, `peer connection refused: ${why}`);
    socket.destroy();
  };
  /** A finished handshake: the peer id proven, or the connection refused. */
  const secured = (socket: TLSSocket) => {
    const tcp = (socket as TLSSocket & { _parent?: Socket })._parent ?? socket; // the TCP socket under it
    inHandshake.delete(tcp);
    releases.get(tcp)?.();
    let peerId: string;
    try {
      peerId = provenPeerId(socket);
    } catch (err) {
      return refuse(socket, (err as Error).message);
    }
    options.onPeer(socket, peerId);
  };

  const unproven = new UnprovenCount(
    options.maxUnprovenPerAddress ?? limits.maxUnprovenPerAddress ?? MAX_UNPROVEN_PER_ADDRESS,
    options.maxUnproven ?? limits.maxUnproven ?? MAX_UNPROVEN,
  );
  let refusedOverCap = 0;
  /** How each counted TCP socket gives its place back once handed on. */
  const releases = new WeakMap<Socket, () => void>();
  const server: NetServer = createNetServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
    const remote = socket.remoteAddress ?? '';
    if (!unproven.take(remote)) {
      refusedOverCap++;
      logger.debug({ remote }, 'peer connection refused: too many connections not yet proven');
      return void socket.destroy();
    }
    let counted = true;
    const release = () => {
      if (counted) unproven.give(remote);
      counted = false;
    };
    socket.once('close', release);
    releases.set(socket, release);
    pending.add(socket);
    const timer = setTimeout(() => refuse(socket, `nothing sent within ${deadline} ms`), deadline);
    socket.on('error', () => undefined); // a reset before the first byte ends this connection only
    socket.once('close', () => {
      clearTimeout(timer);
      pending.delete(socket);
    });
    socket.once('data', (first: Buffer) => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE_BYTE) {
        inHandshake.add(socket);
        socket.once('close', () => inHandshake.delete(socket));
        tlsServer.emit('connection', socket);
      } else if (options.onLocal && isThisHost(socket.remoteAddress)) {
        release();
        options.onLocal(socket);
      } else {
        return refuse(socket, 'not TLS: peers must speak TLS 1.3 (protocol version 2; a version 1 peer?)');
      }
      process.nextTick(() => socket.resume());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('peer port has no TCP address');
  const unrenew = tls.onRenew((context) =>
    tlsServer.setSecureContext({ ...tls.serverOptions(options.alpn), secureContext: context } as never),
  );
  return {
    host: address.address,
    port: address.port,
    close: async () => {
      unrenew();
      for (const socket of [...pending, ...inHandshake]) socket.destroy();
      inHandshake.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    get refusedOverCap() {
      return refusedOverCap;
    },
  };
}

/** Connections not yet proven, per remote address and in all, within their caps. */
class UnprovenCount {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(
    private readonly perAddress: number,
    private readonly all: number,
  ) {}

  /** Count one more from `address`, or false when a cap is reached. */
  take(address: string): boolean {
    const held = this.#byAddress.get(address) ?? 0;
    if (held >= this.perAddress || this.#total >= this.all) return false;
    this.#byAddress.set(address, held + 1);
    this.#total++;
    return true;
  }

  give(address: string): void {
    const held = this.#byAddress.get(address) ?? 0;
    if (held <= 1) this.#byAddress.delete(address);
    else this.#byAddress.set(address, held - 1);
    this.#total--;
  }
}

/** The peer id each verified TLS connection proved, for the routes behind servePeerHttp. */
const provenIds = new WeakMap<object, string>();

/** The peer id the connection of `request` proved, or undefined for a plaintext local caller. */
export function callingPeer(request: FastifyRequest): string | undefined {
  return peerOnSocket(request.raw.socket);
}

/** The peer id a connection handed on by servePeerHttp proved, or undefined for a plaintext local one (an upgrade has no FastifyRequest). */
export function peerOnSocket(socket: object): string | undefined {
  return provenIds.get(socket);
}

/**
 * Serve `app` on a peer port: peers over TLS, this host's callers in plaintext. The app is made
 * ready but does not listen itself; closing the returned port and then the app ends everything.
 */
export async function servePeerHttp(
  app: HttpApp,
  host: string,
  port: number,
  tls: PeerTls,
  logger: Logger,
  /** Connect-backs (ALPN peershare-push/1): handed here, never served; offered only when given. */
  onConnectBack?: (socket: TLSSocket, peerId: string) => void,
): Promise<PeerPort & { serveDialled(socket: TLSSocket, peerId: string): void }> {
  await app.ready();
  const sockets = new Set<Socket>();
  const handOn = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    app.server.emit('connection', socket);
  };
  const servePeer = (socket: TLSSocket, peerId: string) => {
    provenIds.set(socket, peerId);
    handOn(socket);
  };
  const peerPort = await listenPeerPort(host, port, {
    tls,
    alpn: onConnectBack ? [ALPN_HTTP, ALPN_PUSH] : [ALPN_HTTP],
    logger,
    onPeer: (socket, peerId) => {
      if (onConnectBack && socket.alpnProtocol === ALPN_PUSH) return onConnectBack(socket, peerId);
      servePeer(socket, peerId);
    },
    onLocal: handOn,
  });
  return {
    /**
     * Serve HTTP to `peerId` on a connection this peer dialled itself (a connect-back to a
     * requester, PUSH): as if accepted, with the same per-route access for that proven id.
     */
    serveDialled: servePeer,
    host: peerPort.host,
    port: peerPort.port,
    close: async () => {
      const closed = peerPort.close(); // stops accepting at once; resolves when every connection has ended
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    get refusedOverCap() {
      return peerPort.refusedOverCap;
    },
  };
}

/** Who may call a route: peers only (over TLS), peers and the local user, or (the default) only the local user. */
export type PeerAccess = 'peers' | 'peers-and-local' | 'local';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route on a peer port (shared/peer-port.ts); the local user only when absent. */
    access?: PeerAccess;
  }
}

/**
 * The onRequest hook that keeps each route to its callers: a TLS peer reaches only the routes
 * marked for peers (so no remote identity can share, unshare, upload or drive downloads), and a
 * plaintext local caller only the routes marked for it.
 */
export function peerAccess(request: FastifyRequest): Promise<void> {
  const access = request.routeOptions.config.access ?? 'local';
  const peer = callingPeer(request);
  if (peer !== undefined && access === 'local') {
    throw new PeershareError(
      'FORBIDDEN',
      `${request.method} ${request.routeOptions.url ?? request.url} is for this peer's local user, not for other peers`,
    );
  }
  if (peer === undefined && access === 'peers') {
    throw new PeershareError(
      'FORBIDDEN',
      `${request.method} ${request.routeOptions.url ?? request.url} is for other peers, over TLS`,
    );
  }
  return Promise.resolve();
}
