import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../ports.ts';
import { memorySigner } from '../../shared/keys.ts';
import { pickMostHeld, sourceOfHit } from './pick.ts';

const ids: Record<string, string> = { p1: memorySigner().peerId, p2: memorySigner().peerId, p3: memorySigner().peerId };
const host: Record<string, string> = { p1: '127.0.0.11', p2: '127.0.0.12', p3: '127.0.0.13' };
const hit = (fileId: string, holder: string, name = `${fileId}.txt`): SearchHit => ({
  fileId, name, size: 10, holderPeerId: ids[holder]!, filesAddress: `http://${host[holder]}:7871/`, hops: 1,
});

describe('pickMostHeld', () => {
  it('picks the file the most distinct peers hold, under its most common name', () => {
    const pick = pickMostHeld([hit('a', 'p1'), hit('b', 'p1', 'x.txt'), hit('b', 'p2', 'y.txt'), hit('b', 'p3', 'y.txt'), hit('a', 'p1')]);
    expect(pick).toMatchObject({ fileId: 'b', name: 'y.txt', holders: 3 });
    // Each holder's address pinned to its id, as a download dials it.
    expect(pick?.sources).toEqual([`${ids.p1}@127.0.0.11:7871`, `${ids.p2}@127.0.0.12:7871`, `${ids.p3}@127.0.0.13:7871`]);
  });

  it('keeps the first found on a tie and gives nothing for no hits', () => {
    expect(pickMostHeld([hit('a', 'p1'), hit('b', 'p2')])?.fileId).toBe('a');
    expect(pickMostHeld([])).toBeUndefined();
  });

  it('names a source by its holder id at the address of the hit, whether a base URL or host:port, and none for a malformed address', () => {
    const h = hit('a', 'p1');
    expect(sourceOfHit(h)).toBe(`${ids.p1}@127.0.0.11:7871`);
    expect(sourceOfHit({ ...h, filesAddress: '127.0.0.9:7000' })).toBe(`${ids.p1}@127.0.0.9:7000`);
    expect(sourceOfHit({ ...h, filesAddress: 'not an address' })).toBeUndefined();
  });
});
