import { describe, expect, it } from 'vitest';
import type { FileSource, PeerInfo, SearchHit } from '../ports.ts';
import { memorySigner } from '../../shared/keys.ts';
import { isSafeFileName } from '../../shared/names.ts';
import {
  bestSources,
  candidateFileIds,
  FIREWALLED,
  isCloseVote,
  MAX_DOWNLOAD_SOURCES,
  needsWiderSearch,
  otherPeersAnswered,
  pickMostHeld,
  sourceAt,
  verifiedMembers,
} from './pick.ts';

const SELF = memorySigner().peerId;
const ids: Record<string, string> = { p1: memorySigner().peerId, p2: memorySigner().peerId, p3: memorySigner().peerId };
const host: Record<string, string> = { p1: '127.0.0.11', p2: '127.0.0.12', p3: '127.0.0.13' };

const member = (peerId: string, n: number, state = 'alive', lastSeen = 1_000): PeerInfo => ({
  peerId,
  state,
  lastSeen,
  addresses: { files: `127.0.1.${n}:7871`, search: `127.0.1.${n}:7872`, fetch: `127.0.1.${n}:7874` },
  files: 1,
});
/** p1-p3 verified, each at its record address 127.0.1.N, not the address its hits carry. */
const members = verifiedMembers([member(ids.p1!, 1), member(ids.p2!, 2), member(ids.p3!, 3)], SELF);

const hit = (fileId: string, holder: string, name = `${fileId}.txt`): SearchHit => ({
  fileId,
  name,
  size: 10,
  holderPeerId: ids[holder] ?? holder,
  filesAddress: `http://${host[holder] ?? '127.0.0.99'}:7871/`,
  hops: 1,
});

describe('pickMostHeld', () => {
  it('picks the file the most distinct verified peers hold, under its most common name, each dialled at its record address', () => {
    const pick = pickMostHeld(
      [hit('a', 'p1'), hit('b', 'p1', 'x.txt'), hit('b', 'p2', 'y.txt'), hit('b', 'p3', 'y.txt'), hit('a', 'p1')],
      members,
      isSafeFileName,
    );
    expect(pick).toMatchObject({ fileId: 'b', name: 'y.txt', holders: 3 });
    // Each holder's record address pinned to its id, as a download dials it; never the hit's address.
    expect(pick?.sources.sort()).toEqual(
      [`${ids.p1}@127.0.1.1:7871`, `${ids.p2}@127.0.1.2:7871`, `${ids.p3}@127.0.1.3:7871`].sort(),
    );
  });

  it('keeps the first found on a tie and gives nothing for no hits', () => {
    expect(pickMostHeld([hit('a', 'p1'), hit('b', 'p2')], members, isSafeFileName)?.fileId).toBe('a');
    expect(pickMostHeld([], members, isSafeFileName)).toBeUndefined();
  });

  it('does not count holders outside verified membership: five forged holders lose to two verified ones', () => {
    const forged = Array.from({ length: 5 }, () => hit('evil', memorySigner().peerId, 'song.ogg'));
    const pick = pickMostHeld(
      [...forged, hit('honest', 'p1', 'song.ogg'), hit('honest', 'p2', 'song.ogg')],
      members,
      isSafeFileName,
    );
    expect(pick).toMatchObject({ fileId: 'honest', holders: 2 });
    // Only forged holders: nothing to download.
    expect(pickMostHeld(forged, members, isSafeFileName)).toBeUndefined();
  });

  it('never takes this peer itself, or a down peer, as a holder', () => {
    const withSelf = verifiedMembers(
      [member(SELF, 9), member(ids.p1!, 1, 'down'), member(ids.p2!, 2, 'suspected')],
      SELF,
    );
    expect([...withSelf.keys()]).toEqual([ids.p2]);
    expect(pickMostHeld([hit('a', SELF), hit('a', 'p1')], withSelf, isSafeFileName)).toBeUndefined();
  });

  it('gives a verified holder one vote, however many hits name it, for the file and for its name', () => {
    const repeated = Array.from({ length: 10 }, () => hit('evil', 'p1', 'evil.exe'));
    const pick = pickMostHeld(
      [...repeated, hit('honest', 'p2', 'song.ogg'), hit('honest', 'p3', 'song.ogg')],
      members,
      isSafeFileName,
    );
    expect(pick).toMatchObject({ fileId: 'honest', holders: 2 });
    expect(
      pickMostHeld(
        [
          hit('b', 'p1', 'good.txt'),
          ...Array.from({ length: 5 }, () => hit('b', 'p2', 'odd.txt')),
          hit('b', 'p3', 'good.txt'),
        ],
        members,
        isSafeFileName,
      )?.name,
    ).toBe('good.txt');
  });

  it.each([
    ['a traversal name', '../../.bashrc'],
    ['a right-to-left override', 'song\u202Egg.exe'],
    ['a zero-width space', 'song\u200B.ogg'],
    ['a control character', 'song\u0007.ogg'],
  ])('ignores hits named with %s, however many verified holders they claim', (_label, name) => {
    const pick = pickMostHeld(
      [hit('evil', 'p1', name), hit('evil', 'p2', name), hit('evil', 'p3', name), hit('honest', 'p1', 'song.ogg')],
      members,
      isSafeFileName,
    );
    expect(pick).toMatchObject({ fileId: 'honest', name: 'song.ogg', holders: 1 });
  });
});

