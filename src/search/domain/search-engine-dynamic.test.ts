import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { HitSchema, type Query } from '../../protocol/gen/wire_pb.ts';
import { MAX_WANT } from '../../shared/defaults.ts';
import type { IndexEntry, LinkId, Links, LocalIndex } from '../ports.ts';
import { DEFAULT_DYNAMIC_QUERYING, ENOUGH_GRACE_MIN_MS, LAST_STEP_BY, SearchEngine } from './search-engine.ts';

/** Links that record every query sent (its TTL, when, and the query itself). */
class RecordingLinks implements Links {
  readonly sent: Array<{ ttl: number; at: number; query: Query }> = [];
  constructor(private readonly clock: ManualClock) {}
  ids(): readonly LinkId[] {
    return ['a'];
  }
  sendQuery(_link: LinkId, query: Query): boolean {
    this.sent.push({ ttl: query.ttl, at: this.clock.now(), query });
    return true;
  }
  sendHit(): boolean {
    return true;
  }
  disconnect(): void {}
}

const emptyIndex: LocalIndex = {
  parseTerms: (text) => text.split(' '),
  match: (): Promise<IndexEntry[]> => Promise.resolve([]),
  lookup: (): Promise<IndexEntry[]> => Promise.resolve([]),
};

function setup() {
  const clock = new ManualClock();
  const links = new RecordingLinks(clock);
  let n = 0;
  const engine = new SearchEngine({
    identity: { peerId: 'me', publicKey: Buffer.alloc(32), sign: () => Buffer.alloc(64) },
    searchAddress: () => 'me:1',
    filesAddress: () => 'me:2',
    index: emptyIndex,
    links,
    clock,
    randomBytes: (k) => Uint8Array.from({ length: k }, () => (n += 1) % 256),
    routing: { levels: 0 },
  });
  /** `holder`'s answer over link a to the `step`th query sent: one Hit naming each of `names`. */
  const answer = (step: number, holder: string, names: string[], hops = 1) =>
    engine.receiveHit(
      'a',
      create(HitSchema, {
        queryId: links.sent[step]!.query.id,
        results: names.map((name) => ({ fileId: `id-${name}`, name, size: 1n })),
        holderPeerId: holder,
        holderFilesAddress: `${holder}:7871`,
        hops,
      }),
    );
  return { clock, links, engine, answer };
}

const sentTtls = (links: RecordingLinks) => links.sent.map(({ ttl, at }) => ({ ttl, at }));

describe('dynamic querying steps', () => {
  it('widens one step per stepMs while nobody answered, up to the search its own TTL, then runs to its deadline', async () => {
    const { clock, links, engine } = setup();
    const search = engine.search({ terms: ['rare'], ttl: 7, want: 5, timeoutMs: 3_000 });
    await clock.advance(3_000);
    expect(search.ended).toBe(true);
    expect((await search.done).ended).toBe('deadline');
    const step = DEFAULT_DYNAMIC_QUERYING.stepMs;
    expect(sentTtls(links)).toEqual([
      { ttl: 2, at: 0 },
      { ttl: 4, at: step },
      { ttl: 7, at: 2 * step },
    ]);
  });

  it('steps faster under a short deadline, so the widest step still goes out before it', async () => {
    const { clock, links, engine } = setup();
    const search = engine.search({ terms: ['rare'], ttl: 7, want: 5, timeoutMs: 1_000 });
    await clock.advance(1_000);
    expect((await search.done).ended).toBe('deadline');
    const step = (LAST_STEP_BY * 1_000) / 2;
    expect(sentTtls(links)).toEqual([
      { ttl: 2, at: 0 },
      { ttl: 4, at: step },
      { ttl: 7, at: 2 * step },
    ]);
  });

  it('a plain search (no want) is one flood at its TTL, to the deadline, however many answer', async () => {
    const { clock, links, engine, answer } = setup();
    const search = engine.search({ terms: ['song'], ttl: 7, timeoutMs: 1_000 });
    for (const holder of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) answer(0, holder, ['song.ogg']);
    await clock.advance(999);
    expect(search.ended).toBe(false);
    await clock.advance(1);
    expect(await search.done).toMatchObject({ ended: 'deadline', peersAnswered: 6 });
    expect(sentTtls(links)).toEqual([{ ttl: 7, at: 0 }]);
  });

  it('refuses a want that is not a whole number from 1 to MAX_WANT, sending nothing (0 would end at the first answer)', () => {
    const { links, engine } = setup();
    for (const want of [0, -1, 1.5, Number.NaN, MAX_WANT + 1]) {
      expect(() => engine.search({ terms: ['song'], want }), `want ${want}`).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST' }),
      );
    }
    expect(links.sent).toEqual([]);
    expect(engine.search({ terms: ['song'], want: MAX_WANT }).ended).toBe(false);
  });
});

