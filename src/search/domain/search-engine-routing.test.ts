import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { QuerySchema, type Query } from '../../protocol/gen/wire_pb.ts';
import { ROUTE_TABLE_MIN_BITS_LOG2, RouteTable } from '../../protocol/route-table.ts';
import type { IndexEntry, LinkId, Links, LocalIndex } from '../ports.ts';
import { DEFAULT_ROUTING, SearchEngine } from './search-engine.ts';

function tableOf(words: readonly string[]): RouteTable {
  const table = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
  table.addTokens(words);
  return table;
}

/** Links that record what the engine sends over them. */
class RecordingLinks implements Links {
  readonly queries: Array<{ link: LinkId; query: Query }> = [];
  readonly tables: Array<{ link: LinkId; level: number; table: RouteTable; at: number }> = [];
  readonly disconnected: Array<{ link: LinkId; reason: string }> = [];
  constructor(
    public links: LinkId[],
    private readonly clock: ManualClock,
  ) {}
  ids(): readonly LinkId[] {
    return this.links;
  }
  sendQuery(link: LinkId, query: Query): boolean {
    this.queries.push({ link, query });
    return true;
  }
  sendHit(): boolean {
    return true;
  }
  disconnect(link: LinkId, reason: string): void {
    this.disconnected.push({ link, reason });
  }
  sendRouteTable(link: LinkId, level: number, table: RouteTable): boolean {
    this.tables.push({ link, level, table, at: this.clock.now() });
    return true;
  }
}

/** An index whose route table is whatever the test says. */
class TableIndex implements LocalIndex {
  table = tableOf(['mine']);
  reads = 0;
  parseTerms(text: string): string[] {
    return text.split(' ');
  }
  match(): Promise<IndexEntry[]> {
    return Promise.resolve([]);
  }
  lookup(): Promise<IndexEntry[]> {
    return Promise.resolve([]);
  }
  routeTable(): Promise<RouteTable> {
    this.reads += 1;
    return Promise.resolve(this.table);
  }
}

function setup(links: LinkId[], levels = 2) {
  const clock = new ManualClock();
  const recording = new RecordingLinks(links, clock);
  const index = new TableIndex();
  let n = 0;
  const engine = new SearchEngine({
    identity: { peerId: 'me', publicKey: Buffer.alloc(32), sign: () => Buffer.alloc(64) },
    searchAddress: () => 'me:1',
    filesAddress: () => 'me:2',
    index,
    links: recording,
    clock,
    randomBytes: (k) => Uint8Array.from({ length: k }, () => (n += 1) % 256),
    routing: { levels },
  });
  return { clock, links: recording, index, engine };
}

function queryFrom(terms: string[], ttl: number, nonce: number): Query {
  return create(QuerySchema, {
    id: { nonce: new Uint8Array(16).fill(nonce), originPeerId: 'origin', originAddress: 'o:1' },
    terms,
    fileId: '',
    ttl,
    hops: 0,
  });
}

