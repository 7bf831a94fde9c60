import { describe, expect, it } from 'vitest';
import { ExpiringLru } from './expiring-lru.ts';
import { SeenCache } from './seen-cache.ts';

/** Deterministic ids: a seeded xorshift, so a failure can be replayed. */
function randomIds(seed: number): () => string {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0).toString(16).padStart(8, '0');
  };
  return () => next() + next() + next() + next();
}

describe('seen-cache', () => {
  it('stays at its cap under 10^5 random ids and still drops a replayed id every time', () => {
    const cache = new SeenCache({ capacity: 10_000, ttlMs: 60_000, now: () => 0 });
    const nextId = randomIds(42);
    expect(cache.firstSighting('honest')).toBe(true);
    let dropped = 0;
    let fresh = 0;
    for (let i = 0; i < 100_000; i++) {
      if (cache.firstSighting(nextId())) fresh++;
      if (i % 100 === 0 && !cache.firstSighting('honest')) dropped++;
    }
    expect(fresh).toBe(100_000);
    expect(dropped).toBe(1_000);
    expect(cache.size).toBe(10_000);
  });

  it('forgets an id once its lifetime has passed', () => {
    let now = 0;
    const cache = new SeenCache({ capacity: 10, ttlMs: 1_000, now: () => now });
    expect(cache.firstSighting('q')).toBe(true);
    now = 999;
    expect(cache.firstSighting('q')).toBe(false);
    now = 999 + 1_000;
    expect(cache.firstSighting('q')).toBe(true);
  });

  it('evicts the least recently seen id first', () => {
    const cache = new SeenCache({ capacity: 2, now: () => 0 });
    cache.firstSighting('a');
    cache.firstSighting('b');
    cache.firstSighting('a');
    cache.firstSighting('c');
    expect(cache.firstSighting('a')).toBe(false);
    expect(cache.firstSighting('b')).toBe(true);
  });
});

describe('expiring LRU', () => {
  it('prunes expired entries as new ones arrive, so size follows the live set', () => {
    let now = 0;
    const lru = new ExpiringLru<number, number>(1_000, 10, () => now);
    for (let i = 0; i < 100; i++) lru.set(i, i);
    now = 20;
    lru.set(1_000, 0);
    expect(lru.size).toBe(1);
    expect(lru.get(5)).toBeUndefined();
  });

  it('refuses a zero capacity or lifetime', () => {
    expect(() => new ExpiringLru(0, 10, () => 0)).toThrow(RangeError);
    expect(() => new ExpiringLru(1, 0, () => 0)).toThrow(RangeError);
  });
});
