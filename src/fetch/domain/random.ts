/**
 * The random source the pure core is driven by (its clock is shared/clock.ts's), and a seeded
 * generator so that simulations and tests replay exactly.
 */

export interface Random {
  /** A uniform number in [0, 1). */
  next(): number;
}

/** mulberry32: tiny, fast, and good enough to pick gossip targets; not for secrets. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    },
  };
}

/** Up to `count` distinct items of `items`, uniformly (a partial Fisher–Yates shuffle). */
export function sample<T>(items: readonly T[], count: number, random: Random): T[] {
  const pool = [...items];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random.next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}
