/**
 * Helpers for protocol tests (and later the search adapters' tests): identities, Hellos and a
 * "raw peer" that writes arbitrary bytes at a real session and records what comes back.
 */
import type { Duplex } from 'node:stream';
import { memorySigner } from '../../src/shared/keys.ts';
import { decodeMessage, type WireMessage } from '../../src/protocol/codec.ts';
import { duplexPair } from './duplex-pair.ts';
import { FrameDecoder } from '../../src/protocol/framing.ts';
import { PeerSession, type LocalHello, type SessionOptions } from '../../src/protocol/session.ts';

/** A fresh identity and the Hello fields a peer at 127.0.0.`host` would announce. */
export function testHello(host = 1): LocalHello {
  const { peerId, publicKey } = memorySigner();
  return {
    peerId,
    publicKey: new Uint8Array(publicKey),
    searchAddress: `127.0.0.${host}:7071`,
    filesAddress: `http://127.0.0.${host}:7070`,
  };
}

/** Two sessions talking over an in-memory pair. */
export function sessionPair(timeouts?: SessionOptions['timeouts']): [PeerSession, PeerSession] {
  const [a, b] = duplexPair();
  return [new PeerSession(a, { hello: testHello(1), timeouts }), new PeerSession(b, { hello: testHello(2), timeouts })];
}

/** A session whose other end is driven byte by byte by the test. */
export interface RawPeer {
  readonly session: PeerSession;
  /** The test's end of the stream. */
  readonly raw: Duplex;
  /** Every message the session sent, decoded, once its stream has ended. */
  readonly received: Promise<WireMessage[]>;
}

export function rawPeer(timeouts?: SessionOptions['timeouts']): RawPeer {
  const [raw, end] = duplexPair();
  const decoder = new FrameDecoder();
  const messages: WireMessage[] = [];
  const received = new Promise<WireMessage[]>((resolve) => {
    raw.on('data', (chunk: Buffer) => {
      for (const body of decoder.push(chunk).frames) {
        const decoded = decodeMessage(body);
        if (decoded.ok) messages.push(decoded.message);
      }
    });
    raw.on('close', () => resolve(messages));
    raw.on('end', () => raw.destroy());
    raw.on('error', () => undefined);
  });
  return { session: new PeerSession(end, { hello: testHello(9), timeouts }), raw, received };
}
