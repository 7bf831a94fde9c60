import { describe, expect, it } from 'vitest';
import { ConnectBackGuard, DEFAULT_PUSH_SETTINGS, PushRouter, PushSendLimit, type PushFields } from './push.ts';

const SELF = 'a'.repeat(52);
const HOLDER = 'h'.repeat(52);
const REQUESTER = 'r'.repeat(52);
const FILE = 'ab'.repeat(32);

function push(overrides: Partial<PushFields> = {}): PushFields {
  return {
    targetPeerId: HOLDER,
    requesterPeerId: REQUESTER,
    requesterFilesAddress: '10.0.0.2:7871',
    fileId: FILE,
    nonce: new Uint8Array(16).fill(1),
    ttl: 7,
    ...overrides,
  };
}

describe('push routing', () => {
  it('delivers a push for this peer, forwards one toward the holder along the route its hits taught, and drops duplicates', () => {
    const clock = { t: 0 };
    const router = new PushRouter(DEFAULT_PUSH_SETTINGS, SELF, () => clock.t);
    const noLinks = () => undefined;
    expect(router.receive('L1', push({ targetPeerId: SELF }), noLinks)).toEqual({ action: 'deliver' });
    expect(router.receive('L1', push({ nonce: new Uint8Array(16).fill(2) }), noLinks)).toEqual({
      action: 'drop',
      reason: 'no-route',
    });
    router.routes.learn(HOLDER, 'L3');
    expect(router.receive('L1', push({ nonce: new Uint8Array(16).fill(3) }), noLinks)).toEqual({
      action: 'forward',
      to: 'L3',
      ttl: 6,
    });
    expect(router.receive('L2', push({ nonce: new Uint8Array(16).fill(3) }), noLinks)).toEqual({
      action: 'drop',
      reason: 'duplicate',
    });
    // Never back over the link it came on (a loop, or a forgery).
    expect(router.receive('L3', push({ nonce: new Uint8Array(16).fill(4) }), noLinks)).toEqual({
      action: 'drop',
      reason: 'no-route',
    });
    // A link to the holder itself wins over a learned route, whatever the ttl left.
    expect(
      router.receive('L1', push({ nonce: new Uint8Array(16).fill(5), ttl: 1 }), (p) =>
        p === HOLDER ? 'L9' : undefined,
      ),
    ).toEqual({ action: 'forward', to: 'L9', ttl: 0 });
    expect(router.receive('L1', push({ nonce: new Uint8Array(16).fill(6), ttl: 1 }), noLinks)).toEqual({
      action: 'drop',
      reason: 'ttl-exhausted',
    });
    // A ttl far above the maximum is clamped.
    expect(router.receive('L1', push({ nonce: new Uint8Array(16).fill(7), ttl: 255 }), noLinks)).toMatchObject({
      ttl: DEFAULT_PUSH_SETTINGS.maxTtl - 1,
    });
    // Routes expire.
    clock.t += DEFAULT_PUSH_SETTINGS.routeTtlMs;
    expect(router.receive('L1', push({ nonce: new Uint8Array(16).fill(8) }), noLinks)).toEqual({
      action: 'drop',
      reason: 'no-route',
    });
  });

  it('originates toward a link to the holder, else its learned route, and remembers its own push', () => {
    const router = new PushRouter(DEFAULT_PUSH_SETTINGS, REQUESTER, () => 0);
    expect(router.originate(push(), () => undefined)).toBeUndefined();
    router.routes.learn(HOLDER, 'L2');
    expect(router.originate(push({ nonce: new Uint8Array(16).fill(9) }), () => undefined)).toBe('L2');
    expect(router.originate(push({ nonce: new Uint8Array(16).fill(10) }), () => 'L7')).toBe('L7');
    // Our own push coming back to us is a duplicate.
    expect(router.receive('L2', push({ nonce: new Uint8Array(16).fill(10) }), () => undefined)).toEqual({
      action: 'drop',
      reason: 'duplicate',
    });
  });
});

describe('connect-back guard (the firewalled holder)', () => {
  it("connects back only to a verified requester, at exactly its record's files address", () => {
    const guard = new ConnectBackGuard(DEFAULT_PUSH_SETTINGS);
    expect(guard.admit(push(), undefined, 0)).toBe('unverified-requester');
    // A push naming a bystander's address instead of the requester's own is ignored.
    expect(guard.admit(push({ requesterFilesAddress: '10.0.0.99:7871' }), '10.0.0.2:7871', 0)).toBe('address-mismatch');
    expect(guard.admit(push(), '10.0.0.2:7871', 0)).toBe('connect');
    expect(guard.counters).toEqual({ connect: 1, unverifiedRequester: 1, addressMismatch: 1, rateLimited: 0 });
  });

  it('is rate-limited per requester and in all, per minute', () => {
    const guard = new ConnectBackGuard({ perRequesterPerMinute: 3, perMinute: 5 });
    const from = (requester: string, now: number) =>
      guard.admit(push({ requesterPeerId: requester }), '10.0.0.2:7871', now);
    expect([1, 2, 3, 4].map(() => from(REQUESTER, 0))).toEqual(['connect', 'connect', 'connect', 'rate-limited']);
    const other = 'o'.repeat(52);
    expect([1, 2, 3].map(() => from(other, 1))).toEqual(['connect', 'connect', 'rate-limited']); // 5 in all
    expect(from(REQUESTER, 60_000)).toBe('connect'); // a new minute
    expect(guard.counters.rateLimited).toBe(2);
  });

  it('bounds what a requester sends per holder per minute', () => {
    const limit = new PushSendLimit({ sendPerHolderPerMinute: 2 });
    expect([1, 2, 3].map(() => limit.take(HOLDER, 0))).toEqual([true, true, false]);
    expect(limit.take('x'.repeat(52), 0)).toBe(true);
    expect(limit.take(HOLDER, 60_000)).toBe(true);
  });
});
