import { describe, expect, it } from 'vitest';
import { MembershipLog } from './membership-log.ts';

describe('membership log', () => {
  it('numbers events and keeps only the newest `capacity` in memory', () => {
    const log = new MembershipLog(3);
    for (const kind of ['joined', 'suspected', 'down', 'back'] as const) log.append(kind, 'p', 1);
    expect(log.last).toBe(4);
    expect(log.since().map((e) => [e.n, e.kind])).toEqual([
      [2, 'suspected'],
      [3, 'down'],
      [4, 'back'],
    ]);
    expect(log.since(3).map((e) => e.n)).toEqual([4]);
    expect(log.since(4)).toEqual([]);
  });

  it('counts every event by kind, those the ring dropped included', () => {
    const log = new MembershipLog(2);
    for (const kind of ['joined', 'suspected', 'down', 'back', 'suspected'] as const) log.append(kind, 'p', 1);
    expect(log.counts).toEqual({ joined: 1, suspected: 2, down: 1, back: 1, left: 0, evicted: 0 });
  });
});
