/**
 * Which flooded queries this peer has already handled, so each is handled once and loops end.
 * Bounded (capped LRU) and time-expiring: a neighbour sending random ids only pushes out the
 * oldest entries, memory stays flat. A replayed id refreshes its entry, so a query still
 * circling the overlay keeps being dropped for as long as copies keep arriving.
 */
import type { Now } from '../../shared/clock.ts';
import { ExpiringLru } from './expiring-lru.ts';

export const DEFAULT_SEEN_CAPACITY = 100_000;
/** Well past any search deadline and the time a flood of TTL 7 needs to die out. */
export const DEFAULT_SEEN_TTL_MS = 120_000;

export class SeenCache {
  private readonly entries: ExpiringLru<string, true>;

  constructor(options: { capacity?: number; ttlMs?: number; now: Now }) {
    this.entries = new ExpiringLru(
      options.capacity ?? DEFAULT_SEEN_CAPACITY,
      options.ttlMs ?? DEFAULT_SEEN_TTL_MS,
      options.now,
    );
  }

  /** True the first time `key` is seen (within its lifetime); false for every repeat. */
  firstSighting(key: string): boolean {
    const seen = this.entries.get(key) !== undefined;
    this.entries.set(key, true);
    return !seen;
  }

  get size(): number {
    return this.entries.size;
  }
}
