import { describe, expect, it } from 'vitest';
import { isPrivateIpv4, judgeMappings } from './port-mapping.ts';

const PORTS = [7871, 7872, 7874];
const same = PORTS.map((p) => ({ internalPort: p, externalPort: p }));

describe('port mapping verdicts', () => {
  it('keeps a mapping of every peer port from the same port on a public address', () => {
    expect(judgeMappings('gw', '11.0.0.2', same)).toEqual({
      status: { state: 'mapped', gateway: 'gw', externalIp: '11.0.0.2', ports: PORTS },
      undo: [],
    });
  });

  it("undoes everything behind a second NAT (the router's own external address is private)", () => {
    for (const ip of ['10.1.2.3', '192.168.1.1', '172.20.0.1', '100.64.3.4']) {
      const { status, undo } = judgeMappings('gw', ip, same);
      expect(status.state).toBe('failed');
      expect(status.state === 'failed' && status.reason).toMatch(/private: another NAT/);
      expect(undo).toEqual(PORTS);
    }
  });

  it('undoes everything when the router moves a port (the record names the bound port) or refuses one', () => {
    const moved = judgeMappings('gw', '11.0.0.2', [same[0]!, { internalPort: 7872, externalPort: 40000 }, same[2]!]);
    expect(moved.status.state === 'failed' && moved.status.reason).toMatch(/mapped port 7872 from external port 40000/);
    expect(moved.undo).toEqual(PORTS);
    const refused = judgeMappings('gw', '11.0.0.2', [
      same[0]!,
      { internalPort: 7872, error: 'ConflictInMappingEntry' },
      same[2]!,
    ]);
    expect(refused.status.state === 'failed' && refused.status.reason).toMatch(
      /refused to map port 7872: ConflictInMappingEntry/,
    );
    expect(refused.undo).toEqual([7871, 7874]); // only what was mapped
  });

  it('tells private and shared ranges from public ones', () => {
    expect(
      [
        '10.0.0.1',
        '127.0.0.1',
        '172.16.0.1',
        '172.31.255.255',
        '192.168.0.1',
        '100.64.0.1',
        '100.127.0.1',
        '169.254.1.1',
        '0.0.0.0',
        'nonsense',
      ].every(isPrivateIpv4),
    ).toBe(true);
    expect(['11.0.0.1', '172.15.0.1', '172.32.0.1', '100.63.0.1', '100.128.0.1', '8.8.8.8'].some(isPrivateIpv4)).toBe(
      false,
    );
  });
});
