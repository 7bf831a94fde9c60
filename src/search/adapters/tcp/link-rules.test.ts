import { describe, expect, it } from 'vitest';
import { subnetOf } from '../../../shared/address.ts';
import { inboundRefusal } from './link-rules.ts';

const session = { localNonce: new Uint8Array(16) };
const link = (ip: string, direction: 'inbound' | 'outbound' = 'inbound') => ({
  direction,
  remoteIp: ip,
  subnet: subnetOf(ip),
  session,
});
const caps = { perIp: 2, perSubnet: 3, pending: 16 };
const check = (entries: ReturnType<typeof link>[], ip: string) => inboundRefusal(entries, ip, subnetOf(ip), caps)?.cap;

describe('inboundRefusal', () => {
  it('caps links per address, whatever the direction', () => {
    expect(check([link('198.51.100.7')], '198.51.100.7')).toBeUndefined();
    expect(check([link('198.51.100.7'), link('198.51.100.7', 'outbound')], '198.51.100.7')).toBe('perIp');
  });

  it('caps inbound links per /24 and per /64, from however many addresses', () => {
    const v4 = [link('198.51.100.1'), link('198.51.100.2'), link('198.51.100.3')];
    expect(check(v4, '198.51.100.4')).toBe('perSubnet');
    expect(check(v4, '198.51.101.4')).toBeUndefined();
    // Outbound links (peers we chose) do not count toward the subnet cap.
    expect(check([...v4.slice(0, 2), link('198.51.100.3', 'outbound')], '198.51.100.4')).toBeUndefined();
    const v6 = [link('2001:db8:1:2::1'), link('2001:db8:1:2::2'), link('2001:db8:1:2:ffff::3')];
    expect(check(v6, '2001:db8:1:2::99')).toBe('perSubnet');
    expect(check(v6, '2001:db8:1:3::99')).toBeUndefined();
  });

  it('counts every 127.x address as its own subnet', () => {
    const local = [link('127.30.0.2'), link('127.30.0.3'), link('127.30.0.4')];
    expect(check(local, '127.30.0.5')).toBeUndefined();
  });

  it('refuses everyone once too many handshakes are pending', () => {
    const many = Array.from({ length: 16 }, (_, i) => link(`203.0.${i}.1`));
    expect(check(many, '192.0.2.1')).toBe('pending');
  });
});
