import { describe, expect, it } from 'vitest';
import type { OverlayLink, PeerInfo } from '../ports.ts';
import { networkView, peersToMap } from './network.ts';

const peer = (peerId: string, state = 'alive', lastSeen = 0): PeerInfo => ({
  peerId,
  state,
  lastSeen,
  addresses: { files: `${peerId}:7871`, search: `${peerId}:7872`, fetch: `${peerId}:7874` },
  files: 0,
});
const link = (peerId: string): OverlayLink => ({ peerId, searchAddress: `${peerId}:7872`, direction: 'out', since: 0 });

describe('the network picture', () => {
  it('keeps one undirected edge per pair, whichever end reported it', () => {
    const view = networkView(
      'a',
      [peer('b'), peer('c')],
      new Map([
        ['a', [link('b')]],
        ['b', [link('a'), link('c')]],
        ['c', [link('b')]],
      ]),
    );
    expect(view.links).toEqual([
      { a: 'a', b: 'b' },
      { a: 'b', b: 'c' },
    ]);
    expect(view.mapped).toEqual(['a', 'b', 'c']);
  });

  it('leaves out links to peers nobody here knows, and links to oneself', () => {
    const view = networkView(
      'a',
      [peer('b')],
      new Map([
        ['a', [link('stranger'), link('a')]],
        ['b', [link('b')]],
      ]),
    );
    expect(view.links).toEqual([]);
  });

  it('asks the alive peers heard from most recently, at most the cap', () => {
    const peers = [peer('old', 'alive', 1), peer('down', 'down', 9), peer('new', 'alive', 5), peer('mid', 'alive', 3)];
    expect(peersToMap(peers, 2).map((p) => p.peerId)).toEqual(['new', 'mid']);
  });
});
