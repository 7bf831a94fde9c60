import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.ts';

describe('buffer pool', () => {
  it('lends at most its maximum, reuses what comes back, and hands it to the first waiter', async () => {
    const pool = new BufferPool(16, 2);
    const a = pool.tryAcquire()!;
    const b = pool.tryAcquire()!;
    expect(pool.tryAcquire()).toBeUndefined();
    const waiting = pool.acquire(new AbortController().signal);
    pool.release(a);
    expect(await waiting).toBe(a);
    pool.release(b);
    expect(pool.tryAcquire()).toBe(b);
    expect(pool.allocated).toBe(2);
  });

  it('rejects a waiter whose signal aborts, and gives the next buffer to the one after it', async () => {
    const pool = new BufferPool(16, 1);
    const only = pool.tryAcquire()!;
    const gone = new AbortController();
    const first = pool.acquire(gone.signal);
    const second = pool.acquire(new AbortController().signal);
    gone.abort(new Error('went away'));
    await expect(first).rejects.toThrow('went away');
    pool.release(only);
    expect(await second).toBe(only);
  });
});
