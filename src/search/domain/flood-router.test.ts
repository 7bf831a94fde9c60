import { describe, expect, it } from 'vitest';
import { FloodRouter, queryKey } from './flood-router.ts';

const links = ['L1', 'L2', 'L3'];

function router(now = () => 0) {
  return new FloodRouter({ now, maxTtl: 7 });
}

describe('flood router', () => {
  it('matches a new query locally and forwards it to every other link with ttl - 1, hops + 1', () => {
    const decision = router().receive('L1', { key: 'q', ttl: 4, hops: 2 }, links);
    expect(decision).toEqual({ action: 'accept', hops: 3, forward: { to: ['L2', 'L3'], ttl: 3, hops: 3 } });
  });

  it('never forwards a query back over the link it came from', () => {
    const decision = router().receive('L2', { key: 'q', ttl: 7, hops: 0 }, links);
    expect(decision.action === 'accept' && decision.forward?.to).toEqual(['L1', 'L3']);
  });

  it('drops a duplicate, whichever link it arrives on', () => {
    const r = router();
    r.receive('L1', { key: 'q', ttl: 7, hops: 0 }, links);
    expect(r.receive('L1', { key: 'q', ttl: 7, hops: 0 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
    expect(r.receive('L3', { key: 'q', ttl: 5, hops: 2 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
  });

  it('forwards again a copy that may go further than every copy before it, to every link but its sender', () => {
    const r = router();
    // The first copy came the long way (4 links) with 2 left; a later one comes the short way.
    expect(r.receive('L1', { key: 'q', ttl: 2, hops: 3 }, links)).toEqual({
      action: 'accept',
      hops: 4,
      forward: { to: ['L2', 'L3'], ttl: 1, hops: 4 },
    });
    expect(r.receive('L2', { key: 'q', ttl: 5, hops: 1 }, links)).toEqual({
      action: 'reforward',
      forward: { to: ['L1', 'L3'], ttl: 4, hops: 2 },
    });
    // As much TTL as the best copy so far, or less: a duplicate.
    expect(r.receive('L3', { key: 'q', ttl: 5, hops: 1 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
    expect(r.receive('L1', { key: 'q', ttl: 3, hops: 1 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
    // Hits still go back the way the first copy came.
    expect(r.routeHit(undefined, 'q')).toEqual({ action: 'forward', to: 'L1' });
    expect(r.routeHit('L2', 'q')).toEqual({ action: 'forward', to: 'L1' });
  });

  it('forwards a copy with TTL left when the first had none (the peer exactly TTL links away is reached)', () => {
    const r = router();
    expect(r.receive('L1', { key: 'q', ttl: 1, hops: 2 }, links)).toEqual({
      action: 'accept',
      hops: 3,
      forward: undefined,
    });
    // Not back to L1, which has seen the query: only L3 may not have.
    expect(r.receive('L2', { key: 'q', ttl: 2, hops: 1 }, links)).toEqual({
      action: 'reforward',
      forward: { to: ['L3'], ttl: 1, hops: 2 },
    });
  });

  it('does not forward again to a neighbour that sent a copy with as much TTL as it would be left', () => {
    const r = router();
    const four = ['L1', 'L2', 'L3', 'L4'];
    r.receive('L1', { key: 'q', ttl: 2, hops: 3 }, four); // L1 forwards with 2: holds it with 2 at least
    r.receive('L3', { key: 'q', ttl: 1, hops: 4 }, four); // L3 with 1
    // A copy with 3 to go would leave L1 with 2 (no more than it has: it would drop it), L3 and L4 with 2.
    expect(r.receive('L2', { key: 'q', ttl: 4, hops: 1 }, four)).toEqual({
      action: 'reforward',
      forward: { to: ['L3', 'L4'], ttl: 3, hops: 2 },
    });
    // When every other neighbour already holds enough, the better copy goes nowhere.
    const two = ['L1', 'L2'];
    const s = router();
    s.receive('L1', { key: 'p', ttl: 3, hops: 3 }, two);
    expect(s.receive('L2', { key: 'p', ttl: 4, hops: 2 }, two)).toEqual({ action: 'drop', reason: 'duplicate' });
  });

  it('compares clamped TTLs: a neighbour raising the TTL of one id buys at most maxTtl − 1 forwards in all', () => {
    const rising = (r: FloodRouter, key: string) => {
      const forwards: number[] = [];
      for (const ttl of [1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 100, 255]) {
        const decision = r.receive('L1', { key, ttl, hops: 0 }, links);
        if (decision.action !== 'drop' && decision.forward) forwards.push(decision.forward.ttl);
      }
      return forwards;
    };
    // By default only copies after one that came with 0 or 1 left go again.
    expect(rising(router(), 'default')).toEqual([1, 2]);
    // Re-forwarding any higher copy, still bounded by the clamp.
    const r = new FloodRouter({ now: () => 0, maxTtl: 7, reforwardBelow: 8 });
    expect(rising(r, 'q')).toEqual([1, 2, 3, 4, 5, 6]);
    // Claiming fewer hops does not help either: the clamp already allowed the most from hops 0.
    expect(r.receive('L2', { key: 'q', ttl: 255, hops: 0 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
  });

  it('never forwards its own query again, whatever TTL an echo claims', () => {
    const r = router();
    r.originate('mine', 2, links);
    expect(r.receive('L1', { key: 'mine', ttl: 255, hops: 0 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
  });

  it('with reforward off (the flood before), drops every copy after the first', () => {
    const r = new FloodRouter({ now: () => 0, maxTtl: 7, reforward: false });
    r.receive('L1', { key: 'q', ttl: 1, hops: 2 }, links);
    expect(r.receive('L2', { key: 'q', ttl: 4, hops: 1 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
  });

  it('with reforwardBelow, forwards again only while the best copy before had fewer links left', () => {
    const r = new FloodRouter({ now: () => 0, maxTtl: 7, reforwardBelow: 2 });
    // First copy with 3 left: it already had TTL to spare, a later one with 5 is a duplicate.
    r.receive('L1', { key: 'spare', ttl: 4, hops: 3 }, links);
    expect(r.receive('L2', { key: 'spare', ttl: 6, hops: 1 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
    // First copy at the rim (1 left): the one with 4 goes again; after it (best 4) nothing more does.
    r.receive('L1', { key: 'rim', ttl: 2, hops: 4 }, links);
    expect(r.receive('L2', { key: 'rim', ttl: 5, hops: 1 }, links)).toMatchObject({ action: 'reforward' });
    expect(r.receive('L3', { key: 'rim', ttl: 6, hops: 0 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
  });

  it('clamps TTL 255 so the query goes no further than the maximum from its origin', () => {
    const r = router();
    expect(r.receive('L1', { key: 'a', ttl: 255, hops: 0 }, links)).toMatchObject({ forward: { ttl: 6, hops: 1 } });
    expect(r.receive('L1', { key: 'b', ttl: 255, hops: 4 }, links)).toMatchObject({ forward: { ttl: 2, hops: 5 } });
    expect(r.receive('L1', { key: 'c', ttl: 255, hops: 6 }, links)).toEqual({
      action: 'accept',
      hops: 7,
      forward: undefined,
    });
  });

  it('drops a query whose hops are beyond the maximum, without remembering it', () => {
    const r = router();
    expect(r.receive('L1', { key: 'q', ttl: 3, hops: 7 }, links)).toEqual({ action: 'drop', reason: 'too-many-hops' });
    expect(r.receive('L1', { key: 'z', ttl: 0, hops: 0 }, links)).toEqual({ action: 'drop', reason: 'ttl-exhausted' });
    expect(r.stats).toEqual({ seen: 0, routes: 0 });
  });

  it('matches but does not forward a query whose ttl runs out here', () => {
    expect(router().receive('L1', { key: 'q', ttl: 1, hops: 0 }, links)).toEqual({
      action: 'accept',
      hops: 1,
      forward: undefined,
    });
  });

  it('sends hits back only over the link the query came from', () => {
    const r = router();
    r.receive('L2', { key: 'q', ttl: 7, hops: 0 }, links);
    expect(r.routeHit(undefined, 'q')).toEqual({ action: 'forward', to: 'L2' });
    expect(r.routeHit('L3', 'q')).toEqual({ action: 'forward', to: 'L2' });
    expect(r.routeHit('L2', 'q')).toEqual({ action: 'drop', reason: 'from-route-link' });
    expect(r.routeHit('L3', 'never-seen')).toEqual({ action: 'drop', reason: 'no-route' });
  });

  it('delivers hits for its own searches and drops their echoes', () => {
    const r = router();
    expect(r.originate('mine', 255, links)).toEqual({ to: links, ttl: 7, hops: 0 });
    expect(r.receive('L3', { key: 'mine', ttl: 6, hops: 1 }, links)).toEqual({ action: 'drop', reason: 'duplicate' });
    expect(r.routeHit('L1', 'mine')).toEqual({ action: 'deliver' });
  });

  it('forgets reverse routes after their lifetime and keeps the table bounded', () => {
    let now = 0;
    const r = new FloodRouter({ now: () => now, routeTtlMs: 1_000, routeCapacity: 100, seenCapacity: 100 });
    for (let i = 0; i < 1_000; i++) r.receive('L1', { key: `k${i}`, ttl: 3, hops: 0 }, links);
    expect(r.stats).toEqual({ seen: 100, routes: 100 });
    now = 1_000;
    expect(r.routeHit('L2', 'k999')).toEqual({ action: 'drop', reason: 'no-route' });
  });

  it('keys a query by its random bytes and origin peer', () => {
    expect(queryKey(Uint8Array.of(0, 15, 255), 'peer')).toBe('000fff@peer');
  });
});
