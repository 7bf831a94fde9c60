import { describe, expect, it } from 'vitest';
import { chooseEviction, type InboundLinkFacts } from './eviction.ts';

const link = (id: string, subnet: string, since: number, usefulAt?: number): InboundLinkFacts => ({
  id,
  subnet,
  since,
  usefulAt,
});
const NOW = 1_000_000;
const at = { now: NOW };

describe('chooseEviction', () => {
  it('evicts the youngest idle link of the subnet holding the most inbound links, for a newcomer from elsewhere', () => {
    const links = [link('a1', 'A', 1), link('a2', 'A', 3), link('a3', 'A', 2), link('b1', 'B', 4), link('h', 'H', 5)];
    expect(chooseEviction(links, 'N', at)).toBe('a2');
  });

  it('never evicts a link that carried something useful lately', () => {
    const links = [link('a1', 'A', 1, NOW - 10), link('a2', 'A', 3, NOW - 5), link('b1', 'B', 4)];
    expect(chooseEviction(links, 'N', { now: NOW, protectUsefulMs: 60_000, knocks: (s) => (s === 'N' ? 1 : 5) })).toBe(
      'b1',
    );
    expect(chooseEviction(links.slice(0, 2), 'N', { now: NOW, protectUsefulMs: 60_000 })).toBeUndefined();
    // ...but usefulness long past protects no more.
    expect(chooseEviction(links.slice(0, 2), 'N', { now: NOW + 60_000, protectUsefulMs: 60_000 })).toBe('a2');
  });

  it('refuses a newcomer whose subnet already holds as many links as the victim would come from', () => {
    const links = [link('a1', 'A', 1), link('a2', 'A', 2), link('b1', 'B', 3), link('b2', 'B', 4)];
    expect(chooseEviction(links, 'A', at)).toBeUndefined();
    expect(chooseEviction(links, 'B', at)).toBeUndefined();
    expect(chooseEviction(links, 'C', at)).toBe('b2');
    // One link each: only a subnet that knocked more often than the newcomer gives way.
    expect(
      chooseEviction([link('a1', 'A', 1), link('b1', 'B', 2)], 'C', { now: NOW, knocks: (s) => (s === 'C' ? 1 : 3) }),
    ).toBe('b1');
  });

  it('among subnets holding as many links, evicts from the one that knocked most, and lets a knocking one displace no quiet one', () => {
    const knocks = (s: string) => ({ A: 40, B: 35, N: 1 })[s] ?? 0;
    // The newcomer N is the youngest, yet the attacker's address, knocking again and again, goes first:
    // the attacker's second address only ever displaces its first.
    const links = [link('a1', 'A', 1), link('n1', 'N', 9)];
    expect(chooseEviction(links, 'B', { now: NOW, knocks })).toBe('a1');
    expect(chooseEviction([link('b1', 'B', 1), link('n1', 'N', 9)], 'C', { now: NOW, knocks })).toBe('b1');
    expect(chooseEviction([link('n1', 'N', 9)], 'B', { now: NOW, knocks })).toBeUndefined();
    expect(
      chooseEviction([link('a1', 'A', 1), link('a2', 'A', 2), link('n1', 'N', 9)], 'B', { now: NOW, knocks }),
    ).toBe('a2');
  });

  it('lets no honest peer displace another that knocked as often (no churn among one-link hosts)', () => {
    const knocks = (s: string) => ({ P: 1, Q: 1, N: 1 })[s] ?? 0;
    expect(chooseEviction([link('p1', 'P', 1), link('q1', 'Q', 2)], 'N', { now: NOW, knocks })).toBeUndefined();
  });

  it('evicts nothing when there is nothing inbound', () => {
    expect(chooseEviction([], 'N', at)).toBeUndefined();
  });
});
