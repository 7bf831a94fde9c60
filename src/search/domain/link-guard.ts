/**
 * Per-link admission of queries: each neighbour has a token bucket for the queries it sends us.
 * A query over the limit is dropped; a neighbour that keeps going over it spends a second bucket
 * of "strikes", and once that is empty it is flooding on purpose and the link should close.
 * Honest bursts refill both buckets; only a sustained flood runs the strikes out.
 */
import type { Clock as Now } from './expiring-lru.ts';
import type { LinkId } from './flood-router.ts';
import { DEFAULT_QUERY_BURST, DEFAULT_QUERY_RATE_PER_SECOND, TokenBucket } from './token-bucket.ts';

/** Over-limit queries tolerated in a burst, and forgiven per second, before a link is cut. */
export const DEFAULT_STRIKE_BURST = 200;
export const DEFAULT_STRIKES_FORGIVEN_PER_SECOND = 10;

export interface RateLimits {
  readonly queriesPerSecond: number;
  readonly queryBurst: number;
  readonly strikeBurst: number;
  readonly strikesForgivenPerSecond: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  queriesPerSecond: DEFAULT_QUERY_RATE_PER_SECOND,
  queryBurst: DEFAULT_QUERY_BURST,
  strikeBurst: DEFAULT_STRIKE_BURST,
  strikesForgivenPerSecond: DEFAULT_STRIKES_FORGIVEN_PER_SECOND,
};

export type Admission = 'admit' | 'drop' | 'disconnect';

export class LinkGuard {
  private readonly buckets = new Map<LinkId, { queries: TokenBucket; strikes: TokenBucket }>();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: Now,
  ) {}

  /** Whether a query arriving over `link` may be handled. */
  admit(link: LinkId): Admission {
    let b = this.buckets.get(link);
    if (!b) {
      const { queryBurst, queriesPerSecond, strikeBurst, strikesForgivenPerSecond } = this.limits;
      b = {
        queries: new TokenBucket(queryBurst, queriesPerSecond, this.now),
        strikes: new TokenBucket(strikeBurst, strikesForgivenPerSecond, this.now),
      };
      this.buckets.set(link, b);
    }
    if (b.queries.take()) return 'admit';
    return b.strikes.take() ? 'drop' : 'disconnect';
  }

  /** Forget a closed link. */
  forget(link: LinkId): void {
    this.buckets.delete(link);
  }
}