/** Fetch's availability: each file id with the peers (p1-p3 or an id) Fetch lists as holding it, at their record addresses. */
const listed = (byFile: Record<string, string[]>) =>
  new Map(
    Object.entries(byFile).map(([fileId, holders]): [string, FileSource[]] => [
      fileId,
      holders.map((h) => ({
        peerId: ids[h] ?? h,
        filesAddress: `127.0.1.${h.slice(1)}:7871`,
        name: `${fileId}.txt`,
        size: 10,
        state: 'alive',
      })),
    ]),
  );

describe("pickMostHeld weighed by Fetch's availability", () => {
  it("counts a hit's holder only where Fetch lists it for that file: a verified peer naming two other verified peers as holders of its file loses to a file with fewer real holders", () => {
    // p1 (verified, hostile) really shares 'evil' and claims p2 and p3 hold it too: 3 claimed holders.
    const forged = [hit('evil', 'p1', 'song.ogg'), hit('evil', 'p2', 'song.ogg'), hit('evil', 'p3', 'song.ogg')];
    const hits = [...forged, hit('honest', 'p2', 'song.ogg'), hit('honest', 'p3', 'song.ogg')];
    const pick = pickMostHeld(hits, members, isSafeFileName, listed({ evil: ['p1'], honest: ['p2', 'p3'] }));
    expect(pick).toMatchObject({ fileId: 'honest', holders: 2, basis: 'availability' });
    expect(pick?.sources.sort()).toEqual([`${ids.p2}@127.0.1.2:7871`, `${ids.p3}@127.0.1.3:7871`].sort());
    // Claims naming only honest peers, of a file Fetch lists nobody for, lose to one real holder.
    const claimedOnly = pickMostHeld(
      [hit('evil', 'p2'), hit('evil', 'p3'), hit('honest', 'p1')],
      members,
      isSafeFileName,
      listed({ honest: ['p1'] }),
    );
    expect(claimedOnly).toMatchObject({ fileId: 'honest', holders: 1, basis: 'availability' });
  });

  it('asks the download of the verified holders Fetch lists for the chosen file, never of holders only claimed by hits', () => {
    const outsider = memorySigner().peerId; // listed by Fetch but not a verified member here
    const hits = [hit('a', 'p1'), hit('a', 'p2')];
    // Fetch lists p1 and p3 (p3 sent no hit), p2 is only claimed.
    const pick = pickMostHeld(hits, members, isSafeFileName, listed({ a: ['p1', 'p3', outsider, SELF] }));
    expect(pick).toMatchObject({ fileId: 'a', holders: 1, basis: 'availability' });
    expect(pick?.sources.sort()).toEqual([`${ids.p1}@127.0.1.1:7871`, `${ids.p3}@127.0.1.3:7871`].sort());
  });

  it('takes the name from confirmed holders only', () => {
    const hits = [hit('a', 'p1', 'real.txt'), hit('a', 'p2', 'lure.txt'), hit('a', 'p3', 'lure.txt')];
    expect(pickMostHeld(hits, members, isSafeFileName, listed({ a: ['p1'] }))?.name).toBe('real.txt');
  });

  it('falls back to the verified hit holders, saying so, when Fetch lists no holder of any candidate yet (a share not synced)', () => {
    const hits = [hit('a', 'p1'), hit('b', 'p2'), hit('b', 'p3')];
    expect(pickMostHeld(hits, members, isSafeFileName, listed({ a: [], c: ['p1'] }))).toMatchObject({
      fileId: 'b',
      holders: 2,
      basis: 'hits',
    });
    // One confirmed holder anywhere ends the fallback: claims alone count for nothing.
    expect(pickMostHeld(hits, members, isSafeFileName, listed({ a: ['p1'] }))).toMatchObject({
      fileId: 'a',
      holders: 1,
      basis: 'availability',
    });
  });

  it('counts a firewalled member only where Fetch lists it as a holder (where this peer can ask it to connect back), after the dialable holders', () => {
    const hidden = memorySigner().peerId;
    const withHidden = verifiedMembers([member(ids.p1!, 1), member(hidden, 9, FIREWALLED, 5_000)], SELF);
    const hits = [hit('a', hidden), hit('b', hidden), hit('b', 'p1')];
    // Listed: it counts, and is asked after p1 although heard more recently.
    const pick = pickMostHeld(hits, withHidden, isSafeFileName, listed({ b: ['p1', hidden] }));
    expect(pick).toMatchObject({ fileId: 'b', holders: 2, basis: 'availability' });
    expect(pick?.sources).toEqual([`${ids.p1}@127.0.1.1:7871`, `${hidden}@127.0.1.9:7871`]);
    expect(pickMostHeld([hit('a', hidden)], withHidden, isSafeFileName, listed({ a: [hidden] }))?.sources).toEqual([
      `${hidden}@127.0.1.9:7871`,
    ]);
    // Not listed (a peer that cannot push: Fetch does not offer it): a hit alone never makes it a source.
    expect(pickMostHeld([hit('a', hidden)], withHidden, isSafeFileName, listed({}))).toBeUndefined();
    expect(pickMostHeld(hits, withHidden, isSafeFileName, listed({}))).toMatchObject({
      fileId: 'b',
      holders: 1,
      sources: [`${ids.p1}@127.0.1.1:7871`],
      basis: 'hits',
    });
  });

  it('asks Fetch only about files verified members answered with under safe names', () => {
    const hits = [
      hit('a', 'p1'),
      hit('b', memorySigner().peerId),
      hit('c', 'p2', '../c.txt'),
      hit('d', 'p3'),
      hit('a', 'p2'),
    ];
    expect(candidateFileIds(hits, members, isSafeFileName)).toEqual(['a', 'd']);
  });
});

