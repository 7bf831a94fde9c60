import { describe, expect, it } from 'vitest';
import { chooseEviction, type InboundLinkFacts } from './eviction.ts';

const link = (id: string, subnet: string, since: number, usefulAt?: number): InboundLinkFacts => ({ id, subnet, since, usefulAt });
const NOW = 1_000_000;

describe('chooseEviction', () => {
  it('evicts the youngest idle link of the subnet holding the most inbound links, for a newcomer from elsewhere', () => {
    const links = [link('a1', 'A', 1), link('a2', 'A', 3), link('a3', 'A', 2), link('b1', 'B', 4), link('h', 'H', 5)];
    expect(chooseEviction(links, 'N', NOW)).toBe('a2');
  });

  it('never evicts a link that carried something useful lately', () => {
    const links = [link('a1', 'A', 1, NOW - 10), link('a2', 'A', 3, NOW - 5), link('b1', 'B', 4)];
    expect(chooseEviction(links, 'N', NOW, 60_000)).toBe('b1');
    expect(chooseEviction(links.slice(0, 2), 'N', NOW, 60_000)).toBeUndefined();
    // ...but usefulness long past protects no more.
    expect(chooseEviction(links.slice(0, 2), 'N', NOW + 60_000, 60_000)).toBe('a2');
  });

  it('refuses a newcomer whose subnet already holds as many links as the victim would come from', () => {
    const links = [link('a1', 'A', 1), link('a2', 'A', 2), link('b1', 'B', 3), link('b2', 'B', 4)];
    expect(chooseEviction(links, 'A', NOW)).toBeUndefined();
    expect(chooseEviction(links, 'B', NOW)).toBeUndefined();
    expect(chooseEviction(links, 'C', NOW)).toBe('b2');
    expect(chooseEviction([link('a1', 'A', 1), link('b1', 'B', 2)], 'C', NOW)).toBe('b1');
  });

  it('evicts nothing when there is nothing inbound', () => {
    expect(chooseEviction([], 'N', NOW)).toBeUndefined();
  });
});
