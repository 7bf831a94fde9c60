/**
 * Query routing over real TLS links (feature "qrp", docs/PROTOCOL.md §12): each peer's tables
 * travel to its neighbours and are aggregated into levels, and the last hops of a query go only
 * where a table may match — while every holder within the TTL is still found and the flood rules
 * (each peer handles a query id once) hold.
 */
import { describe, expect, it, vi } from 'vitest';
import { createTestnet, type Testnet } from '../support/testnet.ts';

/** Peer `from`'s engine would send a copy with `ttl` of a query for `terms` to its link to peer `to`. */
function allows(net: Testnet, from: number, to: number, ttl: number, terms: string[]): boolean {
  const peer = net.peers[from]!.service;
  const link = peer.links.linkTo(net.peers[to]!.peerId);
  return link !== undefined && peer.engine.routing.allows(link, ttl, terms, '');
}

describe('query routing over real TLS links', () => {
  it('withholds the last hops where no table matches, and still finds every holder within the TTL', async () => {
    // A line 0-1-2-3-4-5, two levels: a copy with TTL 2 goes to a neighbour only if its level 1
    // table (itself and its neighbours) may match, one with TTL 1 only if its own table may.
    const net = await createTestnet(6, 'line', { routeLevels: 2 });
    await net.linked();
    net.peers[4]!.index.add('target peer4.txt');
    // The new share is read into peer 4's table, sent to peer 3, and aggregated into peer 3's
    // level 1, which peer 2 routes by; and peer 3 knows peer 4 holds it. Until then the tables
    // say "nothing here" (peer 4 shared nothing when they were first sent).
    await vi.waitFor(
      () => {
        expect(allows(net, 2, 3, 2, ['target'])).toBe(true);
        expect(allows(net, 3, 4, 1, ['target'])).toBe(true);
      },
      { timeout: 30_000, interval: 50 },
    );
    // The tables are real: nothing behind peer 3 has "absent", nor is peer 5 behind peer 4's own table.
    expect(allows(net, 2, 3, 2, ['absent'])).toBe(false);
    expect(allows(net, 4, 5, 1, ['target'])).toBe(false);
    // Beyond the routed hops the flood goes on as before.
    expect(allows(net, 1, 2, 3, ['absent'])).toBe(true);

    const handled = () => net.peers.map((p) => p.service.engine.counters.queriesAccepted);
    const origin = net.peers[0]!.service.engine;

    let before = handled();
    const found = origin.search({ terms: ['target'], ttl: 4, timeoutMs: 1_500 });
    await found.done;
    expect(found.hits.map((h) => [h.holderPeerId, h.hops])).toEqual([[net.peers[4]!.peerId, 4]]);
    // Peers 1-4 each handle it once; peer 5 is beyond the TTL.
    expect(handled().map((n, i) => n - before[i]!)).toEqual([0, 1, 1, 1, 1, 0]);

    before = handled();
    const notRouted = net.peers[2]!.service.engine.counters.queriesNotRouted;
    const nothing = origin.search({ terms: ['absent'], ttl: 4, timeoutMs: 1_500 });
    await nothing.done;
    expect(nothing.hits).toEqual([]);
    // The flood reached peers 1 and 2; peer 2 withheld it from peer 3 (whose level 1 cannot match).
    expect(handled().map((n, i) => n - before[i]!)).toEqual([0, 1, 1, 0, 0, 0]);
    expect(net.peers[2]!.service.engine.counters.queriesNotRouted).toBe(notRouted + 1);
  });

  it('with routing off (searchRouteLevels 0) sends no tables and floods every hop', async () => {
    const net = await createTestnet(4, 'line', { routeLevels: 0 });
    await net.linked();
    const handled = () => net.peers.map((p) => p.service.engine.counters.queriesAccepted);
    const before = handled();
    const search = net.peers[0]!.service.engine.search({ terms: ['absent'], ttl: 3, timeoutMs: 1_000 });
    await search.done;
    expect(handled().map((n, i) => n - before[i]!)).toEqual([0, 1, 1, 1]);
    expect(net.peers.map((p) => p.service.engine.counters.routeTablesSent)).toEqual([0, 0, 0, 0]);
  });
});
