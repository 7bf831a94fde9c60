/**
 * A hand-driven neighbour for abuse tests: a real TCP connection to a peer's Search port, from
 * its own loopback address, that writes whatever frames or bytes the test wants (respecting TCP
 * backpressure) and records every message the peer sends back.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { onTestFinished } from 'vitest';
import { decodeMessage, encodeFrame, type OutgoingMessage, type WireMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/framing.ts';
import { testHello } from '../../src/protocol/test-support.ts';
import { nextLoopback } from './loopback.ts';

export interface RawNeighbour {
  readonly socket: Socket;
  readonly peerId: string;
  readonly host: string;
  readonly received: WireMessage[];
  /** Resolves when the peer has closed the connection. */
  readonly closed: Promise<void>;
  /** Write one message (or raw bytes), waiting for the socket to drain when its buffer is full. */
  send(message: OutgoingMessage | Uint8Array): Promise<void>;
  /** Send our Hello and wait for the peer's. */
  handshake(): Promise<void>;
}

export async function rawNeighbour(target: string, fromHost = nextLoopback()): Promise<RawNeighbour> {
  const [host, port] = target.split(':') as [string, string];
  const socket = createConnection({ host, port: Number(port), localAddress: fromHost });
  onTestFinished(() => void socket.destroy());
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const hello = testHello();
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
    if (!socket.write(bytes)) await Promise.race([once(socket, 'drain'), closed]);
  };
  return {
    socket,
    peerId: hello.peerId,
    host: fromHost,
    received,
    closed,
    send,
    async handshake() {
      await send({ case: 'hello', value: { ...hello, protocolVersion: 1, searchAddress: `${fromHost}:7872`, nonce: randomBytes(16) } });
      while (!received.some((m) => m.case === 'hello')) await Promise.race([once(socket, 'data'), closed.then(() => { throw new Error('closed before hello'); })]);
    },
  };
}
