import { describe, expect, it } from 'vitest';
import { BUFFER_ALIGNMENT, BufferPool, isAligned } from './buffer-pool.ts';

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

describe('buffer pool alignment', () => {
  it('starts every buffer on a page boundary, none overlapping, chunk sizes that are not whole pages too', () => {
    for (const size of [1024 * 1024, 5000, 3 * 1024 * 1024 + 7]) {
      const pool = new BufferPool(size, 12); // more than one slab for the larger sizes
      const buffers = Array.from({ length: 12 }, () => pool.tryAcquire()!);
      for (const b of buffers) {
        expect(b.length).toBe(size);
        expect(isAligned(b)).toBe(true);
        expect(b.byteOffset % BUFFER_ALIGNMENT).toBe(0);
      }
      buffers.forEach((b, i) => b.fill(i));
      buffers.forEach((b, i) => expect(b.every((x) => x === i)).toBe(true));
    }
  });

  it('does not call an ordinary buffer aligned', () => {
    expect(isAligned(Buffer.alloc(8192))).toBe(false);
  });
});
