import { describe, expect, it } from 'vitest';
import { describeDefences, linkDefences, membershipDefences } from './defences.ts';

describe('defences in status', () => {
  it("reads Fetch's admission counters and Search's engine and overlay counters from their health", () => {
    const membership = membershipDefences({
      peerId: 'p',
      admission: {
        unverified: 3,
        firewalled: 0,
        refusedNew: 120,
        refusedBackoff: 2,
        evictedUnverified: 5,
        verificationsOk: 9,
        verificationsFailed: 4,
        droppedAfterFailures: 1,
        tableFull: 2,
        sampledOut: 1,
        extra: 7,
      },
    });
    expect(membership).toEqual({
      unverified: 3,
      firewalled: 0,
      refusedNew: 120,
      refusedBackoff: 2,
      evictedUnverified: 5,
      verificationsOk: 9,
      verificationsFailed: 4,
      droppedAfterFailures: 1,
      tableFull: 2,
      sampledOut: 1,
    });
    const links = linkDefences({
      counters: { queriesRateLimited: 11, linksDisconnected: 1, searchesRateLimited: 0, hitResultsBadName: 4 },
      overlay: {
        inboundRefused: { perIp: 6, perSubnet: 2, pending: 0, full: 0 },
        evictions: 3,
        frameDeadlineCloses: 1,
      },
    });
    expect(links).toEqual({
      inboundRefused: { perIp: 6, perSubnet: 2, pending: 0, full: 0 },
      evictions: 3,
      frameDeadlineCloses: 1,
      queriesRateLimited: 11,
      neighboursCut: 1,
      ownSearchesRateLimited: 0,
      hitResultsBadName: 4,
    });
    expect(describeDefences({ membership, links })).toBe(
      '3 records unverified, 122 records refused, 6 records dropped, 4 probes failed, 3 peers past the table cap (kept as a random sample), 8 links refused, 3 links evicted, 1 links closed for a slow frame, 11 queries rate-limited, 1 neighbours cut for flooding, 4 hits with unsafe names dropped',
    );
  });

  it('says nothing was refused on a quiet peer, and "?" when neither service answered with counters', () => {
    const quiet = {
      membership: membershipDefences({ admission: {} }),
      links: linkDefences({ counters: {}, overlay: {} }),
    };
    expect(describeDefences(quiet)).toBe('nothing refused');
    expect(membershipDefences({ peerId: 'old service' })).toBeNull();
    expect(linkDefences('garbage')).toBeNull();
    expect(describeDefences({ membership: null, links: null })).toBe('?');
  });
});
