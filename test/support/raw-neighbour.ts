/**
 * A hand-driven neighbour for abuse tests: a real TLS 1.3 connection to a peer's Search link
 * port, from its own loopback address and with its own in-memory identity (a certificate made
 * from its own key, like a real peer's), that writes whatever frames or bytes the test wants
 * (respecting backpressure) and records every message the peer sends back.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { onTestFinished } from 'vitest';
import { decodeMessage, encodeFrame, type OutgoingMessage, type WireMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/framing.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/limits.ts';
import { splitAddress } from '../../src/shared/address.ts';
import { memorySigner, type KeyHolder } from '../../src/shared/keys.ts';
import { ALPN_LINK, PeerTls, provenPeerId } from '../../src/shared/peer-tls.ts';
import { nextLoopback } from './loopback.ts';

/** The fields of a Hello a test may set. */
export interface HelloFields {
  protocolVersion: number;
  peerId: string;
  publicKey: Uint8Array;
  searchAddress: string;
  filesAddress: string;
  nonce: Uint8Array;
  features: string[];
}

export interface RawNeighbour {
  /** The TLS connection. */
  readonly socket: TLSSocket;
  /** The TCP connection under it (to reset it). */
  readonly tcp: Socket;
  /** Our id: the one our certificate proves. */
  readonly peerId: string;
  /** The id the peer's certificate proved. */
  readonly remotePeerId: string;
  readonly host: string;
  readonly received: WireMessage[];
  /** Resolves when the peer has closed the connection. */
  readonly closed: Promise<void>;
  /** Write one message (or raw bytes), waiting for the socket to drain when its buffer is full. */
  send(message: OutgoingMessage | Uint8Array): Promise<void>;
  /** Our Hello (version 2, our identity), with any field replaced. */
  hello(overrides?: Partial<HelloFields>): OutgoingMessage;
  /** Send our Hello and wait for the peer's. */
  handshake(): Promise<void>;
}

export interface RawNeighbourOptions {
  /** Our identity (default a fresh one). */
  identity?: KeyHolder;
  /** The id the peer must prove (default: any). */
  expectedPeerId?: string;
  alpn?: string[];
}

export async function rawNeighbour(
  target: string,
  fromHost = nextLoopback(),
  options: RawNeighbourOptions = {},
): Promise<RawNeighbour> {
  const identity = options.identity ?? memorySigner();
  const tls = new PeerTls(identity);
  await tls.ready();
  const { host, port } = splitAddress(target);
  const tcp = createConnection({ host, port, localAddress: fromHost, noDelay: true });
  onTestFinished(() => void tcp.destroy());
  tcp.on('error', () => undefined);
  await once(tcp, 'connect');
  const socket = tlsConnect({ ...tls.clientOptions(options.alpn ?? [ALPN_LINK]), socket: tcp });
  socket.on('error', () => undefined);
  onTestFinished(() => void socket.destroy());
  await once(socket, 'secureConnect');
  const remotePeerId = provenPeerId(socket, options.expectedPeerId);
  const decoder = new FrameDecoder();
  const received: WireMessage[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const body of decoder.push(chunk).frames) {
      const decoded = decodeMessage(body);
      if (decoded.ok) received.push(decoded.message);
    }
  });
  const closed = once(socket, 'close').then(() => undefined);
  const send = async (message: OutgoingMessage | Uint8Array) => {
    const bytes = message instanceof Uint8Array ? message : encodeFrame(message);
    // A peer that closed on us makes the write fail (EPIPE, reset): the test then sees `closed`.
    if (!socket.write(bytes)) await Promise.race([once(socket, 'drain').catch(() => undefined), closed]);
  };
  const hello = (overrides: Partial<HelloFields> = {}): OutgoingMessage => ({
    case: 'hello',
    value: {
      features: [],
      protocolVersion: PROTOCOL_VERSION,
      peerId: identity.peerId,
      publicKey: identity.publicKey,
      searchAddress: `${fromHost}:7872`,
      filesAddress: `http://${fromHost}:7871`,
      nonce: randomBytes(16),
      ...overrides,
    },
  });
  return {
    socket,
    tcp,
    peerId: identity.peerId,
    remotePeerId,
    host: fromHost,
    received,
    closed,
    send,
    hello,
    async handshake() {
      await send(hello());
      while (!received.some((m) => m.case === 'hello'))
        await Promise.race([
          once(socket, 'data'),
          closed.then(() => {
            throw new Error('closed before hello');
          }),
        ]);
    },
  };
}