describe('a search with want ends once that many distinct other peers answered', () => {
  it("ends 'enough' a grace after the answer that brings the want, counting each holder once, whatever it sent", async () => {
    const { clock, links, engine, answer } = setup();
    const search = engine.search({ terms: ['song'], ttl: 7, want: 3, timeoutMs: 60_000 });
    await clock.advance(100);
    answer(0, 'p1', ['song.ogg']);
    answer(0, 'p1', ['song.ogg']); // the same answer again (another path): a duplicate
    answer(0, 'p1', ['song live.ogg']); // another file from the same holder: still one holder
    answer(0, 'forger', ['../song.ogg', 'song\u202Egg.exe']); // names no share may have: dropped, not counted
    answer(0, 'me', ['song.ogg'], 0); // zero hops: not another peer
    expect(search.ended).toBe(false);
    await clock.advance(500);
    answer(0, 'p2', ['song.ogg']);
    expect(search.ended).toBe(false);
    answer(0, 'p3', ['song.ogg', 'song remix.ogg']); // the third holder: both its files are kept
    // Enough at 600 ms: no more widening, answers taken for as long again (at least ENOUGH_GRACE_MIN_MS).
    expect(search.ended).toBe(false);
    await clock.advance(599);
    answer(0, 'p5', ['song.ogg']); // within the grace: kept
    expect(search.ended).toBe(false);
    await clock.advance(1);
    expect(search.ended).toBe(true);
    expect(await search.done).toMatchObject({
      ended: 'enough',
      peersAnswered: 5, // p1, p2, p3, p5 and the zero-hop 'me'
      hits: 7,
      duplicatesDropped: 1,
      elapsedMs: 1_200,
    });
    expect(search.hits.filter((h) => h.holderPeerId === 'p3').map((h) => h.name)).toEqual([
      'song.ogg',
      'song remix.ogg',
    ]);
    expect(engine.counters.hitResultsBadName).toBe(2);
    // Over: no wider step goes out, a late answer is dropped, and nothing of it is left.
    await clock.advance(60_000);
    expect(sentTtls(links)).toEqual([{ ttl: 2, at: 0 }]);
    const dropped = engine.counters.hitsDropped;
    answer(0, 'p4', ['song.ogg']);
    expect(engine.counters.hitsDropped).toBe(dropped + 1);
    expect(search.hits).toHaveLength(7);
    expect(engine.activeSearches).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('does not end at the first milliseconds when one answer names enough holders: honest answers within the grace get in', async () => {
    const { clock, engine, answer } = setup();
    const search = engine.search({ terms: ['song'], ttl: 7, want: 3, timeoutMs: 60_000 });
    await clock.advance(5);
    for (const forged of ['f1', 'f2', 'f3']) answer(0, forged, ['song.ogg']); // one neighbour naming made-up holders
    await clock.advance(ENOUGH_GRACE_MIN_MS - 1);
    answer(0, 'honest', ['song.ogg']); // two links further, a few hundred ms later
    expect(search.ended).toBe(false);
    await clock.advance(1);
    expect(await search.done).toMatchObject({ ended: 'enough', elapsedMs: 5 + ENOUGH_GRACE_MIN_MS });
    expect(search.hits.map((h) => h.holderPeerId)).toContain('honest');
  });

  it('counts the answers to every step of it: a holder found by the first step and again by a wider one is one; a search with enough widens no more', async () => {
    const { clock, links, engine, answer } = setup();
    const search = engine.search({ terms: ['song'], ttl: 7, want: 2, timeoutMs: 3_000 });
    answer(0, 'p1', ['song.ogg']);
    await clock.advance(DEFAULT_DYNAMIC_QUERYING.stepMs);
    expect(links.sent.map((s) => s.ttl)).toEqual([2, 4]);
    answer(1, 'p1', ['song.ogg']); // the TTL 4 step reaches p1 again
    expect(search.ended).toBe(false);
    answer(1, 'p2', ['song.ogg']);
    await clock.advance(1_000); // the grace: as long as it took
    expect(await search.done).toMatchObject({ ended: 'enough', peersAnswered: 2, elapsedMs: 2_000 });
    await clock.advance(3_000);
    expect(links.sent.map((s) => s.ttl)).toEqual([2, 4]); // the TTL 7 step never went out
    expect(engine.counters.searchesWidened).toBe(1);
  });
});
