import { describe, expect, it } from 'vitest';
import { answeredPeers, groupHits } from './search-results.ts';
import type { SearchHit } from './types.ts';

const hit = (fileId: string, holderPeerId: string, hops: number, name = `${fileId}.txt`): SearchHit => ({
  fileId,
  name,
  size: 10,
  holderPeerId,
  filesAddress: `${holderPeerId}:7871`,
  hops,
});

describe('search results', () => {
  it('list each file once, with every holder nearest first', () => {
    const rows = groupHits([hit('f1', 'c', 2), hit('f1', 'b', 1, 'copy.txt'), hit('f2', 'b', 1), hit('f1', 'c', 1)]);
    expect(rows.map((r) => r.fileId)).toEqual(['f1', 'f2']);
    expect(rows[0]).toMatchObject({
      name: 'f1.txt',
      otherNames: ['copy.txt'],
      holders: [
        { peerId: 'b', hops: 1 },
        { peerId: 'c', hops: 1 },
      ],
    });
  });

  it('put the files most peers hold first, then the nearest, then by name', () => {
    const rows = groupHits([
      hit('far', 'x', 3),
      hit('near', 'y', 1),
      hit('b-name', 'z', 1),
      hit('shared', 'x', 3),
      hit('shared', 'y', 3),
    ]);
    expect(rows.map((r) => r.fileId)).toEqual(['shared', 'b-name', 'near', 'far']);
  });

  it('tell which peers answered and how near each one is', () => {
    expect(answeredPeers([hit('f1', 'b', 2), hit('f2', 'b', 1), hit('f1', 'c', 3)])).toEqual(
      new Map([
        ['b', 1],
        ['c', 3],
      ]),
    );
  });
});
