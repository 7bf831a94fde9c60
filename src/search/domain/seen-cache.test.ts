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
    expect(cache.sight('honest', 3)).toBe('first');
    let dropped = 0;
    let fresh = 0;
    for (let i = 0; i < 100_000; i++) {
      if (cache.sight(nextId(), 6) === 'first') fresh++;
      if (i % 100 === 0 && cache.sight('honest', 3) === 'repeat') dropped++;
    }
    expect(fresh).toBe(100_000);
    expect(dropped).toBe(1_000);
    expect(cache.size).toBe(10_000);
  });

  it('keeps the highest TTL seen: a copy with more is "higher" once, one with as much or less a repeat', () => {
    const cache = new SeenCache({ capacity: 10, now: () => 0 });
    expect(cache.sight('q', 1)).toBe('first');
    expect(cache.sight('q', 1)).toBe('repeat');
    expect(cache.sight('q', 0)).toBe('repeat');
    expect(cache.sight('q', 3)).toBe('higher');
    expect(cache.sight('q', 2)).toBe('repeat');
    expect(cache.sight('q', 3)).toBe('repeat');
    expect(cache.sight('q', 4)).toBe('higher');
  });

  it('remembers the highest TTL a copy came over each link with', () => {
    const cache = new SeenCache({ capacity: 10, now: () => 0 });
    cache.sight('q', 1, { link: 'a', sent: 2 });
    cache.sight('q', 3, { link: 'b', sent: 4 });
    cache.sight('q', 0, { link: 'a', sent: 1 });
    expect([cache.heardFrom('q', 'a'), cache.heardFrom('q', 'b'), cache.heardFrom('q', 'c')]).toEqual([
      2,
      4,
      undefined,
    ]);
    expect(cache.heardFrom('other', 'a')).toBeUndefined();
  });

  it('forgets an id once its lifetime has passed', () => {
    let now = 0;
    const cache = new SeenCache({ capacity: 10, ttlMs: 1_000, now: () => now });
    expect(cache.sight('q', 2)).toBe('first');
    now = 999;
    expect(cache.sight('q', 2)).toBe('repeat');
    now = 999 + 1_000;
    expect(cache.sight('q', 2)).toBe('first');
  });

  it('evicts the least recently seen id first', () => {
    const cache = new SeenCache({ capacity: 2, now: () => 0 });
    cache.sight('a', 0);
    cache.sight('b', 0);
    cache.sight('a', 0);
    cache.sight('c', 0);
    expect(cache.sight('a', 0)).toBe('repeat');
    expect(cache.sight('b', 0)).toBe('first');
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
