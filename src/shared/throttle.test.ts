import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimit, UNLIMITED } from './throttle.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('the bandwidth cap', () => {
  it('lets a second of traffic through at once, then spaces requests out to the rate', async () => {
    vi.useFakeTimers();
    const throttle = new RateLimit(1000);
    const signal = new AbortController().signal;
    await throttle.take(1000, signal); // the first second's worth, at once
    let done = false;
    const second = throttle.take(500, signal).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(done).toBe(true);
  });

  it('lets a request larger than a second of traffic through after its share of time', async () => {
    vi.useFakeTimers();
    const throttle = new RateLimit(1000);
    const signal = new AbortController().signal;
    let done = false;
    const big = throttle.take(4000, signal).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(2999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await big;
    expect(done).toBe(true);
  });

  it('stops waiting when the download is aborted', async () => {
    vi.useFakeTimers();
    const throttle = new RateLimit(1000);
    const controller = new AbortController();
    await throttle.take(1000, controller.signal);
    const waiting = throttle.take(1000, controller.signal);
    controller.abort(new Error('paused'));
    await expect(waiting).rejects.toThrow('paused');
  });

  it('does not wait at all without a cap', async () => {
    await expect(UNLIMITED.take(10 ** 12, new AbortController().signal)).resolves.toBeUndefined();
    await expect(new RateLimit(0).take(10 ** 12, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('changes its cap while transfers run: a transfer waiting under the old cap goes on, and later ones wait at the new rate', async () => {
    vi.useFakeTimers();
    const throttle = new RateLimit(1000);
    const signal = new AbortController().signal;
    await throttle.take(1000, signal);
    let done = false;
    const stuck = throttle.take(100_000, signal).then(() => (done = true)); // 100 s at 1000 B/s
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    throttle.set(0); // lifted
    await stuck;
    expect(throttle.bytesPerSecond).toBe(0);
    await expect(throttle.take(10 ** 9, signal)).resolves.toBeUndefined();
    throttle.set(2000);
    expect(throttle.bytesPerSecond).toBe(2000);
    await throttle.take(2000, signal); // a second's worth at once after the change
    let next = false;
    const later = throttle.take(1000, signal).then(() => (next = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(next).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await later;
  });
});
