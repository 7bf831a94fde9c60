/**
 * Which flooded queries this peer has already handled, so each is handled once and loops end,
 * and the most TTL any copy of each could still be forwarded with: a later copy that could go
 * further is forwarded again (flood-router.ts, "Flood order" in docs/PROTOCOL.md). TTLs only
 * rise and are bounded by the router's clamp, so a peer forwards one query at most that many
 * times. Bounded (capped LRU) and time-expiring: a neighbour sending random ids only pushes out
 * the oldest entries, memory stays flat. A replayed id refreshes its entry, so a query still
 * circling the overlay keeps being dropped for as long as copies keep arriving.
 */
import type { Now } from '../../shared/clock.ts';
import { ExpiringLru } from './expiring-lru.ts';

export const DEFAULT_SEEN_CAPACITY = 100_000;
/** Well past any search deadline and the time a flood of TTL 7 needs to die out. */
export const DEFAULT_SEEN_TTL_MS = 120_000;

/** A copy of a query is its first, one with more TTL than any before it, or neither. */
export type Sighting = 'first' | 'higher' | 'repeat';

export class SeenCache {
  /** Per query key, the most TTL any of its copies had left (after the router's clamp). */
  private readonly entries: ExpiringLru<string, number>;

  constructor(options: { capacity?: number; ttlMs?: number; now: Now }) {
    this.entries = new ExpiringLru(
      options.capacity ?? DEFAULT_SEEN_CAPACITY,
      options.ttlMs ?? DEFAULT_SEEN_TTL_MS,
      options.now,
    );
  }

  /** A copy of `key` with `ttl` left: remembered with the highest TTL seen for it. */
  sight(key: string, ttl: number): Sighting {
    const before = this.entries.get(key);
    this.entries.set(key, before === undefined ? ttl : Math.max(before, ttl));
    if (before === undefined) return 'first';
    return ttl > before ? 'higher' : 'repeat';
  }

  get size(): number {
    return this.entries.size;
  }
}
