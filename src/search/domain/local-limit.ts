/**
 * The limit on searches this peer's own users start. Every search is a query on every link, and
 * each neighbour admits at most `queriesPerSecond` (burst `queryBurst`) from us before it drops
 * and then cuts us (link-guard.ts); so our own searches are held to at most half of that (the
 * rest is left for the queries we forward), and one over the limit is refused here, with how long
 * to wait, instead of being sent to be dropped there.
 */
import { PeershareError } from '../../shared/errors.ts';
import type { Now } from '../../shared/clock.ts';
import type { RateLimits } from './link-guard.ts';
import { TokenBucket } from './token-bucket.ts';

export interface LocalSearchLimiter {
  readonly perSecond: number;
  readonly burst: number;
  /** Spend one search: undefined if allowed, else the RATE_LIMITED error to answer with. */
  take(): PeershareError | undefined;
}

/** Our own searches per second: `wanted` (default: all we may), never above half the accept rate. */
export function localSearchRate(accept: RateLimits, wanted?: number): { perSecond: number; burst: number } {
  const perSecond = Math.min(wanted ?? Infinity, accept.queriesPerSecond / 2);
  const burst = Math.max(1, Math.min(accept.queryBurst / 2, Math.ceil(2 * perSecond)));
  return { perSecond, burst };
}

export function localSearchLimiter(accept: RateLimits, wanted: number | undefined, now: Now): LocalSearchLimiter {
  const { perSecond, burst } = localSearchRate(accept, wanted);
  const bucket = new TokenBucket(burst, perSecond, now);
  return {
    perSecond,
    burst,
    take() {
      if (bucket.take()) return undefined;
      const retryAfterSeconds = perSecond > 0 ? Math.max(1, Math.ceil((1 - bucket.available) / perSecond)) : 60;
      return new PeershareError(
        'RATE_LIMITED',
        `this peer starts at most ${perSecond} searches per second (a burst of ${burst}), fewer than its neighbours accept from it; try again in ${retryAfterSeconds} s`,
        { retryAfterSeconds, searchesPerSecond: perSecond },
      );
    },
  };
}
