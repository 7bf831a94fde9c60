import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

describe('token bucket', () => {
  it('allows a burst up to its capacity, then refills at its rate', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 499;
    expect(bucket.take()).toBe(false);
    now = 500;
    expect(bucket.take()).toBe(true);
    now = 60_000;
    expect(bucket.available).toBe(3);
  });

  it('spends nothing when a request is larger than what is left', () => {
    const bucket = new TokenBucket(5, 1, () => 0);
    expect(bucket.take(6)).toBe(false);
    expect(bucket.available).toBe(5);
  });

  it('ignores a clock that steps backwards', () => {
    let now = 1_000;
    const bucket = new TokenBucket(2, 1, () => now);
    bucket.take(2);
    now = 0;
    expect(bucket.available).toBe(0);
  });
});
