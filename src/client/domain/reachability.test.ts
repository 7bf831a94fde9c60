import { describe, expect, it } from 'vitest';
import { describeReachability, reachabilityOf } from './reachability.ts';

describe('reachability in status', () => {
  it("reads Fetch's reachability, advertised addresses and port mapping, and says them in one line", () => {
    const health = {
      reachability: { state: 'reachable', address: '11.0.0.2', confirmedBy: 'abcdef0123' },
      advertised: { fetch: '11.0.0.2:7874', files: '11.0.0.2:7871' },
      portMapping: { state: 'mapped', externalIp: '11.0.0.2', ports: [7871, 7872, 7874], gateway: '192.168.77.1:5000' },
    };
    const r = reachabilityOf(health);
    expect(r).toEqual({
      state: 'reachable',
      address: '11.0.0.2',
      confirmedBy: 'abcdef0123',
      advertised: '11.0.0.2:7874',
      advertisedFiles: '11.0.0.2:7871',
      portMapping: { state: 'mapped', externalIp: '11.0.0.2', ports: [7871, 7872, 7874] },
    });
    expect(describeReachability(r)).toBe(
      'yes: dialled back at 11.0.0.2 by abcdef01; other peers dial 11.0.0.2:7874; the router forwards 7871, 7872, 7874 at 11.0.0.2',
    );
  });

  it('says why a mapping failed, and nothing about a router when none was asked (or the Fetch is older)', () => {
    const failed = reachabilityOf({
      reachability: { state: 'unreachable', address: '10.0.0.9' },
      portMapping: { state: 'failed', reason: 'no UPnP router answered within 10 s on the local network' },
    });
    expect(describeReachability(failed)).toMatch(
      /^no: seen at 10\.0\.0\.9 .*; port mapping failed: no UPnP router answered/,
    );
    const off = reachabilityOf({ reachability: { state: 'learning' }, portMapping: { state: 'off' } });
    expect(off).toEqual({ state: 'learning' });
    expect(reachabilityOf({ reachability: { state: 'configured' } })?.portMapping).toBeUndefined();
    expect(reachabilityOf('garbage')).toBeNull();
  });

  it('lists every address a peer advertising several is dialled at, in order', () => {
    const set = (host: string) => ({ files: `${host}:7871`, search: `${host}:7872`, fetch: `${host}:7874` });
    const r = reachabilityOf({
      reachability: { state: 'configured' },
      advertised: set('192.0.2.1'),
      advertisedAll: [set('192.0.2.1'), set('[2001:db8::1]')],
    });
    expect(r).toMatchObject({ advertised: '192.0.2.1:7874', advertisedAll: ['192.0.2.1:7874', '[2001:db8::1]:7874'] });
    expect(describeReachability(r)).toBe(
      'as configured: other peers dial 192.0.2.1:7874, then [2001:db8::1]:7874 (not checked)',
    );
    expect(
      reachabilityOf({
        reachability: { state: 'configured' },
        advertised: set('192.0.2.1'),
        advertisedAll: [set('192.0.2.1')],
      })?.advertisedAll,
    ).toBeUndefined();
  });
});
