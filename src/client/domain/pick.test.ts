import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../ports.ts';
import { pickMostHeld } from './pick.ts';

const hit = (fileId: string, holder: string, name = `${fileId}.txt`): SearchHit => ({
  fileId, name, size: 10, holderPeerId: holder, filesAddress: `http://${holder}:7871/`, hops: 1,
});

describe('pickMostHeld', () => {
  it('picks the file the most distinct peers hold, under its most common name', () => {
    const pick = pickMostHeld([hit('a', 'p1'), hit('b', 'p1', 'x.txt'), hit('b', 'p2', 'y.txt'), hit('b', 'p3', 'y.txt'), hit('a', 'p1')]);
    expect(pick).toMatchObject({ fileId: 'b', name: 'y.txt', holders: 3 });
    expect(pick?.sources).toEqual(['http://p1:7871', 'http://p2:7871', 'http://p3:7871']);
  });

  it('keeps the first found on a tie and gives nothing for no hits', () => {
    expect(pickMostHeld([hit('a', 'p1'), hit('b', 'p2')])?.fileId).toBe('a');
    expect(pickMostHeld([])).toBeUndefined();
  });
});