describe('the vote get --name takes, and when it asks for the wider search', () => {
  /** A pick of `holders` against a runner-up of `runnerUp` (what isCloseVote reads of it). */
  const vote = (holders: number, runnerUp: number) => ({
    fileId: 'a',
    name: 'a.txt',
    size: 10,
    sources: [],
    holders,
    runnerUp,
    basis: 'availability' as const,
  });

  it('is close when the leader exceeds the runner-up by less than the margin, a file alone counting against 0', () => {
    expect(isCloseVote(vote(2, 1), 2)).toBe(true);
    expect(isCloseVote(vote(3, 3), 2)).toBe(true);
    expect(isCloseVote(vote(1, 0), 2)).toBe(true);
    expect(isCloseVote(vote(2, 0), 2)).toBe(false);
    expect(isCloseVote(vote(4, 2), 2)).toBe(false);
    // A margin of 1: only a tie is close.
    expect(isCloseVote(vote(2, 2), 1)).toBe(true);
    expect(isCloseVote(vote(1, 0), 1)).toBe(false);
    // Nothing to pick is the closest vote there is.
    expect(isCloseVote(undefined, 1)).toBe(true);
  });

  it("gives the runner-up's holders on the pick's own basis: a holder only claimed by hits counts for nothing once one is confirmed", () => {
    const hits = [hit('a', 'p1'), hit('a', 'p2'), hit('b', 'p3'), hit('c', 'p2'), hit('c', 'p3')];
    expect(pickMostHeld(hits, members, isSafeFileName)).toMatchObject({ fileId: 'a', holders: 2, runnerUp: 2 });
    // Fetch lists p1 and p2 for a, p3 for b; c's holders are claims only.
    expect(pickMostHeld(hits, members, isSafeFileName, listed({ a: ['p1', 'p2'], b: ['p3'], c: [] }))).toMatchObject({
      fileId: 'a',
      holders: 2,
      runnerUp: 1,
      basis: 'availability',
    });
    // A later candidate with more votes makes the earlier leader the runner-up.
    expect(pickMostHeld([hit('b', 'p3'), ...hits.slice(0, 2)], members, isSafeFileName)).toMatchObject({
      fileId: 'a',
      holders: 2,
      runnerUp: 1,
    });
    expect(pickMostHeld([hit('a', 'p1')], members, isSafeFileName)).toMatchObject({ holders: 1, runnerUp: 0 });
  });

  it('counts as answered the distinct other peers whose hits crossed a link, verified or not, as Search counts them against want', () => {
    const own = { ...hit('a', SELF), hops: 0 };
    const forged = hit('a', memorySigner().peerId);
    expect(otherPeersAnswered([own, hit('a', 'p1'), hit('b', 'p1'), hit('a', 'p2'), forged])).toBe(3);
    expect(otherPeersAnswered([own])).toBe(0);
  });

  it('asks for the wider search when the search stopped widening at its want and the vote over what arrived is close', () => {
    const settings = { want: 2, margin: 2 };
    // p1 and p2 answered (the want), one file each: 1 against 1.
    const tie = [hit('a', 'p1'), hit('b', 'p2')];
    expect(needsWiderSearch(tie, pickMostHeld(tie, members, isSafeFileName), settings)).toBe(true);
    // Both hold a: 2 against 0, clear.
    const clear = [hit('a', 'p1'), hit('a', 'p2')];
    expect(needsWiderSearch(clear, pickMostHeld(clear, members, isSafeFileName), settings)).toBe(false);
    // Fewer answered than wanted: the search widened to its full TTL already, so a wider one would repeat it.
    const few = [hit('a', 'p1')];
    expect(needsWiderSearch(few, pickMostHeld(few, members, isSafeFileName), settings)).toBe(false);
    // No want: the search was one flood at the full TTL.
    expect(needsWiderSearch(tie, pickMostHeld(tie, members, isSafeFileName), { want: 0, margin: 2 })).toBe(false);
  });

  it('asks for the wider search when forged holders made the search stop widening early: they answered, but count for nothing in the vote', () => {
    const forged = Array.from({ length: 4 }, () => hit('evil', memorySigner().peerId, 'song.ogg'));
    const hits = [...forged, hit('honest', 'p1', 'song.ogg')];
    const pick = pickMostHeld(hits, members, isSafeFileName);
    expect(pick).toMatchObject({ fileId: 'honest', holders: 1, runnerUp: 0 });
    expect(needsWiderSearch(hits, pick, { want: 5, margin: 2 })).toBe(true);
    // Forged alone: nothing to pick, and the wider search is asked.
    expect(needsWiderSearch(forged, pickMostHeld(forged, members, isSafeFileName), { want: 4, margin: 2 })).toBe(true);
  });
});

