import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tokenize } from '../files/domain/terms.ts';
import {
  decodeRouteTable,
  encodeRouteTable,
  ROUTE_PREFIX_MAX,
  ROUTE_TABLE_MAX_BITS_LOG2,
  ROUTE_TABLE_MIN_BITS_LOG2,
  ROUTE_TABLE_OWN_MIN_BITS_LOG2,
  RouteTable,
} from './route-table.ts';

const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);

function tableOf(names: readonly string[], log2 = ROUTE_TABLE_MIN_BITS_LOG2): RouteTable {
  const table = RouteTable.empty(log2);
  for (const name of names) table.addTokens(tokenize(name));
  return table;
}

describe('RouteTable', () => {
  it('matches every query the name matching would answer: each term a prefix of a token', () => {
    const table = tableOf(['Ubuntu-22.04 Désktop.iso']);
    for (const terms of [['ubuntu'], ['ub'], ['desk', '22'], ['iso', '04', 'u'], ['desktop']])
      expect(table.mayMatch(terms, ''), terms.join(' ')).toBe(true);
  });

  it('a term longer than the prefix cap is looked up by its prefix', () => {
    const long = 'abcdefghijklmnopqrstuvwxyz';
    const table = tableOf([`${long}.bin`]);
    expect(table.mayMatch([long], '')).toBe(true);
    expect(table.mayMatch([long.slice(0, ROUTE_PREFIX_MAX + 3)], '')).toBe(true);
  });

  it('an empty table matches nothing; a full one everything', () => {
    const empty = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
    expect(empty.mayMatch(['ubuntu'], '')).toBe(false);
    expect(empty.mayMatch([], ID_A)).toBe(false);
    expect(RouteTable.full().mayMatch(['anything'], '')).toBe(true);
    expect(RouteTable.full().mayMatch([], ID_A)).toBe(true);
  });

  it('ids match by id, not by name', () => {
    const table = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
    table.addId(ID_A);
    expect(table.mayMatch([], ID_A)).toBe(true);
    expect(table.mayMatch([], ID_B)).toBe(false);
    expect(table.mayMatch(['a'], '')).toBe(false);
  });

  it('rejects terms no shared name has (up to the false-positive rate of its fill)', () => {
    const table = tableOf(['holiday photos 2024.zip', 'concert.flac']);
    const misses = ['zebra', 'quartz', 'xylophone', 'mountain', 'river'].filter((t) => !table.mayMatch([t], ''));
    expect(misses.length).toBeGreaterThanOrEqual(4);
    expect(table.fill).toBeLessThan(0.01);
  });

  it('a union matches what either side matches, across sizes, and changes neither side', () => {
    const small = tableOf(['alpha.txt'], ROUTE_TABLE_MIN_BITS_LOG2);
    const big = tableOf(['beta.txt'], ROUTE_TABLE_MIN_BITS_LOG2 + 3);
    const union = small.union(big);
    expect(union.bits).toBe(big.bits);
    expect(union.mayMatch(['alpha'], '')).toBe(true);
    expect(union.mayMatch(['beta'], '')).toBe(true);
    expect(small.mayMatch(['beta'], '')).toBe(false);
    expect(big.union(small).equals(union)).toBe(true);
  });

  it('is sized for about one bit in eight per key, at least 2^18 bits (levels are unions), within the protocol sizes', () => {
    expect(RouteTable.sizeFor(0)).toBe(ROUTE_TABLE_OWN_MIN_BITS_LOG2);
    expect(ROUTE_TABLE_OWN_MIN_BITS_LOG2).toBe(18);
    expect(RouteTable.sizeFor(8_000)).toBe(18);
    expect(RouteTable.sizeFor(8_000, 13)).toBe(16);
    expect(RouteTable.sizeFor(40_000)).toBe(19);
    expect(RouteTable.sizeFor(100_000)).toBe(20);
    expect(RouteTable.sizeFor(10_000_000)).toBe(ROUTE_TABLE_MAX_BITS_LOG2);
  });

  it('sets the bits another implementation computes: FNV-1a over the UTF-8 bytes of each prefix, murmur-finished (PROTOCOL §12)', () => {
    // Pinned: a change here breaks routing between releases. One, two, three and four UTF-8 bytes
    // per code point, the prefix cap (12 of 16 code points) and an id; 19 keys, one pair collides.
    const table = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
    table.addTokens(['a', 'é', '日本', '😀x', 'abcdefghijklmnop']);
    table.addId('f'.repeat(64));
    const set: number[] = [];
    table.toBytes().forEach((byte, index) => {
      for (let bit = 0; bit < 8; bit += 1) if (byte & (1 << bit)) set.push(index * 8 + bit);
    });
    expect(set).toEqual([
      784, 1021, 1037, 1161, 2058, 3580, 4110, 4383, 4531, 5268, 5454, 5571, 5701, 5831, 7154, 7612, 7923, 8176,
    ]);
  });
});

describe('route tables on the wire', () => {
  it('a whole table and a patch decode to the table sent', () => {
    const first = tableOf(['alpha.txt']);
    const second = tableOf(['alpha.txt', 'beta.txt']);
    const whole = encodeRouteTable(first);
    expect(whole.patch).toBe(false);
    const received = decodeRouteTable(whole);
    expect(received.equals(first)).toBe(true);
    const patch = encodeRouteTable(second, first);
    expect(patch.patch).toBe(true);
    expect(decodeRouteTable(patch, received).equals(second)).toBe(true);
  });

  it('a sparse table compresses far below its raw size', () => {
    const table = tableOf(['alpha.txt'], ROUTE_TABLE_MAX_BITS_LOG2);
    expect(encodeRouteTable(table).data.length).toBeLessThan(1_000);
  });

  it('refuses sizes outside the protocol, patches with no base, and data of the wrong length', () => {
    const table = tableOf(['alpha.txt']);
    const whole = encodeRouteTable(table);
    expect(() => decodeRouteTable({ ...whole, bits: 2 ** ROUTE_TABLE_MAX_BITS_LOG2 * 2 })).toThrow(RangeError);
    expect(() => decodeRouteTable({ ...whole, bits: 1000 })).toThrow(RangeError);
    expect(() => decodeRouteTable({ ...whole, patch: true })).toThrow(/patch/);
    expect(() => decodeRouteTable({ ...whole, data: Uint8Array.of(1, 2, 3) })).toThrow(RangeError);
    const short = deflateRawSync(new Uint8Array(table.bits / 8 - 1));
    expect(() => decodeRouteTable({ bits: table.bits, patch: false, data: short })).toThrow(/inflates/);
  });

  it('a compressed bomb stops at the table size', () => {
    const bomb = deflateRawSync(new Uint8Array(64 * 1024 * 1024));
    expect(() => decodeRouteTable({ bits: 2 ** ROUTE_TABLE_MIN_BITS_LOG2, patch: false, data: bomb })).toThrow(
      RangeError,
    );
  });
});
