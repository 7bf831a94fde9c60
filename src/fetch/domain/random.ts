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

/**
 * Up to `count` distinct items of `items`, uniformly (a partial Fisher–Yates shuffle). Only the
 * positions the shuffle touched are remembered, so picking 3 of 10,000 does not copy 10,000.
 */
export function sample<T>(items: readonly T[], count: number, random: Random): T[] {
  const n = Math.min(count, items.length);
  const moved = new Map<number, T>();
  const at = (k: number) => (moved.has(k) ? (moved.get(k) as T) : (items[k] as T));
  const picked: T[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random.next() * (items.length - i));
    const [first, other] = [at(i), at(j)];
    moved.set(j, first);
    picked.push(other);
  }
  return picked;
}
