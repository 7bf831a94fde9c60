/**
 * Hostile neighbours over real TCP (TEST-PLAN 1-5, 23, 30, 31): floods of random query ids, a
 * neighbour over its rate limit, TTL 255, queries and hits naming a bystander, crafted frames and
 * many identities from one address. Each closes or throttles only the offending link; honest
 * searches keep working.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { encodeFrame } from '../../src/protocol/codec.ts';
import { frame } from '../../src/protocol/framing.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { nextLoopback } from '../support/loopback.ts';
import { rawNeighbour, type RawNeighbour } from '../support/raw-neighbour.ts';
import { createTestnet, type Testnet } from '../support/testnet.ts';

const address = (net: Testnet, i: number) => net.peers[i]!.service.searchAddress;

function query(
  from: RawNeighbour,
  extra: { ttl?: number; hops?: number; originAddress?: string; terms?: string[] } = {},
) {
  const id = {
    nonce: randomBytes(16),
    originPeerId: from.peerId,
    originAddress: extra.originAddress ?? `${from.host}:7872`,
  };
  return {
    case: 'query' as const,
    value: { id, terms: extra.terms ?? ['needle'], ttl: extra.ttl ?? 1, hops: extra.hops ?? 0 },
  };
}

/**
 * Resolves once peer `i` has no link in handshake or closing: the raw neighbour may see its
 * connection closed a moment before the peer has finished closing its end.
 */
async function settled(net: Testnet, i: number): Promise<void> {
  const links = net.peers[i]!.service.links;
  while (links.pending > 0 || links.list().length !== new Set(links.list().map((l) => l.peerId)).size)
    await once(links.events, 'change');
}

/** Peer 1 (honest) searches and must still find the file shared at peer 0. */
async function honestSearchFindsPeer0(net: Testnet): Promise<void> {
  const search = net.peers[1]!.service.engine.search({ terms: ['needle'], timeoutMs: 5_000, limit: 1 });
  const summary = await search.done;
  expect(summary.ended).toBe('limit');
  expect(search.hits[0]?.holderPeerId).toBe(net.peers[0]!.peerId);
}

