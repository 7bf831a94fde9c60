import { describe, expect, it } from 'vitest';
import { PeershareError } from '../../shared/errors.ts';
import { AvailabilityMap } from './availability.ts';

const f = (n: number) => n.toString(16).padStart(64, '0');
const file = (n: number) => ({ id: f(n), name: `file-${n}.txt`, size: n * 10 });

describe('file availability map', () => {
  it('applies full lists and deltas per peer and keeps the cursor each peer gave', () => {
    const map = new AvailabilityMap({ maxFileEntries: 100, maxFilesPerPeer: 10 });
    map.apply('p1', { cursor: 'c1', reset: true, added: [file(1), file(2)], removed: [] });
    map.apply('p2', { cursor: 'x1', reset: true, added: [file(2)], removed: [] });
    expect(map.cursorOf('p1')).toBe('c1');
    expect(
      map
        .holders(f(2))
        .map((h) => h.peerId)
        .sort(),
    ).toEqual(['p1', 'p2']);
    map.apply('p1', { cursor: 'c2', reset: false, added: [file(3)], removed: [f(2)] });
    expect(map.cursorOf('p1')).toBe('c2');
    expect(map.holders(f(2)).map((h) => h.peerId)).toEqual(['p2']);
    expect(map.holders(f(3))).toEqual([{ peerId: 'p1', name: 'file-3.txt', size: 30 }]);
    expect(map.size).toBe(3);
    map.apply('p1', { cursor: 'c3', reset: true, added: [file(9)], removed: [] });
    expect(map.holders(f(1))).toEqual([]);
    expect(map.size).toBe(2);
  });

  it('forgets everything a removed peer held', () => {
    const map = new AvailabilityMap({ maxFileEntries: 100, maxFilesPerPeer: 10 });
    map.apply('p1', { cursor: 'c1', reset: true, added: [file(1)], removed: [] });
    map.removePeer('p1');
    expect(map.holders(f(1))).toEqual([]);
    expect(map.cursorOf('p1')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('refuses a delta that breaks the per-peer or the total cap, and changes nothing', () => {
    const map = new AvailabilityMap({ maxFileEntries: 5, maxFilesPerPeer: 3 });
    map.apply('p1', { cursor: 'c1', reset: true, added: [file(1), file(2)], removed: [] });
    const perPeer = () => map.apply('p1', { cursor: 'c2', reset: false, added: [file(3), file(4)], removed: [] });
    expect(perPeer).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }) as PeershareError);
    map.apply('p2', { cursor: 'x', reset: true, added: [file(5), file(6), file(7)], removed: [] });
    expect(() => map.apply('p3', { cursor: 'y', reset: true, added: [file(8)], removed: [] })).toThrow(PeershareError);
    expect(map.cursorOf('p1')).toBe('c1');
    expect(map.cursorOf('p3')).toBeUndefined();
    expect(map.size).toBe(5);
  });
});
