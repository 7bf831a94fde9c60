/**
 * Search links over TLS 1.3 pinned to peer ids (issue 12, docs/PROTOCOL.md §2), over real
 * sockets: a neighbour whose Hello claims another id than its certificate, a version 1 Hello, a
 * plaintext client and broken ClientHellos on the link port, and a dial to an address that
 * proves another id than the candidate's are each refused and logged, and the service keeps
 * serving. (That links work over TLS at all is every other test in test/search: the testnet
 * runs on TLS.)
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/codec.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { splitAddress } from '../../src/shared/address.ts';
import { nextLoopback } from '../support/loopback.ts';
import { rawNeighbour } from '../support/raw-neighbour.ts';
import { createTestnet, type Testnet, type TestPeer } from '../support/testnet.ts';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger that keeps every line (info and above) and tells when one comes. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const events = new EventEmitter<{ line: [LogLine] }>();
  const logger = pino(
    { level: 'info' },
    {
      write: (text: string) => {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        events.emit('line', line);
      },
    },
  );
  /** The first line (already logged or to come) whose message matches. */
  const line = async (match: RegExp): Promise<LogLine> => {
    for (;;) {
      const found = lines.find((l) => match.test(l.msg));
      if (found) return found;
      await once(events, 'line');
    }
  };
  return { logger, lines, line };
}

/** The id-shaped query a neighbour would send. */
function query(origin: string, host: string) {
  return {
    case: 'query' as const,
    value: {
      id: { nonce: randomBytes(16), originPeerId: origin, originAddress: `${host}:7872` },
      terms: ['needle'],
      ttl: 2,
      hops: 0,
    },
  };
}

/** Peer 1 still finds what peer 0 shares: the overlay and the link port are fine. */
async function stillServes(net: Testnet): Promise<void> {
  const search = net.peers[1]!.service.engine.search({ terms: ['needle'], timeoutMs: 5_000, limit: 1 });
  expect((await search.done).ended).toBe('limit');
  const fresh = await rawNeighbour(net.peers[0]!.service.searchAddress, nextLoopback(), {
    expectedPeerId: net.peers[0]!.peerId,
  });
  await fresh.handshake();
  expect(fresh.received[0]).toMatchObject({
    case: 'hello',
    value: { peerId: net.peers[0]!.peerId, protocolVersion: 2 },
  });
}

/** A plain TCP connection from a loopback address of its own that writes `bytes`, ends, and waits to be closed. */
async function plaintext(address: string, bytes: Uint8Array, end: boolean): Promise<{ received: number }> {
  const { host, port } = splitAddress(address);
  const socket: Socket = connect({ host, port, localAddress: nextLoopback() });
  socket.on('error', () => undefined);
  let received = 0;
  socket.on('data', (chunk: Buffer) => void (received += chunk.length));
  await once(socket, 'connect');
  const closed = once(socket, 'close');
  socket.write(bytes);
  if (end) socket.end();
  await closed;
  return { received };
}

