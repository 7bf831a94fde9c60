import { describe, expect, it } from 'vitest';
import { Bitfield } from './bitfield.ts';
import { ChunkScheduler, type Run } from './chunk-scheduler.ts';

const span = (r: Run | undefined) => (r ? [r.source, r.next, r.end] : undefined);

function claimAll(s: ChunkScheduler, source: string): Run[] {
  const out: Run[] = [];
  for (let r = s.claim(source); r; r = s.claim(source)) out.push(r);
  return out;
}

/** Deliver the next `n` chunks of a run, verified, each of `bytes` bytes. */
function deliver(s: ChunkScheduler, run: Run, n: number, bytes = 1): void {
  for (let i = 0; i < n; i++) s.received(run, run.next, bytes);
}

describe('chunk scheduler', () => {
  it('hands out runs of the lowest missing chunks, a fair share each, up to the slots of each source', () => {
    const s = new ChunkScheduler(new Bitfield(16), { slotsPerSource: 2, maxRunChunks: 64 });
    s.addSource('a');
    s.addSource('b');
    // 16 chunks over 2 sources × 2 slots: runs of 4, shrinking as less is left.
    expect(claimAll(s, 'a').map(span)).toEqual([
      ['a', 0, 4],
      ['a', 4, 7],
    ]);
    expect(claimAll(s, 'b').map(span)).toEqual([
      ['b', 7, 10],
      ['b', 10, 12],
    ]);
  });

  it('caps a run at maxRunChunks and never reaches over a verified chunk', () => {
    const verified = new Bitfield(100);
    verified.add(5);
    const s = new ChunkScheduler(verified, { slotsPerSource: 1, maxRunChunks: 8 });
    s.addSource('a');
    s.addSource('b');
    expect(span(s.claim('a'))).toEqual(['a', 0, 5]);
    expect(span(s.claim('b'))).toEqual(['b', 6, 14]);
  });

  it('gives a freed slot the next run, and chunks of an ended run back to the pool', () => {
    const s = new ChunkScheduler(new Bitfield(8), { slotsPerSource: 1, maxRunChunks: 2 });
    s.addSource('a');
    const run = s.claim('a')!;
    expect(s.claim('a')).toBeUndefined(); // its one slot is busy
    deliver(s, run, 1);
    s.finish(run); // stopped after one chunk: chunk 1 is free again
    expect(span(s.claim('a'))).toEqual(['a', 1, 3]);
  });

  it('when nothing is left, a free source steals the tail of the run that would finish last, in proportion to rates', () => {
    let now = 0;
    const s = new ChunkScheduler(new Bitfield(40), { slotsPerSource: 1, maxRunChunks: 64 }, () => now);
    s.addSource('slow');
    s.addSource('fast');
    const slow = s.claim('slow')!;
    expect(span(slow)).toEqual(['slow', 0, 20]);
    now = 100;
    deliver(s, slow, 5, 1); // slow: 5 bytes in 100 ms, now on chunk 5
    let fastBytes = 0;
    let run = s.claim('fast')!;
    now = 200; // fast's runs all come back within 100 ms of its first request
    while (run.first > slow.end || run.first >= 20) {
      // Fresh runs first, each smaller than the last as less is left.
      deliver(s, run, run.end - run.next, 3);
      fastBytes += 3 * (run.end - run.first);
      s.finish(run);
      run = s.claim('fast')!;
    }
    expect(fastBytes).toBe(60); // chunks 20..39: 0.6 bytes/ms, slow 5 bytes in 200 ms: 0.025 bytes/ms
    // slow keeps chunk 5 (in progress) and the share of the 14 after it its rate earns: 14 × 0.025 / 0.625 → 1 (chunk 6).
    expect(span(run)).toEqual(['fast', 7, 20]);
    expect(slow.end).toBe(7);
    deliver(s, run, 13, 3);
    deliver(s, slow, 2, 1);
    expect(s.done).toBe(true);
  });

  it('in the endgame, with nothing to split, duplicates the chunk another source is on, and the first verified copy wins', () => {
    const s = new ChunkScheduler(new Bitfield(2), { slotsPerSource: 1 });
    s.addSource('a');
    s.addSource('b');
    const a = s.claim('a')!;
    const b = s.claim('b')!;
    expect([span(a), span(b)]).toEqual([
      ['a', 0, 1],
      ['b', 1, 2],
    ]);
    deliver(s, a, 1);
    s.finish(a);
    const dup = s.claim('a')!;
    expect(span(dup)).toEqual(['a', 1, 2]);
    expect(s.received(dup, 1, 1)).toBe(true);
    expect(s.spent(b)).toBe(true); // b's request has nothing left to give
    expect(s.done).toBe(true);
  });

  it('skips chunks verified by an earlier run', () => {
    const verified = new Bitfield(5);
    verified.add(0);
    verified.add(2);
    const s = new ChunkScheduler(verified, { slotsPerSource: 5 });
    s.addSource('a');
    expect(claimAll(s, 'a').map(span)).toEqual([
      ['a', 1, 2],
      ['a', 3, 4],
      ['a', 4, 5],
    ]);
  });

  it('keeps what a failed request delivered, returns the rest, and drops a source after repeated failures', () => {
    const s = new ChunkScheduler(new Bitfield(8), { slotsPerSource: 1, maxFailures: 2, maxRunChunks: 4 });
    s.addSource('a');
    s.addSource('b');
    const a1 = s.claim('a')!;
    expect(span(a1)).toEqual(['a', 0, 4]);
    deliver(s, a1, 2);
    expect(s.failed(a1)).toBe('kept');
    expect(s.verified.has(1)).toBe(true);
    expect(span(s.claim('b'))).toEqual(['b', 2, 5]); // chunk 2 is back in the pool, lowest first
    const a2 = s.claim('a')!;
    expect(s.failed(a2)).toBe('dropped');
    expect(s.sources).toEqual(['b']);
    expect(s.claim('a')).toBeUndefined();
  });

  it('bans a source that sent a bad chunk, once: its other runs die and their chunks return', () => {
    const s = new ChunkScheduler(new Bitfield(8), { slotsPerSource: 2, maxRunChunks: 2 });
    s.addSource('evil');
    s.addSource('good');
    const [r1, r2] = claimAll(s, 'evil');
    expect(s.corrupt(r1!)).toBe('banned');
    expect(r2!.dead).toBe(true);
    expect(s.corrupt(r2!)).toBe('dropped');
    expect(s.banned).toEqual(['evil']);
    expect(s.addSource('evil')).toBe(false);
    expect(span(s.claim('good'))).toEqual(['good', 0, 2]);
  });

  it('is done when every chunk is verified', () => {
    const s = new ChunkScheduler(new Bitfield(2), { slotsPerSource: 2 });
    s.addSource('a');
    const [r0, r1] = claimAll(s, 'a');
    deliver(s, r0!, 1);
    expect(s.done).toBe(false);
    deliver(s, r1!, 1);
    expect(s.done).toBe(true);
    expect(s.claim('a')).toBeUndefined();
  });
});
