import { describe, expect, it } from 'vitest';
import { LinkGuard, type Admission } from './link-guard.ts';

const limits = { queriesPerSecond: 1, queryBurst: 3, strikeBurst: 2, strikesForgivenPerSecond: 1 };

function run(
  guard: LinkGuard,
  link: string,
  sender: { peerId: string; remoteIp: string } | undefined,
  n: number,
): Admission[] {
  return Array.from({ length: n }, () => guard.admit(link, sender));
}

describe('LinkGuard', () => {
  it('admits a burst, drops beyond it, then asks for the link to be cut', () => {
    const guard = new LinkGuard(limits, () => 0);
    expect(run(guard, 'L1', { peerId: 'p', remoteIp: '10.0.0.1' }, 6)).toEqual([
      'admit',
      'admit',
      'admit',
      'drop',
      'drop',
      'disconnect',
    ]);
  });

  it("keeps a neighbour's state across reconnects, by peer id", () => {
    let now = 0;
    const guard = new LinkGuard(limits, () => now);
    const p = { peerId: 'p', remoteIp: '10.0.0.1' };
    run(guard, 'L1', p, 6);
    guard.forget('L1');
    expect(guard.admit('L2', { ...p, remoteIp: '10.0.0.9' })).toBe('disconnect');
    guard.forget('L2');
    now = 1_000; // one second refills one token and forgives one strike, no more
    expect(run(guard, 'L3', p, 3)).toEqual(['admit', 'drop', 'disconnect']);
  });

  it("gives a new identity from a flooding address the flooder's state, and one from a quiet address its own", () => {
    const guard = new LinkGuard(limits, () => 0);
    run(guard, 'L1', { peerId: 'p', remoteIp: '10.0.0.1' }, 6);
    guard.forget('L1');
    expect(guard.admit('L2', { peerId: 'q', remoteIp: '10.0.0.1' })).toBe('disconnect');
    // Honest peers behind one address, within the limit, keep a state each.
    run(guard, 'L3', { peerId: 'r', remoteIp: '10.0.0.2' }, 2);
    expect(run(guard, 'L4', { peerId: 's', remoteIp: '10.0.0.2' }, 3)).toEqual(['admit', 'admit', 'admit']);
  });

  it('forgets a neighbour once its memory expires, and holds at most its cap of neighbours', () => {
    let now = 0;
    const guard = new LinkGuard({ ...limits, queriesPerSecond: 0, strikesForgivenPerSecond: 0 }, () => now, {
      entries: 2,
      ms: 60_000,
    });
    const p = { peerId: 'p', remoteIp: '10.0.0.1' };
    run(guard, 'L1', p, 6);
    guard.forget('L1');
    now = 60_000;
    expect(run(guard, 'L2', p, 4)).toEqual(['admit', 'admit', 'admit', 'drop']);
    guard.forget('L2');
    run(guard, 'L3', { peerId: 'x', remoteIp: '10.0.0.3' }, 1);
    run(guard, 'L4', { peerId: 'y', remoteIp: '10.0.0.4' }, 1);
    expect(guard.admit('L5', { ...p, remoteIp: '10.0.0.5' })).toBe('admit'); // p was pushed out: a bounded map, not a ban list
  });
});
