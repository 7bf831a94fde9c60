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

interface Seen {
  /** The most TTL any copy had left (after the router's clamp). */
  best: number;
  /**
   * Per link, the highest TTL a copy came over it with: what that neighbour forwards, so holds,
   * at least. Only kept while the router may forward the query again (made on the first such copy).
   */
  heard?: Map<string, number>;
}

export class SeenCache {
  private readonly entries: ExpiringLru<string, Seen>;

  constructor(options: { capacity?: number; ttlMs?: number; now: Now }) {
    this.entries = new ExpiringLru(
      options.capacity ?? DEFAULT_SEEN_CAPACITY,
      options.ttlMs ?? DEFAULT_SEEN_TTL_MS,
      options.now,
    );
  }

  /**
   * A copy of `key` with `ttl` left: remembered with the highest TTL seen for it, and, when it
   * came over a link, with the TTL it came with over that link (`sent`).
   */
  sight(key: string, ttl: number, from?: { link: string; sent: number }): Sighting {
    const before = this.entries.get(key);
    const seen: Seen = before ?? { best: ttl };
    const best = before?.best;
    seen.best = Math.max(seen.best, ttl);
    if (from) {
      seen.heard ??= new Map<string, number>();
      seen.heard.set(from.link, Math.max(seen.heard.get(from.link) ?? from.sent, from.sent));
    }
    this.entries.set(key, seen);
    if (best === undefined) return 'first';
    return ttl > best ? 'higher' : 'repeat';
  }

  /** The most TTL any copy of `key` had left (undefined: not seen). */
  best(key: string): number | undefined {
    return this.entries.get(key)?.best;
  }

  /** The highest TTL a copy of `key` came over `link` with (undefined: none came over it). */
  heardFrom(key: string, link: string): number | undefined {
    return this.entries.get(key)?.heard?.get(link);
  }

  get size(): number {
    return this.entries.size;
  }
}