describe('SearchEngine with query routing', () => {
  it('forwards a copy with ttl r ≤ levels only to links whose level r − 1 table may match; the rest as a flood', () => {
    const { engine, links } = setup(['in', 'a', 'b', 'c']);
    engine.receiveRouteTable('a', 0, tableOf(['song']));
    engine.receiveRouteTable('b', 0, tableOf(['other']));
    engine.receiveRouteTable('a', 1, tableOf(['other']));
    engine.receiveRouteTable('b', 1, tableOf(['song']));
    // c sent nothing: it gets every copy.
    engine.receiveQuery('in', queryFrom(['song'], 2, 1)); // forwarded with ttl 1: level 0
    expect(links.queries.map((q) => q.link)).toEqual(['a', 'c']);
    links.queries.length = 0;
    engine.receiveQuery('in', queryFrom(['song'], 3, 2)); // forwarded with ttl 2: level 1
    expect(links.queries.map((q) => q.link)).toEqual(['b', 'c']);
    links.queries.length = 0;
    engine.receiveQuery('in', queryFrom(['nothing'], 4, 3)); // ttl 3 > 2 levels: flood
    expect(links.queries.map((q) => q.link)).toEqual(['a', 'b', 'c']);
    expect(engine.counters.queriesNotRouted).toBe(2);
  });

  it('routes its own searches too: a TTL 2 step goes only where a level 1 table matches', () => {
    const { engine, links } = setup(['a', 'b']);
    engine.receiveRouteTable('a', 1, tableOf(['song']));
    engine.receiveRouteTable('b', 1, tableOf(['other']));
    engine.search({ terms: ['song'], ttl: 2 });
    expect(links.queries.map((q) => q.link)).toEqual(['a']);
    links.queries.length = 0;
    engine.search({ terms: ['song'], ttl: 3 }); // past the levels: every link
    expect(links.queries.map((q) => q.link)).toEqual(['a', 'b']);
    engine.cancelAll();
  });

  it('off (levels 0): tables are ignored, none are sent, every copy goes', async () => {
    const { engine, links, clock } = setup(['a', 'b'], 0);
    engine.startRouting();
    engine.linkReady('a');
    engine.receiveRouteTable('a', 0, tableOf(['other']));
    await clock.advance(DEFAULT_ROUTING.refreshMs * 2);
    engine.receiveQuery('b', queryFrom(['song'], 2, 1));
    expect(links.queries.map((q) => q.link)).toEqual(['a']);
    expect(links.tables).toEqual([]);
    expect(engine.counters.routeTablesIgnored).toBe(1);
  });

  it('sends a new link our tables at once; reads its own table at start and every refresh interval', async () => {
    const { engine, links, clock, index } = setup(['a']);
    engine.startRouting();
    await clock.advance(0);
    expect(index.reads).toBe(1);
    // Level 0 ours; level 1 full while a has sent nothing (we would flood to it).
    expect(links.tables.map((t) => [t.link, t.level, t.table.fill === 1])).toEqual([
      ['a', 0, false],
      ['a', 1, true],
    ]);
    links.links = ['a', 'b'];
    engine.linkReady('b');
    expect(links.tables.slice(2).map((t) => [t.link, t.level])).toEqual([
      ['b', 0],
      ['b', 1],
    ]);
    await clock.advance(DEFAULT_ROUTING.refreshMs);
    expect(index.reads).toBe(2);
    index.table = tableOf(['mine', 'new']);
    const before = links.tables.length;
    await clock.advance(DEFAULT_ROUTING.refreshMs);
    expect(index.reads).toBe(3);
    // Coalesced: the change goes out once `updateMs` has passed since the tables the links got at once.
    await clock.advance(DEFAULT_ROUTING.updateMs);
    // Only the levels that changed: level 0 (level 1 is still full) to each link.
    expect(links.tables.slice(before).map((t) => [t.link, t.level])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    engine.stopRouting();
    expect(clock.pending).toBe(0);
  });

  it('coalesces: a burst of neighbour tables costs each link one update per interval, on the clock, no busy loop', async () => {
    const { engine, links, clock } = setup(['a', 'b']);
    engine.startRouting();
    await clock.advance(0);
    const first = links.tables.length; // levels 0 and 1 to a and b
    expect(first).toBe(4);
    for (let i = 0; i < 5; i += 1) {
      engine.receiveRouteTable('a', 0, tableOf(['alpha', String(i)]));
      engine.receiveRouteTable('b', 0, tableOf(['beta', String(i)]));
    }
    expect(clock.pending).toBe(2); // the refresh, and one update
    await clock.advance(DEFAULT_ROUTING.updateMs - 1);
    expect(links.tables.length).toBe(first);
    await clock.advance(1);
    const update = links.tables.slice(first);
    expect(update.map((t) => [t.link, t.level])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(update[0]!.table.mayMatch(['beta', '4'], '') && update[0]!.table.mayMatch(['alpha', '4'], '')).toBe(true);
    engine.receiveRouteTable('a', 0, tableOf(['alpha', 'later']));
    await clock.advance(DEFAULT_ROUTING.updateMs - 1);
    expect(links.tables.length).toBe(first + 2);
    await clock.advance(1);
    expect(links.tables.length).toBe(first + 4);
    // Per link, updates are at least the interval apart.
    for (const link of ['a', 'b']) {
      const times = [...new Set(links.tables.filter((t) => t.link === link).map((t) => t.at))];
      for (let i = 1; i < times.length; i += 1)
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(DEFAULT_ROUTING.updateMs);
    }
    expect(engine.counters.routeTablesSent).toBe(links.tables.length);
    expect(engine.counters.routeTablesReceived).toBe(11);
    engine.stopRouting();
  });

  it('cuts a link that sends tables faster than the bound; honest pace never is', async () => {
    const { engine, links, clock } = setup(['honest', 'hostile']);
    // Honest: its levels each update interval, for a long while.
    for (let round = 0; round < 50; round += 1) {
      for (let level = 0; level < 4; level += 1) engine.receiveRouteTable('honest', level, tableOf([String(round)]));
      await clock.advance(DEFAULT_ROUTING.updateMs);
    }
    expect(links.disconnected).toEqual([]);
    // Hostile: one burst past the bound.
    for (let i = 0; i <= DEFAULT_ROUTING.tableBurst; i += 1)
      engine.receiveRouteTable('hostile', 0, tableOf(['x', String(i)]));
    expect(links.disconnected).toEqual([{ link: 'hostile', reason: 'route table rate exceeded' }]);
    expect(engine.counters.linksDisconnected).toBe(1);
    // Its tables are gone: it is flooded to again, until the adapter closes it.
    expect(engine.routing.tableOf('hostile', 0)).toBeUndefined();
    engine.stopRouting();
  });

  it('a closed link’s tables are dropped, and the others are told what changed', async () => {
    const { engine, links, clock } = setup(['a', 'b']);
    engine.startRouting();
    engine.receiveRouteTable('a', 0, tableOf(['alpha']));
    engine.receiveRouteTable('b', 0, tableOf(['beta']));
    await clock.advance(DEFAULT_ROUTING.updateMs);
    const level1ToA = links.tables.filter((t) => t.link === 'a' && t.level === 1).at(-1)!;
    expect(level1ToA.table.mayMatch(['beta'], '')).toBe(true);
    links.links = ['a'];
    engine.linkClosed('b');
    expect(engine.routing.tableOf('b', 0)).toBeUndefined();
    await clock.advance(DEFAULT_ROUTING.updateMs);
    const after = links.tables.filter((t) => t.link === 'a' && t.level === 1).at(-1)!;
    expect(after.table.mayMatch(['beta'], '')).toBe(false);
    expect(after.table.mayMatch(['alpha'], '')).toBe(true);
    engine.stopRouting();
  });

  it('awaits a new link’s tables: no full tables go to the others meanwhile; one that never sends any is flooded to after awaitTablesMs', async () => {
    const { engine, links, clock } = setup(['a'], 3);
    engine.startRouting();
    engine.receiveRouteTable('a', 0, tableOf(['alpha']));
    engine.receiveRouteTable('a', 1, tableOf(['alpha', 'beyond']));
    await clock.advance(DEFAULT_ROUTING.updateMs);
    const toA = (level: number) => links.tables.filter((t) => t.link === 'a' && t.level === level).at(-1)!.table;
    expect([toA(1).fill, toA(2).fill].some((f) => f === 1)).toBe(false);
    const settled = links.tables.length;

    // b comes up: it is sent tables that leave it out (not full), and a is sent nothing new.
    links.links = ['a', 'b'];
    engine.linkReady('b');
    expect(links.tables.slice(settled).every((t) => t.link === 'b' && t.table.fill < 1)).toBe(true);
    await clock.advance(DEFAULT_ROUTING.updateMs);
    expect(links.tables.slice(settled).some((t) => t.link === 'a')).toBe(false);
    // Its tables arrive: a is told what is behind b, once, and never a full table.
    engine.receiveRouteTable('b', 0, tableOf(['beta']));
    engine.receiveRouteTable('b', 1, tableOf(['beta', 'far']));
    await clock.advance(DEFAULT_ROUTING.awaitTablesMs);
    const updates = links.tables.slice(settled).filter((t) => t.link === 'a');
    expect(updates.map((t) => t.level)).toEqual([1, 2]);
    expect(updates.every((t) => t.table.fill < 1)).toBe(true);
    expect(toA(2).mayMatch(['far'], '')).toBe(true);

    // c comes up and never sends a table: after awaitTablesMs we flood to it, so levels 1 and 2 go full.
    links.links = ['a', 'b', 'c'];
    engine.linkReady('c');
    await clock.advance(DEFAULT_ROUTING.awaitTablesMs - 1);
    expect(toA(1).fill).toBeLessThan(1);
    await clock.advance(1 + DEFAULT_ROUTING.updateMs);
    expect([toA(1).fill, toA(2).fill]).toEqual([1, 1]);
    // Closing it ends the flood to it, and the wait of a link that closes before its end is dropped.
    links.links = ['a', 'b'];
    engine.linkClosed('c');
    links.links = ['a', 'b', 'd'];
    engine.linkReady('d');
    links.links = ['a', 'b'];
    engine.linkClosed('d');
    await clock.advance(DEFAULT_ROUTING.updateMs);
    expect(toA(1).fill).toBeLessThan(1);
    engine.stopRouting();
    expect(clock.pending).toBe(0);
  });
});
