import { describe, expect, it } from 'vitest';
import { Bitfield } from './bitfield.ts';
import { ChunkScheduler } from './chunk-scheduler.ts';

function drain(s: ChunkScheduler, source: string): number[] {
  const out: number[] = [];
  for (let i = s.next(source); i !== undefined; i = s.next(source)) out.push(i);
  return out;
}

describe('chunk scheduler', () => {
  it('hands out missing chunks lowest first, up to the slots of each source', () => {
    const s = new ChunkScheduler(new Bitfield(10), { slotsPerSource: 3 });
    s.addSource('a');
    s.addSource('b');
    expect(drain(s, 'a')).toEqual([0, 1, 2]);
    expect(drain(s, 'b')).toEqual([3, 4, 5]);
    s.succeeded('a', 0, 100);
    expect(drain(s, 'a')).toEqual([6]); // a freed one slot, so it takes the next chunk
  });

  it('extends a request to the following chunks only while they are free and slots remain', () => {
    const verified = new Bitfield(8);
    verified.add(3);
    const s = new ChunkScheduler(verified, { slotsPerSource: 3 });
    s.addSource('a');
    s.addSource('b');
    expect(s.next('a')).toBe(0);
    expect(s.extend('a', 1)).toBe(true);
    expect(s.extend('a', 2)).toBe(true);
    expect(s.extend('a', 3)).toBe(false); // no slot left (and 3 is verified anyway)
    expect(s.next('b')).toBe(4);
    expect(s.extend('b', 5)).toBe(true);
    expect(s.extend('b', 4)).toBe(false); // already requested
    expect(s.next('b')).toBe(6);
  });

  it('skips chunks verified by an earlier run', () => {
    const verified = new Bitfield(5);
    verified.add(0);
    verified.add(2);
    const s = new ChunkScheduler(verified, { slotsPerSource: 5 });
    s.addSource('a');
    expect(drain(s, 'a')).toEqual([1, 3, 4]);
  });

  it('in the endgame, duplicates the least-requested chunks a source is not already fetching', () => {
    const s = new ChunkScheduler(new Bitfield(3), { slotsPerSource: 2 });
    s.addSource('a');
    s.addSource('b');
    expect(drain(s, 'a')).toEqual([0, 1]);
    expect(drain(s, 'b')).toEqual([2, 0]); // 2 is fresh; 0 duplicates a's request
    expect(s.fetchersOf(0).sort()).toEqual(['a', 'b']);
    expect(s.succeeded('b', 0, 1)).toBe(true);
    expect(s.succeeded('a', 0, 1)).toBe(false); // the duplicate arrived second
  });

  it('returns the chunks of a failing source to the pool and drops it after repeated failures', () => {
    const s = new ChunkScheduler(new Bitfield(4), { slotsPerSource: 2, maxFailures: 2 });
    s.addSource('a');
    s.addSource('b');
    expect(drain(s, 'a')).toEqual([0, 1]);
    expect(s.failed('a', 0)).toBe('kept');
    expect(drain(s, 'b')).toEqual([0, 2]); // chunk 0 is back in the pool, lowest first
    expect(s.failed('a', 1)).toBe('dropped');
    expect(s.sources).toEqual(['b']);
    expect(s.next('a')).toBeUndefined();
  });

  it('bans a source that sent a bad chunk, once, and never takes it back', () => {
    const s = new ChunkScheduler(new Bitfield(4), { slotsPerSource: 2 });
    s.addSource('evil');
    drain(s, 'evil');
    expect(s.corrupt('evil', 0)).toBe('banned');
    expect(s.corrupt('evil', 1)).toBe('dropped');
    expect(s.banned).toEqual(['evil']);
    expect(s.addSource('evil')).toBe(false);
  });

  it('is done when every chunk is verified', () => {
    const s = new ChunkScheduler(new Bitfield(2), { slotsPerSource: 2 });
    s.addSource('a');
    drain(s, 'a');
    s.succeeded('a', 0, 1);
    expect(s.done).toBe(false);
    s.succeeded('a', 1, 1);
    expect(s.done).toBe(true);
    expect(s.next('a')).toBeUndefined();
  });
});
