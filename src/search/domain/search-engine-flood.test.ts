import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { HitSchema, QuerySchema, type Hit, type Query } from '../../protocol/gen/wire_pb.ts';
import { ROUTE_TABLE_MIN_BITS_LOG2, RouteTable } from '../../protocol/route-table.ts';
import type { IndexEntry, LinkId, Links, LocalIndex } from '../ports.ts';
import type { RateLimits } from './link-guard.ts';
import { SearchEngine } from './search-engine.ts';

/** Links that record what the engine sends over them. */
class RecordingLinks implements Links {
  readonly queries: Array<{ link: LinkId; ttl: number; hops: number }> = [];
  readonly hits: Array<{ link: LinkId; hit: Hit }> = [];
  constructor(readonly links: LinkId[]) {}
  ids(): readonly LinkId[] {
    return this.links;
  }
  sendQuery(link: LinkId, query: Query): boolean {
    this.queries.push({ link, ttl: query.ttl, hops: query.hops });
    return true;
  }
  sendHit(link: LinkId, hit: Hit): boolean {
    this.hits.push({ link, hit });
    return true;
  }
  disconnect(): void {}
}

/** Holds one file, "song.mp3". */
class OneFileIndex implements LocalIndex {
  parseTerms(text: string): string[] {
    return text.split(' ');
  }
  match(terms: readonly string[]): Promise<IndexEntry[]> {
    return Promise.resolve(terms.includes('song') ? [{ id: 'f1', name: 'song.mp3', size: 3 }] : []);
  }
  lookup(): Promise<IndexEntry[]> {
    return Promise.resolve([]);
  }
}

function setup(links: LinkId[], options: { rateLimits?: RateLimits; levels?: number; reforwardBelow?: number } = {}) {
  const clock = new ManualClock();
  const recording = new RecordingLinks(links);
  const engine = new SearchEngine({
    identity: { peerId: 'me', publicKey: Buffer.alloc(32), sign: () => Buffer.alloc(64) },
    searchAddress: () => 'me:1',
    filesAddress: () => 'me:2',
    index: new OneFileIndex(),
    links: recording,
    clock,
    randomBytes: (k) => new Uint8Array(k),
    router: { maxTtl: 7, ...(options.reforwardBelow ? { reforwardBelow: options.reforwardBelow } : {}) },
    routing: { levels: options.levels ?? 0 },
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
  });
  return { clock, links: recording, engine };
}

const ID = { nonce: new Uint8Array(16).fill(7), originPeerId: 'origin', originAddress: 'o:1' };

function query(ttl: number, hops: number, terms = ['song']): Query {
  return create(QuerySchema, { id: ID, terms, fileId: '', ttl, hops });
}

describe('SearchEngine: copies of a query it handled before', () => {
  it('forwards a later copy with more TTL again, answers only the first, and sends hits back the first copy’s way', async () => {
    const { clock, links, engine } = setup(['long', 'short', 'c']);
    // The first copy came the long way: 3 links, no TTL left. It is answered, not forwarded.
    engine.receiveQuery('long', query(1, 2));
    await clock.advance(0);
    expect(links.queries).toEqual([]);
    expect(links.hits.map((h) => [h.link, h.hit.hops])).toEqual([['long', 3]]);
    // The same query by the short way, with 2 links still to go: forwarded to the others, not
    // answered. Not back over "long": that neighbour sent TTL 1, so it has seen the query with as
    // much as our copy would leave it.
    engine.receiveQuery('short', query(3, 0));
    await clock.advance(0);
    expect(links.queries).toEqual([{ link: 'c', ttl: 2, hops: 1 }]);
    expect(links.hits).toHaveLength(1);
    expect(engine.counters).toMatchObject({ queriesAccepted: 1, queriesReforwarded: 1, hitsSent: 1 });
    // Equal or lower TTL: dropped, nothing sent.
    engine.receiveQuery('c', query(3, 0));
    engine.receiveQuery('long', query(2, 0));
    await clock.advance(0);
    expect(links.queries).toHaveLength(1);
    expect(engine.counters.queriesDropped.duplicate).toBe(2);
    // A hit from a peer the re-forwarded copy reached goes back over the first copy's link.
    const hit = create(HitSchema, {
      queryId: ID,
      results: [],
      holderPeerId: 'far',
      holderFilesAddress: 'f:2',
      hops: 3,
    });
    engine.receiveHit('c', hit);
    expect(links.hits.map((h) => h.link)).toEqual(['long', 'long']);
  });

  it('counts a neighbour’s resends of one id with rising TTL against its rate limit, and never past the clamp', async () => {
    const rateLimits = { queriesPerSecond: 1, queryBurst: 4, strikeBurst: 1_000, strikesForgivenPerSecond: 0 };
    // Re-forwarding any higher copy (not only at the rim, the default): the most a neighbour could buy.
    const { clock, links, engine } = setup(['hostile', 'b', 'c'], { rateLimits, reforwardBelow: 8 });
    for (let ttl = 1; ttl <= 20; ttl++) engine.receiveQuery('hostile', query(ttl, 0));
    // Four copies admitted (TTL 1 to 4: answered once, forwarded with 1, 2, 3); the other 16 refused.
    expect(engine.counters).toMatchObject({ queriesRateLimited: 16, queriesAccepted: 1, queriesReforwarded: 3 });
    // Within its rate (one a second), every TTL up to 255: at most 7 − 1 forwards of one query in
    // all, none with more than 6 links to go.
    for (let ttl = 1; ttl <= 255; ttl++) {
      await clock.advance(1_000);
      engine.receiveQuery('hostile', query(ttl, 0));
    }
    const forwardTtls = [...new Set(links.queries.map((q) => q.ttl))];
    expect(forwardTtls).toEqual([1, 2, 3, 4, 5, 6]);
    expect(links.queries).toHaveLength(6 * 2);
    expect(engine.counters.queriesReforwarded).toBe(6); // the first copy (TTL 1) went nowhere
    expect(engine.counters.queriesRateLimited).toBe(16);
    expect(links.hits).toHaveLength(1);
  });

  it('sends a re-forwarded copy at the last hops only where route tables allow, as a first copy', async () => {
    const { clock, links, engine } = setup(['long', 'short', 'match', 'other'], { levels: 2 });
    const table = (word: string) => {
      const t = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
      t.addTokens([word]);
      return t;
    };
    for (const [link, word] of [
      ['match', 'song'],
      ['other', 'else'],
      ['long', 'else'],
    ] as const)
      engine.receiveRouteTable(link, 0, table(word));
    engine.receiveQuery('long', query(1, 3));
    engine.receiveQuery('short', query(2, 0)); // forwarded again with TTL 1: level 0 tables decide
    await clock.advance(0);
    // "long" has seen it (not sent); "other" has no match behind it (not routed).
    expect(links.queries.map((q) => q.link)).toEqual(['match']);
    expect(engine.counters.queriesNotRouted).toBe(1);
  });
});
