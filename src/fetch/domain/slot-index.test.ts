import { describe, expect, it } from 'vitest';
import { SlotIndex } from './slot-index.ts';
import { seededRandom } from './random.ts';

describe('a slot index by peer id', () => {
  it('finds, adds and deletes as a Map does, through growth and runs of collisions', () => {
    const keys: string[] = [];
    const index = new SlotIndex((slot) => keys[slot] as string);
    const map = new Map<string, number>();
    const random = seededRandom(11);
    for (let step = 0; step < 20_000; step++) {
      // Few distinct ids, so that adds, finds and deletes of the same ones interleave.
      const key = `peer-${Math.floor(random.next() * 3_000)}`;
      const held = map.get(key);
      expect(index.get(key)).toBe(held);
      if (held !== undefined && random.next() < 0.5) {
        expect(index.delete(key)).toBe(true);
        map.delete(key);
      } else if (held === undefined) {
        keys[step] = key;
        index.set(key, step);
        map.set(key, step);
      }
      expect(index.size).toBe(map.size);
    }
    for (const [key, slot] of map) expect(index.get(key)).toBe(slot);
    expect(index.delete('peer-none')).toBe(false);
  });

  it('keeps every entry findable when deletes open holes in a run of keys with the same home', () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    // Every key hashes the same: one run, the worst case for shifting back.
    const index = new SlotIndex(
      (slot) => keys[slot] as string,
      () => 7,
    );
    keys.forEach((key, slot) => index.set(key, slot));
    index.delete('b');
    index.delete('e');
    expect(keys.map((key) => index.get(key))).toEqual([0, undefined, 2, 3, undefined, 5]);
    index.delete('a');
    index.set('b', 1);
    expect(keys.map((key) => index.get(key))).toEqual([undefined, 1, 2, 3, undefined, 5]);
  });

  it('given its bound, grows once from its first 16 entries to what the bound needs, and works as a Map through it', () => {
    const keys: string[] = [];
    const index = new SlotIndex((slot) => keys[slot] as string, undefined, 1_000);
    const length = () => (index as unknown as { table: Int32Array }).table.length;
    const lengths = new Set<number>();
    const random = seededRandom(5);
    const map = new Map<string, number>();
    for (let step = 0; step < 30_000; step++) {
      const key = `peer-${Math.floor(random.next() * 5_000)}`;
      const held = map.get(key);
      expect(index.get(key)).toBe(held);
      if (held !== undefined) {
        index.delete(key);
        map.delete(key);
      } else if (map.size < 1_000) {
        keys[step] = key;
        index.set(key, step);
        map.set(key, step);
      }
      lengths.add(length());
    }
    expect(map.size).toBe(1_000);
    for (const [key, slot] of map) expect(index.get(key)).toBe(slot);
    // 16 Int32 (inside the V8 heap), then 2,048: at most half full with 1,000 keys.
    expect([...lengths].sort((a, b) => a - b)).toEqual([16, 2_048]);
  });
});