describe('search links over TLS', () => {
  it('refuses a neighbour whose hello claims another id than its certificate proves, and processes nothing from it', async () => {
    const log = capturingLogger();
    const net = await createTestnet(2, 'line', { logger: log.logger });
    net.peers[0]!.index.add('needle.txt');
    const impostor = await rawNeighbour(net.peers[0]!.service.searchAddress);
    const claimed = memorySigner();
    // The Hello is consistent in itself (id and key belong together), but names someone else; a query follows at once.
    const hello = impostor.hello({ peerId: claimed.peerId, publicKey: claimed.publicKey });
    await impostor.send(Buffer.concat([encodeFrame(hello), encodeFrame(query(claimed.peerId, impostor.host))]));
    await impostor.closed;
    const reason = `the hello claims peer ${claimed.peerId} but the TLS certificate proved ${impostor.peerId}`;
    expect(impostor.received.at(-1)).toMatchObject({ case: 'close', value: { code: 20, reason } });
    expect(impostor.received.some((m) => m.case === 'hit')).toBe(false);
    const refused = await log.line(/^link refused: the hello claims/);
    expect(refused).toMatchObject({ msg: `link refused: ${reason}`, reason: 'peer-mismatch', peerId: impostor.peerId });
    expect(net.peers[0]!.service.engine.counters.queriesReceived).toBe(0);
    await net.linked();
    expect(net.peers[0]!.service.links.list().map((l) => l.peerId)).toEqual([net.peers[1]!.peerId]);
    await stillServes(net);
  });

  it('refuses a version 1 hello, telling the peer to upgrade', async () => {
    const log = capturingLogger();
    const net = await createTestnet(2, 'line', { logger: log.logger });
    net.peers[0]!.index.add('needle.txt');
    const old = await rawNeighbour(net.peers[0]!.service.searchAddress);
    await old.send(old.hello({ protocolVersion: 1 }));
    await old.closed;
    expect(old.received.at(-1)).toMatchObject({
      case: 'close',
      value: { code: 1, reason: expect.stringMatching(/^version 1 peer: upgrade/) },
    });
    expect(await log.line(/^link refused: version 1 peer: upgrade/)).toMatchObject({
      reason: 'version-mismatch',
      peerId: old.peerId,
    });
    await stillServes(net);
  });

  it('closes a plaintext client, a garbage ClientHello and a truncated one on the link port, and keeps serving', async () => {
    const log = capturingLogger();
    const net = await createTestnet(2, 'line', { logger: log.logger });
    net.peers[0]!.index.add('needle.txt');
    const address = net.peers[0]!.service.searchAddress;
    // A version 1 peer: plaintext frames, from another loopback address (this host, yet no plaintext path on a link port).
    const v1 = await plaintext(address, encodeFrame(query(memorySigner().peerId, '127.0.0.1')), false);
    expect(v1.received).toBe(0);
    expect(await log.line(/^peer connection refused: not TLS/)).toBeDefined();
    // A TLS record header followed by bytes that are no ClientHello.
    const garbage = await plaintext(
      address,
      Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), randomBytes(64)]),
      false,
    );
    expect(garbage.received).toBeLessThan(64); // at most an alert: no handshake
    // A ClientHello cut short, then the end of the stream.
    const truncated = await plaintext(
      address,
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
      true,
    );
    expect(truncated.received).toBeLessThan(64);
    expect(
      log.lines.filter((l) => /^peer connection refused: TLS handshake failed/.test(l.msg)).length,
    ).toBeGreaterThanOrEqual(1);
    expect(net.peers[0]!.service.links.list().map((l) => l.peerId)).toEqual([net.peers[1]!.peerId]);
    await stillServes(net);
  });

  it('refuses to link to an address that proves another id than the candidate, then links when the id is right', async () => {
    const log = capturingLogger();
    const net = await createTestnet(3, 'line', { logger: log.logger });
    const [a, b, c] = net.peers as [TestPeer, TestPeer, TestPeer];
    // A record of some peer X gives C's address: C proves its own id, not X's.
    const x = memorySigner().peerId;
    a.candidates = [
      { searchAddress: b.service.searchAddress, peerId: b.peerId },
      { searchAddress: c.service.searchAddress, peerId: x },
    ];
    const refused = await log.line(/^link refused: expected peer/);
    expect(refused.msg).toBe(
      `link refused: expected peer ${x} but the peer proved ${c.peerId} at ${c.service.searchAddress}`,
    );
    expect(refused).toMatchObject({ address: c.service.searchAddress, expected: x, proven: c.peerId });
    expect(a.service.links.list().map((l) => l.peerId)).toEqual([b.peerId]);
    expect(c.service.links.list().map((l) => l.peerId)).toEqual([b.peerId]);
    // With C's own id the same address links.
    a.candidates = [
      { searchAddress: b.service.searchAddress, peerId: b.peerId },
      { searchAddress: c.service.searchAddress, peerId: c.peerId },
    ];
    while (!a.service.links.list().some((l) => l.peerId === c.peerId)) await once(a.service.links.events, 'change');
  });
});
