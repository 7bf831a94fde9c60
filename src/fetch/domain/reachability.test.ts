import { describe, expect, it } from 'vitest';
import {
  AddressLearner,
  DIAL_BACKS_PER_HOST_PER_MINUTE,
  DialBackLimiter,
  MAX_DIAL_BACKS_IN_FLIGHT,
  RECHECK_ROUNDS,
} from './reachability.ts';

describe('learning the address to advertise', () => {
  it('checks an observed address once, advertises it when dialled back, and keeps quiet while it holds', () => {
    const learner = new AddressLearner(true);
    expect(learner.status).toEqual({ state: 'learning' });
    expect(learner.shouldCheck('10.0.0.5', 1)).toBe(true);
    expect(learner.shouldCheck('10.0.0.5', 1)).toBe(false); // one check at a time
    expect(learner.checked('10.0.0.5', true, 'peerA', 2)).toBe('10.0.0.5');
    expect(learner.status).toEqual({ state: 'reachable', address: '10.0.0.5', confirmedBy: 'peerA', round: 2 });
    expect(learner.shouldCheck('10.0.0.5', 3)).toBe(false);
    // Seen somewhere else (the host moved, or a new route): checked at once, advertised if confirmed.
    expect(learner.shouldCheck('10.0.9.9', 4)).toBe(true);
    expect(learner.checked('10.0.9.9', true, 'peerB', 4)).toBe('10.0.9.9');
  });

  it('marks a peer that was not dialled back unreachable and asks again only after RECHECK_ROUNDS', () => {
    const learner = new AddressLearner(true);
    expect(learner.shouldCheck('203.0.113.7', 1)).toBe(true);
    // Advertised all the same (others then hold it firewalled), once per address.
    expect(learner.checked('203.0.113.7', false, 'peerA', 1)).toBe('203.0.113.7');
    expect(learner.status).toMatchObject({ state: 'unreachable', address: '203.0.113.7' });
    expect(learner.shouldCheck('203.0.113.7', RECHECK_ROUNDS)).toBe(false);
    expect(learner.shouldCheck('203.0.113.7', 1 + RECHECK_ROUNDS)).toBe(true);
    learner.failed(); // not answered: nothing learned, next check waits again
    expect(learner.status.state).toBe('unreachable');
    expect(learner.shouldCheck('203.0.113.7', 2 + 2 * RECHECK_ROUNDS)).toBe(true);
    expect(learner.checked('203.0.113.7', false, 'peerB', 2 + 2 * RECHECK_ROUNDS)).toBeUndefined(); // same address: nothing to re-sign
  });

  it('learns nothing from loopback observations, nothing when the address was given, and keeps a confirmed address one peer could not dial', () => {
    const learner = new AddressLearner(true);
    expect(learner.shouldCheck('127.0.0.1', 1)).toBe(false);
    expect(learner.shouldCheck('::1', 1)).toBe(false);
    expect(learner.shouldCheck(undefined, 1)).toBe(false);
    expect(new AddressLearner(false).shouldCheck('10.0.0.5', 1)).toBe(false);
    expect(learner.shouldCheck('10.0.0.5', 1)).toBe(true);
    learner.checked('10.0.0.5', true, 'peerA', 1);
    expect(learner.shouldCheck('10.0.0.6', 2)).toBe(true);
    expect(learner.checked('10.0.0.6', false, 'peerB', 2)).toBeUndefined();
    expect(learner.status).toMatchObject({ state: 'reachable', address: '10.0.0.5' });
  });
});

describe('dial-backs asked of this peer', () => {
  it('are bounded per asking host per minute and in flight', () => {
    const limiter = new DialBackLimiter();
    const taken = Array.from({ length: DIAL_BACKS_PER_HOST_PER_MINUTE + 1 }, () => {
      const ok = limiter.take('10.0.0.1', 0);
      if (ok) limiter.release();
      return ok;
    });
    expect(taken.filter(Boolean)).toHaveLength(DIAL_BACKS_PER_HOST_PER_MINUTE);
    expect(limiter.take('10.0.0.1', 59_999)).toBe(false);
    expect(limiter.take('10.0.0.1', 60_000)).toBe(true); // a new minute
    limiter.release();
    const hosts = Array.from({ length: MAX_DIAL_BACKS_IN_FLIGHT + 1 }, (_, i) => limiter.take(`10.0.1.${i}`, 60_001));
    expect(hosts.filter(Boolean)).toHaveLength(MAX_DIAL_BACKS_IN_FLIGHT);
    limiter.release();
    expect(limiter.take('10.0.2.1', 60_002)).toBe(true);
  });
});
