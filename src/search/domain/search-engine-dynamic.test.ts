import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import type { Query } from '../../protocol/gen/wire_pb.ts';
import type { IndexEntry, LinkId, Links, LocalIndex } from '../ports.ts';
import { DEFAULT_DYNAMIC_QUERYING, LAST_STEP_BY, SearchEngine } from './search-engine.ts';

/** Links that record the TTL of every query sent, and when. */
class RecordingLinks implements Links {
  readonly sent: Array<{ ttl: number; at: number }> = [];
  constructor(private readonly clock: ManualClock) {}
  ids(): readonly LinkId[] {
    return ['a'];
  }
  sendQuery(_link: LinkId, query: Query): boolean {
    this.sent.push({ ttl: query.ttl, at: this.clock.now() });
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
  return { clock, links, engine };
}

describe('dynamic querying steps', () => {
  it('widens one step per stepMs while nobody answered, up to the search own TTL', async () => {
    const { clock, links, engine } = setup();
    const search = engine.search({ terms: ['rare'], ttl: 7, want: 5, timeoutMs: 3_000 });
    await clock.advance(3_000);
    expect(search.ended).toBe(true);
    const step = DEFAULT_DYNAMIC_QUERYING.stepMs;
    expect(links.sent).toEqual([
      { ttl: 2, at: 0 },
      { ttl: 4, at: step },
      { ttl: 7, at: 2 * step },
    ]);
  });

  it('steps faster under a short deadline, so the widest step still goes out before it', async () => {
    const { clock, links, engine } = setup();
    engine.search({ terms: ['rare'], ttl: 7, want: 5, timeoutMs: 1_000 });
    await clock.advance(1_000);
    const step = (LAST_STEP_BY * 1_000) / 2;
    expect(links.sent).toEqual([
      { ttl: 2, at: 0 },
      { ttl: 4, at: step },
      { ttl: 7, at: 2 * step },
    ]);
  });
});
