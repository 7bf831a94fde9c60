import { describe, expect, it, vi } from 'vitest';
import { MAX_ROUTE_LEVELS } from '../../protocol/limits.ts';
import { ROUTE_TABLE_MIN_BITS_LOG2, RouteTable } from '../../protocol/route-table.ts';
import { QueryRouting } from './query-routing.ts';

function tableOf(words: readonly string[], log2 = ROUTE_TABLE_MIN_BITS_LOG2): RouteTable {
  const table = RouteTable.empty(log2);
  table.addTokens(words);
  return table;
}

const EMPTY = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);

describe('QueryRouting: which links a copy of a query may skip', () => {
  it('a copy with ttl r ≤ levels goes only where the level r − 1 table may match', () => {
    const routing = new QueryRouting(3);
    routing.receive('a', 0, tableOf(['apple']));
    routing.receive('a', 1, tableOf(['apple', 'banana']));
    routing.receive('a', 2, tableOf(['apple', 'banana', 'cherry']));
    // ttl 1: only the neighbour itself answers (level 0).
    expect(routing.allows('a', 1, ['apple'], '')).toBe(true);
    expect(routing.allows('a', 1, ['banana'], '')).toBe(false);
    // ttl 2: it and its neighbours (level 1).
    expect(routing.allows('a', 2, ['banana'], '')).toBe(true);
    expect(routing.allows('a', 2, ['cherry'], '')).toBe(false);
    // ttl 3: level 2.
    expect(routing.allows('a', 3, ['cherry'], '')).toBe(true);
    expect(routing.allows('a', 3, ['durian'], '')).toBe(false);
    // ttl 4 > levels: past what any table covers, the flood goes on.
    expect(routing.allows('a', 4, ['durian'], '')).toBe(true);
  });

  it('a file id is looked up by its own bit', () => {
    const routing = new QueryRouting(1);
    const table = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
    table.addId('f'.repeat(64));
    routing.receive('a', 0, table);
    expect(routing.allows('a', 1, [], 'f'.repeat(64))).toBe(true);
    expect(routing.allows('a', 1, [], 'e'.repeat(64))).toBe(false);
  });

  it('a neighbour that sent no table of that level (or none at all) is flooded to', () => {
    const routing = new QueryRouting(2);
    routing.receive('a', 0, EMPTY);
    expect(routing.allows('a', 1, ['x'], '')).toBe(false);
    expect(routing.allows('a', 2, ['x'], '')).toBe(true); // no level 1 from a
    expect(routing.allows('b', 1, ['x'], '')).toBe(true); // b never sent a table
  });

  it('off (0 levels): every copy goes, tables are ignored and none are sent', () => {
    const routing = new QueryRouting(0);
    expect(routing.enabled).toBe(false);
    expect(routing.receive('a', 0, EMPTY)).toBe('level-ignored');
    expect(routing.allows('a', 1, ['x'], '')).toBe(true);
    expect(routing.setOwn(tableOf(['x']))).toBe(false);
    expect(routing.outgoingTables(['a'])).toEqual([]);
  });

  it('keeps at most one table per link and level, below min(levels, MAX_ROUTE_LEVELS)', () => {
    const routing = new QueryRouting(MAX_ROUTE_LEVELS + 5);
    expect(routing.levels).toBe(MAX_ROUTE_LEVELS);
    expect(routing.receive('a', MAX_ROUTE_LEVELS, EMPTY)).toBe('level-ignored');
    expect(routing.receive('a', -1, EMPTY)).toBe('level-ignored');
    expect(routing.receive('a', 0, tableOf(['x']))).toBe('stored');
    expect(routing.receive('a', 0, tableOf(['x']))).toBe('unchanged');
    expect(routing.receive('a', 0, tableOf(['y']))).toBe('stored'); // replaces, does not add
    expect(routing.tableOf('a', 0)!.mayMatch(['x'], '')).toBe(false);
    expect(new QueryRouting(2).receive('a', 2, EMPTY)).toBe('level-ignored');
  });

  it('aggregates: level 0 our own, level d our own ∪ every link’s level d − 1', () => {
    const routing = new QueryRouting(3);
    expect(routing.outgoingTables(['a', 'b'])).toEqual([]); // nothing until our own table is known
    routing.setOwn(tableOf(['mine']));
    routing.receive('a', 0, tableOf(['alpha']));
    routing.receive('b', 0, tableOf(['beta']));
    routing.receive('a', 1, tableOf(['alpha', 'gamma']));
    routing.receive('b', 1, tableOf(['beta', 'delta']));
    const [level0, level1, level2] = routing.outgoingTables(['a', 'b']);
    const words = (t: RouteTable | undefined) =>
      ['mine', 'alpha', 'beta', 'gamma', 'delta', 'omega'].filter((w) => t!.mayMatch([w], ''));
    expect(words(level0)).toEqual(['mine']);
    expect(words(level1)).toEqual(['mine', 'alpha', 'beta']);
    expect(words(level2)).toEqual(['mine', 'alpha', 'beta', 'gamma', 'delta']);
  });

  it('aggregates tables of different sizes at the largest, losing nothing', () => {
    const routing = new QueryRouting(2);
    routing.setOwn(tableOf(['mine'], 13));
    routing.receive('a', 0, tableOf(['alpha'], 16));
    const [, level1] = routing.outgoingTables(['a']);
    expect(level1!.bits).toBe(2 ** 16);
    expect(level1!.mayMatch(['mine'], '') && level1!.mayMatch(['alpha'], '')).toBe(true);
  });

  it('a level above 0 is full while some link has not sent the level below it: we flood to that link', () => {
    const routing = new QueryRouting(3);
    routing.setOwn(tableOf(['mine']));
    routing.receive('a', 0, tableOf(['alpha']));
    routing.receive('a', 1, tableOf(['alpha']));
    const [, level1, level2] = routing.outgoingTables(['a', 'b']); // b sent nothing
    expect(level1!.fill).toBe(1);
    expect(level2!.fill).toBe(1);
    routing.receive('b', 0, tableOf(['beta']));
    const [, again1, again2] = routing.outgoingTables(['a', 'b']);
    expect(again1!.fill).toBeLessThan(0.01);
    expect(again2!.fill).toBe(1); // b's level 1 still missing
  });

  it('a closed link’s tables are dropped and stop counting in what we send', () => {
    const routing = new QueryRouting(2);
    routing.setOwn(tableOf(['mine']));
    routing.receive('a', 0, tableOf(['alpha']));
    routing.receive('b', 0, tableOf(['beta']));
    expect(routing.outgoingTables(['a', 'b'])[1]!.mayMatch(['beta'], '')).toBe(true);
    expect(routing.drop('b')).toBe(true);
    expect(routing.drop('b')).toBe(false);
    expect(routing.linkCount).toBe(1);
    expect(routing.tableOf('b', 0)).toBeUndefined();
    expect(routing.allows('b', 1, ['zzz'], '')).toBe(true); // a new link of that name is flooded to
    expect(routing.outgoingTables(['a'])[1]!.mayMatch(['beta'], '')).toBe(false);
  });

  it('an unchanged level is returned as the same object, so a sender can tell what changed', () => {
    const routing = new QueryRouting(2);
    routing.setOwn(tableOf(['mine']));
    routing.receive('a', 0, tableOf(['alpha']));
    const first = routing.outgoingTables(['a']);
    expect(routing.setOwn(tableOf(['mine']))).toBe(false);
    routing.receive('a', 0, tableOf(['alpha']));
    const second = routing.outgoingTables(['a']);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    routing.receive('a', 0, tableOf(['other']));
    expect(routing.outgoingTables(['a'])[1]).not.toBe(first[1]);
  });

  it('rebuilds a level only when one of its parts changed: the same tables are not united again', () => {
    const routing = new QueryRouting(3);
    routing.setOwn(tableOf(['mine']));
    routing.receive('a', 0, tableOf(['alpha']));
    routing.receive('a', 1, tableOf(['alpha', 'beta']));
    routing.receive('b', 0, tableOf(['bravo']));
    routing.receive('b', 1, tableOf(['bravo', 'charlie']));
    const unions = vi.spyOn(RouteTable, 'unionOf');
    try {
      const first = routing.outgoingTables(['a', 'b']);
      expect(unions).toHaveBeenCalledTimes(2); // levels 1 and 2
      routing.receive('a', 0, tableOf(['alpha'])); // equal: the table held stays
      expect(routing.outgoingTables(['a', 'b'])).toEqual(first);
      expect(unions).toHaveBeenCalledTimes(2);
      routing.receive('b', 1, tableOf(['bravo', 'delta'])); // a part of level 2 only
      const second = routing.outgoingTables(['a', 'b']);
      expect(unions).toHaveBeenCalledTimes(3);
      expect(second[1]).toBe(first[1]);
      expect(second[2]!.mayMatch(['delta'], '')).toBe(true);
      expect(second[2]!.mayMatch(['charlie'], '')).toBe(false);
      // A link that has not sent level 1 makes level 2 full; its own table's size still decides the full one's.
      expect(routing.outgoingTables(['a', 'b', 'c'])[2]!.fill).toBe(1);
      routing.setOwn(tableOf(['mine'], ROUTE_TABLE_MIN_BITS_LOG2 + 1));
      expect(routing.outgoingTables(['a', 'b', 'c'])[2]!.bits).toBe(2 ** (ROUTE_TABLE_MIN_BITS_LOG2 + 1));
    } finally {
      unions.mockRestore();
    }
  });
});
