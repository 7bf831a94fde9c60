import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from './link-guard.ts';
import { localSearchLimiter, localSearchRate } from './local-limit.ts';

describe('the local search limit', () => {
  it('stays at or under half of what a neighbour accepts, in rate and burst', () => {
    expect(localSearchRate(DEFAULT_RATE_LIMITS, 25)).toEqual({ perSecond: 25, burst: 50 });
    expect(localSearchRate(DEFAULT_RATE_LIMITS, 1_000)).toEqual({ perSecond: 25, burst: 50 });
    expect(localSearchRate(DEFAULT_RATE_LIMITS, 5)).toEqual({ perSecond: 5, burst: 10 });
    expect(localSearchRate({ ...DEFAULT_RATE_LIMITS, queriesPerSecond: 10, queryBurst: 20 })).toEqual({
      perSecond: 5,
      burst: 10,
    });
  });

  it('refuses past its burst with RATE_LIMITED and how long to wait, then lets searches through as it refills', () => {
    let now = 0;
    const limiter = localSearchLimiter(DEFAULT_RATE_LIMITS, 5, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.take()).toBeUndefined();
    const refused = limiter.take();
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 1, searchesPerSecond: 5 } });
    expect(refused?.message).toMatch(/at most 5 searches per second \(a burst of 10\).*try again in 1 s/);
    now = 200; // one search's worth at 5 per second
    expect(limiter.take()).toBeUndefined();
    expect(limiter.take()).toBeDefined();
  });
});
