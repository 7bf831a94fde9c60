/**
 * A token bucket for per-link rate limits: up to `capacity` events at once, refilled at
 * `refillPerSecond`. Pure (the clock is injected), so the Search adapter keeps one per neighbour
 * and decides what to do with a neighbour that keeps running dry.
 */
import type { Now } from '../../shared/clock.ts';
import { SEARCH_DEFAULTS } from '../../shared/defaults.ts';

/** Queries per second a neighbour may send on average, and in a burst. */
export const DEFAULT_QUERY_RATE_PER_SECOND = SEARCH_DEFAULTS.queriesPerSecond;
export const DEFAULT_QUERY_BURST = 100;

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly now: Now,
  ) {
    if (!(capacity > 0) || !(refillPerSecond >= 0)) throw new RangeError('capacity must be > 0 and refill >= 0');
    this.tokens = capacity;
    this.updatedAt = now();
  }

  /** Spend `count` tokens if there are enough; false (and nothing spent) otherwise. */
  take(count = 1): boolean {
    this.refill();
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }

  get available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.now();
    // A clock that steps backwards must not drain or overfill the bucket.
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1000) * this.refillPerSecond);
  }
}
