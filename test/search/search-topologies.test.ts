/**
 * Flood search over real TCP in line, ring, star and random graphs: recall within the TTL is
 * complete and nothing beyond it answers; each peer handles a query once; first copies stay within
 * the flood bound, and a later copy with more TTL (re-forwarded, docs/PROTOCOL.md "Flood order")
 * adds at most one copy per other link of its peer; hits come back along the reverse path (one
 * link per hop, none dropped). On loopback first copies come by shortest paths, so no copy has
 * needed re-forwarding in these graphs so far; the bound allows for one that does.
 */
import { describe, expect, it } from 'vitest';
import type { SearchCounters } from '../../src/search/domain/counters.ts';
import { createTestnet, type Testnet } from '../support/testnet.ts';
import type { Topology } from '../support/topology.ts';

/**
 * The plain flood, which these tests count exactly: query routing (on by default) would withhold
 * the last hops from neighbours whose tables do not yet list the files each test shares just
 * before it searches. Routing over real links has its own test (search-routing.test.ts).
 */
const FLOOD = { routeLevels: 0 };

function snapshot(net: Testnet): SearchCounters[] {
  return net.peers.map((p) => structuredClone(p.service.engine.counters));
}

/** Every peer shares one file named after it; peer `origin` searches for all of them. */
async function floodOnce(net: Testnet, origin: number, ttl: number) {
  for (const p of net.peers) if (p.index.entries.length === 0) p.index.add(`needle peer${p.n}.txt`);
  const before = snapshot(net);
  const search = net.peers[origin]!.service.engine.search({ terms: ['needle'], ttl, timeoutMs: 600 });
  const summary = await search.done;
  const after = snapshot(net);
  const delta = (
    key: 'queriesAccepted' | 'queriesReforwarded' | 'queriesSent' | 'hitsSent' | 'hitsForwarded' | 'hitsDropped',
  ) => after.map((c, i) => c[key] - before[i]![key]);
  return { search, summary, delta };
}

async function expectFloodRules(net: Testnet, origin: number, ttl: number): Promise<void> {
  const dist = net.distances(origin);
  const { search, summary, delta } = await floodOnce(net, origin, ttl);
  const found = new Set(search.hits.map((h) => h.holderPeerId));
  const holders = net.peers.map((p) => found.has(p.peerId));
  // Recall 100% within the TTL, nothing beyond it.
  expect(holders).toEqual(dist.map((d) => d <= ttl));
  expect(summary).toMatchObject({ ended: 'deadline', hits: holders.filter(Boolean).length, duplicatesDropped: 0 });
  // Each peer within reach handles the query exactly once; the origin and peers beyond, never.
  expect(delta('queriesAccepted')).toEqual(dist.map((d) => (d >= 1 && d <= ttl ? 1 : 0)));
  // Flood bound: first copies at most one message per link direction; a re-forward, one per other link of its peer.
  const degree = net.peers.map((_, i) => net.edges.filter(([a, b]) => a === i || b === i).length);
  const reforwarded = delta('queriesReforwarded').reduce((sum, r, i) => sum + r * (degree[i]! - 1), 0);
  const sent = delta('queriesSent').reduce((a, b) => a + b, 0);
  expect(sent).toBeLessThanOrEqual(2 * net.edges.length + reforwarded);
  // Reverse path: a hit from h hops away crosses exactly h links, and none is lost on the way.
  for (const hit of search.hits)
    expect(hit.hops).toBeGreaterThanOrEqual(dist[net.peers.findIndex((p) => p.peerId === hit.holderPeerId)]!);
  const hitMessages = [...delta('hitsSent'), ...delta('hitsForwarded')].reduce((a, b) => a + b, 0);
  expect(hitMessages).toBe(search.hits.reduce((sum, h) => sum + h.hops, 0));
  expect(delta('hitsDropped').every((d) => d === 0)).toBe(true);
}

describe('flood search over real TCP', () => {
  it('reaches exactly the peers within the TTL on a line of 20, hits carrying their distance', async () => {
    const net = await createTestnet(20, 'line', FLOOD);
    await expectFloodRules(net, 0, 7);
    const { search } = await floodOnce(net, 5, 3);
    expect(search.hits.map((h) => h.hops).sort()).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('floods both ways round a ring of 30, stopping at the TTL on each side', async () => {
    const net = await createTestnet(30, 'ring', FLOOD);
    await expectFloodRules(net, 0, 4);
    await expectFloodRules(net, 17, 7);
  });

  it('reaches the hub with TTL 1 and every leaf with TTL 2 in a star of 30', async () => {
    const net = await createTestnet(30, 'star', FLOOD);
    await expectFloodRules(net, 3, 1);
    await expectFloodRules(net, 3, 2);
    await expectFloodRules(net, 0, 7);
  });

  it('dynamic querying on a line of 8: widens only while fewer holders than wanted answered, and ends once they have', async () => {
    // Steps 2 s apart: a hit from one link away comes back in milliseconds here, even on a busy machine.
    const net = await createTestnet(8, 'line', { ...FLOOD, dynamicQuerying: { stepMs: 2_000 } });
    net.peers[1]!.index.add('rare peer1.txt'); // 1 link from the origin
    net.peers[6]!.index.add('rare peer6.txt'); // 6 links away
    const origin = net.peers[0]!.service.engine;
    const handled = () => net.peers.map((p) => p.service.engine.counters.queriesAccepted);
    // Want 1: the first step (TTL 2) finds peer 1, and the search ends with it, long before its
    // deadline (a minute: the test's own timeout is half that).
    let before = handled();
    const near = origin.search({ terms: ['rare'], ttl: 7, want: 1, timeoutMs: 60_000 });
    expect(await near.done).toMatchObject({ ended: 'enough', peersAnswered: 1 });
    expect(near.hits.map((h) => h.hops)).toEqual([1]);
    expect(origin.counters.searchesWidened).toBe(0);
    // The TTL 2 copy that peer 1 forwarded may reach peer 2 just after the hit reached us; never further.
    await expect.poll(() => handled().map((n, i) => n - before[i]!)).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    // Want 2: TTL 2 and TTL 4 bring one holder, TTL 7 the second; each step a query of its own.
    before = handled();
    const wide = origin.search({ terms: ['rare'], ttl: 7, want: 2, timeoutMs: 60_000 });
    expect(await wide.done).toMatchObject({ ended: 'enough', peersAnswered: 2 });
    expect(wide.hits.map((h) => h.hops).sort()).toEqual([1, 6]);
    expect(origin.counters.searchesWidened).toBe(2);
    await expect.poll(() => handled().map((n, i) => n - before[i]!)).toEqual([0, 3, 3, 2, 2, 1, 1, 1]);
  });

  it.each<[string, Topology, number, number[]]>([
    ['degree 4, 50 peers', { kind: 'random', degree: 4, seed: 1 }, 50, [2, 3, 7]],
    ['degree 4, 20 peers', { kind: 'random', degree: 4, seed: 7 }, 20, [1, 7]],
  ])('finds every file within the TTL in a random graph (%s)', async (_name, topology, n, ttls) => {
    const net = await createTestnet(n, topology, FLOOD);
    for (const ttl of ttls) await expectFloodRules(net, 0, ttl);
  });
});