describe('bestSources', () => {
  it(`keeps the best ${MAX_DOWNLOAD_SOURCES} of more holders: alive first, then the most recently heard`, () => {
    const many = Array.from({ length: 70 }, (_, i) =>
      member(memorySigner().peerId, i + 1, i < 10 ? 'suspected' : 'alive', 1_000 + i),
    );
    const sources = bestSources(many);
    expect(sources).toHaveLength(MAX_DOWNLOAD_SOURCES);
    const alive = many.filter((m) => m.state === 'alive').sort((a, b) => b.lastSeen - a.lastSeen);
    const suspected = many.filter((m) => m.state === 'suspected').sort((a, b) => b.lastSeen - a.lastSeen);
    expect(sources).toEqual(
      [...alive, ...suspected].slice(0, MAX_DOWNLOAD_SOURCES).map((m) => `${m.peerId}@${m.addresses.files}`),
    );
  });

  it('names a source by its id at a files address given as a base URL or host:port, and none for a malformed address', () => {
    expect(sourceAt(ids.p1!, 'http://127.0.0.11:7871/')).toBe(`${ids.p1}@127.0.0.11:7871`);
    expect(sourceAt(ids.p1!, '127.0.0.9:7000')).toBe(`${ids.p1}@127.0.0.9:7000`);
    expect(sourceAt(ids.p1!, 'not an address')).toBeUndefined();
    expect(bestSources([{ ...member(ids.p1!, 1), addresses: { files: 'nope', search: '', fetch: '' } }])).toEqual([]);
  });
});
