import { describe, expect, it } from 'vitest';
import { hostOf, hostPort, isLoopbackHost, portOf, splitAddress, subnetOf } from './address.ts';

describe('subnetOf', () => {
  it('groups IPv4 addresses by their /24', () => {
    expect(subnetOf('203.0.113.7')).toBe('203.0.113.0/24');
    expect(subnetOf('203.0.113.250')).toBe(subnetOf('203.0.113.7'));
    expect(subnetOf('203.0.114.7')).not.toBe(subnetOf('203.0.113.7'));
  });

  it('groups IPv6 addresses by their /64', () => {
    expect(subnetOf('2001:db8:1:2::5')).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(subnetOf('2001:db8:1:2:ffff:1:2:3')).toBe(subnetOf('2001:db8:1:2::5'));
    expect(subnetOf('2001:db8:1:3::5')).not.toBe(subnetOf('2001:db8:1:2::5'));
    expect(subnetOf('::ffff:198.51.100.1')).toBe('198.51.100.0/24');
  });

  it('takes other prefix lengths', () => {
    expect(subnetOf('10.1.2.3', { v4: 16, v6: 48 })).toBe('10.1.0.0/16');
    expect(subnetOf('10.1.2.3', { v4: 32, v6: 48 })).toBe('10.1.2.3/32');
    expect(subnetOf('2001:db8:1:2::5', { v4: 24, v6: 48 })).toBe('2001:db8:1:0:0:0:0:0/48');
    expect(subnetOf('2001:db8:1:2::5', { v4: 24, v6: 56 })).toBe('2001:db8:1:0:0:0:0:0/56');
    expect(subnetOf('2001:db8:1:2ff::5', { v4: 24, v6: 56 })).toBe('2001:db8:1:200:0:0:0:0/56');
  });

  it('counts every loopback address as its own subnet, so peers on 127.x behave as separate hosts', () => {
    expect(subnetOf('127.30.1.2')).toBe('127.30.1.2');
    expect(subnetOf('127.30.1.3')).not.toBe(subnetOf('127.30.1.2'));
    expect(subnetOf('::1')).toBe('::1');
  });
});

describe('host:port', () => {
  it('splits and joins IPv4, IPv6 and names the same way everywhere', () => {
    expect(splitAddress('192.0.2.7:7871')).toEqual({ host: '192.0.2.7', port: 7871 });
    expect(splitAddress('[2001:db8::7]:7872')).toEqual({ host: '2001:db8::7', port: 7872 });
    expect(splitAddress('peer.example.org:7874')).toEqual({ host: 'peer.example.org', port: 7874 });
    expect(hostPort('2001:db8::7', 7872)).toBe('[2001:db8::7]:7872');
    expect(hostPort('192.0.2.7', 7871)).toBe('192.0.2.7:7871');
    for (const a of ['192.0.2.7:7871', '[2001:db8::7]:7872', 'peer.example.org:7874'])
      expect(hostPort(splitAddress(a).host, splitAddress(a).port)).toBe(a);
  });

  it('names the host and the port of an address, and knows loopback hosts', () => {
    expect(['[2001:DB8::7]:7872', 'Peer.Example.org:7874', '2001:db8::7', 'bare'].map(hostOf)).toEqual([
      '2001:db8::7',
      'peer.example.org',
      '2001:db8::7',
      'bare',
    ]);
    expect(portOf('[2001:db8::7]:7872')).toBe(7872);
    expect(portOf('bare')).toBeNaN();
    expect(['127.0.0.9', '::1', '::ffff:127.0.0.1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['192.0.2.7', '::', 'peer.example.org'].some(isLoopbackHost)).toBe(false);
  });
});