describe('search under hostile neighbours', () => {
  it('keeps the seen-cache at its cap under 10^5 random query ids and still answers honest queries', async () => {
    const rateLimits = { queriesPerSecond: 1e9, queryBurst: 1e9, strikeBurst: 1, strikesForgivenPerSecond: 0 };
    const net = await createTestnet(2, 'line', { seenCapacity: 10_000, rateLimits });
    net.peers[0]!.index.add('needle.txt');
    const attacker = await rawNeighbour(address(net, 0));
    await attacker.handshake();
    for (let batch = 0; batch < 100; batch++) {
      await attacker.send(
        Buffer.concat(Array.from({ length: 1_000 }, () => encodeFrame(query(attacker, { terms: ['nothing'] })))),
      );
    }
    const engine = net.peers[0]!.service.engine;
    await expect.poll(() => engine.counters.queriesReceived, { timeout: 20_000 }).toBe(100_000);
    expect(engine.counters.queriesAccepted).toBe(100_000);
    expect(engine.router.stats.seen).toBe(10_000);
    await honestSearchFindsPeer0(net);
  });

  it('drops queries over the rate limit and disconnects a neighbour that keeps flooding', async () => {
    const net = await createTestnet(2, 'line');
    net.peers[0]!.index.add('needle.txt');
    const attacker = await rawNeighbour(address(net, 0));
    await attacker.handshake();
    for (let i = 0; i < 2_000 && !attacker.socket.destroyed; i++) await attacker.send(query(attacker));
    await attacker.closed;
    const counters = net.peers[0]!.service.engine.counters;
    expect(counters.queriesAccepted).toBeLessThanOrEqual(200);
    expect(counters.queriesRateLimited).toBeGreaterThan(0);
    expect(counters.linksDisconnected).toBe(1);
    expect(attacker.received.at(-1)).toMatchObject({
      case: 'close',
      value: { code: 15, reason: 'query rate limit exceeded' },
    });
    await honestSearchFindsPeer0(net);
  });

  it('clamps TTL 255 to the maximum and drops hops beyond it', async () => {
    // The plain flood (no query routing): what is counted is the clamp, not the tables.
    const net = await createTestnet(12, 'line', { routeLevels: 0 });
    for (const p of net.peers) p.index.add(`needle ${p.n}.txt`);
    const attacker = await rawNeighbour(address(net, 0));
    await attacker.handshake();
    await attacker.send(query(attacker, { ttl: 255 }));
    // The attacker is peer 0's neighbour: peers 0-6 are within 7 links of it.
    await expect.poll(() => attacker.received.filter((m) => m.case === 'hit').length).toBe(7);
    const hops = attacker.received.flatMap((m) => (m.case === 'hit' ? [m.value.hops] : []));
    expect(Math.max(...hops)).toBe(7);
    expect(net.peers.map((p) => p.service.engine.counters.queriesAccepted)).toEqual([
      1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    ]);
    await attacker.send(query(attacker, { ttl: 3, hops: 200 }));
    await expect.poll(() => net.peers[0]!.service.engine.counters.queriesDropped['too-many-hops']).toBe(1);
  });

  it('never connects to a bystander named in a query or a hit', async () => {
    const bystander = nextLoopback();
    let connections = 0;
    for (const port of [DEFAULT_PORTS.searchPort, DEFAULT_PORTS.searchApiPort, DEFAULT_PORTS.filesPort]) {
      const server = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(port, bystander, resolve));
      onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    }
    const net = await createTestnet(5, 'ring');
    for (const p of net.peers) p.index.add(`needle ${p.n}.txt`);
    const attacker = await rawNeighbour(address(net, 0));
    await attacker.handshake();
    const q = query(attacker, { ttl: 7, originAddress: `${bystander}:${DEFAULT_PORTS.searchPort}` });
    await attacker.send(q);
    // Every hit comes back over the link the query arrived on, to the attacker.
    await expect.poll(() => attacker.received.filter((m) => m.case === 'hit').length).toBe(5);
    const forged = {
      queryId: q.value.id,
      results: [{ fileId: 'ab'.repeat(32), name: 'x', size: 1n }],
      holderPeerId: attacker.peerId,
      holderFilesAddress: `http://${bystander}:${DEFAULT_PORTS.filesPort}`,
      hops: 1,
    };
    await attacker.send({ case: 'hit', value: forged });
    await expect.poll(() => net.peers[0]!.service.engine.counters.hitsDropped).toBe(1);
    expect(net.peers.every((p) => p.service.links.list().every((l) => !l.searchAddress.startsWith(bystander)))).toBe(
      true,
    );
    expect(connections).toBe(0);
  });

  it.each([
    ['a huge length prefix', false, Uint8Array.of(0xff, 0xff, 0xff, 0xff), 12],
    ['garbage', true, frame(Uint8Array.of(0xff, 0xfe, 0x01, 0x99, 0x42)), 1],
    ['an unknown message type', true, frame(Uint8Array.of((12 << 3) | 2, 0)), 1],
    ['a query before hello', false, frame(Uint8Array.of(0x12, 0)), 1],
    ['an invalid query', true, frame(Uint8Array.of(0x12, 0x02, 0x20, 0x07)), 1],
  ])('closes only the link that sends %s', async (_name, afterHello, bytes, code) => {
    const net = await createTestnet(2, 'line');
    net.peers[0]!.index.add('needle.txt');
    const attacker = await rawNeighbour(address(net, 0));
    if (afterHello) await attacker.handshake();
    await attacker.send(bytes);
    await attacker.closed;
    expect(attacker.received.at(-1)).toMatchObject({ case: 'close', value: { code } });
    await net.linked(); // exactly the graph neighbours again: the attacker's link is gone
    expect(net.peers[0]!.service.links.list().map((l) => l.peerId)).toEqual([net.peers[1]!.peerId]);
    await honestSearchFindsPeer0(net);
  });

  it('caps the links one address may hold, whatever identities it claims', async () => {
    const net = await createTestnet(1, 'line');
    const from = nextLoopback();
    const sybils = await Promise.all(Array.from({ length: 7 }, () => rawNeighbour(address(net, 0), from)));
    await Promise.allSettled(sybils.map((s) => s.handshake()));
    await settled(net, 0); // the refused links have closed, so their Close has been read
    const refused = sybils.filter((s) => s.received.some((m) => m.case === 'close'));
    expect(refused.length).toBe(3);
    expect(net.peers[0]!.service.links.list().length).toBe(4);
  });
});
