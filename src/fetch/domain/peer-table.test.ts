import { describe, expect, it } from 'vitest';
import { fetchConfig } from './config.ts';
import { MembershipLog } from './membership-log.ts';
import { signLeave } from './peer-record.ts';
import { PeerTable } from './peer-table.ts';
import { seededRandom } from './random.ts';
import { keyedRank, seededSecret, type Rank } from './sample-rank.ts';
import { NOW, testPeer } from '../../../test/support/fetch-records.ts';

const ROUND = 1_000;
const config = fetchConfig({
  suspectAfterRounds: 3,
  downAfterRounds: 6,
  evictAfterMs: 10 * ROUND,
  maxPeers: 5,
  maxTombstones: 2,
  tombstoneTtlMs: 60 * ROUND,
  forgetTtlMs: 60 * ROUND,
});
const me = testPeer(1);
const a = testPeer(2);
const b = testPeer(3);

/** Ranks in the order ids are first ranked: a newcomer never ranks below what a full table holds. */
function firstRankedFirst(): Rank {
  const order = new Map<string, number>();
  return (id) => order.get(id) ?? order.set(id, order.size + 1).size;
}

function setup(overrides: Partial<typeof config> = {}, rank: Rank = firstRankedFirst()) {
  const log = new MembershipLog(100);
  const removed: string[] = [];
  const table = new PeerTable(me.record(), { ...config, ...overrides }, log, 'e1', (id) => removed.push(id), rank);
  let now = NOW;
  const tick = (rounds = 1) => {
    for (let i = 0; i < rounds; i++) table.tick((now += ROUND));
  };
  const kinds = () => log.since().map((e) => e.kind);
  return { table, log, removed, tick, kinds, now: () => now };
}

describe('peer table: merging records', () => {
  it('is not brought back from down by a newer record signed before it failed (a kept record replayed), only by one signed after', () => {
    const { table, tick, kinds, now } = setup({ intervalMs: ROUND });
    table.merge([a.record({ seq: NOW + 1, issuedAt: NOW })], NOW);
    const signedEarlier = a.record({ seq: NOW + 2, issuedAt: NOW + ROUND }); // kept by someone, never seen here
    tick(10);
    table.contactFailed(a.signer.peerId, now());
    tick(config.downAfterRounds);
    expect(table.get(a.signer.peerId)?.state).toBe('down');
    expect(table.merge([signedEarlier], now()).updated).toBe(1); // the newer record is kept...
    expect(table.get(a.signer.peerId)?.state).toBe('down'); // ...but proves no life after the failure
    expect(kinds().filter((k) => k === 'back')).toHaveLength(0);
    table.merge([a.record({ seq: NOW + 3, issuedAt: now() })], now());
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    expect(kinds().at(-1)).toBe('back');
  });

  it('keeps the newest seq and counts an older one as a replay', () => {
    const { table } = setup();
    expect(table.merge([a.record({ seq: NOW + 5 })], NOW).added).toBe(1);
    expect(
      table.merge(
        [a.record({ seq: NOW + 9, addresses: { files: '10.0.0.1:1', search: '10.0.0.1:2', fetch: '10.0.0.1:3' } })],
        NOW,
      ).updated,
    ).toBe(1);
    const replay = table.merge([a.record({ seq: NOW + 5 })], NOW);
    expect(replay.stale).toBe(1);
    expect(table.counters.stale).toBe(1);
    expect(table.get(a.signer.peerId)?.record.addresses.files).toBe('10.0.0.1:1');
    expect(
      table.merge(
        [a.record({ seq: NOW + 9, addresses: { files: '10.0.0.1:1', search: '10.0.0.1:2', fetch: '10.0.0.1:3' } })],
        NOW,
      ).unchanged,
    ).toBe(1);
  });

  it('never takes a record about itself from others, but remembers a higher seq of its own', () => {
    const { table } = setup();
    const report = table.merge([me.record({ seq: NOW + 100 })], NOW);
    expect(report.self).toBe(1);
    expect(table.selfRecord.seq).toBe(NOW);
    expect(table.highestSelfSeqSeen).toBe(NOW + 100);
    expect(table.has(me.signer.peerId)).toBe(false);
  });

  it('removes a peer that left at once, and an older record does not resurrect it', () => {
    const { table, kinds, removed } = setup();
    const record = a.record();
    table.merge([record], NOW);
    table.merge([signLeave(a.signer, record, NOW + 1)], NOW);
    expect(table.has(a.signer.peerId)).toBe(false);
    expect(removed).toEqual([a.signer.peerId]);
    expect(kinds()).toEqual(['joined', 'left']);
    expect(table.merge([record], NOW).stale).toBe(1);
    expect(table.has(a.signer.peerId)).toBe(false);
    // A newer record (the peer restarted) is a rejoin.
    expect(table.merge([a.record({ seq: NOW + 10 })], NOW).added).toBe(1);
  });

  it('bounds tombstones in number and in time', () => {
    const { table, tick } = setup();
    const peers = [a, b, testPeer(4)];
    for (const p of peers) table.merge([signLeave(p.signer, p.record(), NOW)], NOW);
    expect(table.tombstoneOf(a.signer.peerId)).toBeUndefined(); // the oldest made room
    expect(table.tombstoneOf(b.signer.peerId)).toBeDefined();
    tick(61);
    expect(table.tombstoneOf(b.signer.peerId)).toBeUndefined();
  });

  it('above maxPeers of live peers keeps the lowest ranks under its secret, whatever the order or number of offers, and a displaced peer stays out re-signed', () => {
    const cap = 20;
    const offered = 400;
    const rank = keyedRank(seededSecret(seededRandom(7)));
    const peers = Array.from({ length: offered }, (_, i) => testPeer(100 + i));
    const lowest = new Set(
      peers
        .map((p) => p.signer.peerId)
        .sort((x, y) => rank(x) - rank(y))
        .slice(0, cap),
    );
    const { table, removed } = setup({ maxPeers: cap, maxForgotten: 1_000 }, rank);
    for (const p of peers) table.merge([p.record()], NOW);
    expect(table.size).toBe(cap);
    expect(new Set(table.list().map((v) => v.peerId))).toEqual(lowest);
    expect(table.counters.sampledOut).toBe(removed.length);
    // The same secret, offers in the reverse order and each offered three times: the same sample.
    const again = setup({ maxPeers: cap }, rank).table;
    for (let k = 0; k < 3; k++) for (const p of [...peers].reverse()) again.merge([p.record({ seq: NOW + k })], NOW);
    expect(new Set(again.list().map((v) => v.peerId))).toEqual(lowest);
    // A displaced peer gets no second draw by re-signing: nothing is worth a probe, nothing enters.
    const gone = peers.find((p) => !table.has(p.signer.peerId))!;
    const resigned = gone.record({ seq: NOW + 50 });
    expect(table.wouldTake(resigned)).toBe(false);
    expect(table.merge([resigned], NOW).full).toBe(1);
    // Another secret draws another sample (each peer's table is its own draw).
    const other = setup({ maxPeers: cap }, keyedRank(seededSecret(seededRandom(8)))).table;
    for (const p of peers) other.merge([p.record()], NOW);
    expect(other.list().filter((v) => lowest.has(v.peerId)).length).toBeLessThan(cap / 2);
  });

  it('refuses a peer ranked above a full table before any probe (wouldTake), and remembers nothing of it', () => {
    const { table, log } = setup({ maxPeers: 2 });
    const late = testPeer(4);
    table.merge([a.record(), b.record()], NOW);
    expect(table.wouldTake(late.record())).toBe(false); // Admission is never offered it: no probe
    expect(table.merge([late.record()], NOW).full).toBe(1);
    expect(table.isOutdated(late.record())).toBe(false); // not remembered as stale: its rank keeps it out
    expect(table.wouldTake(late.record({ seq: NOW + 10 }))).toBe(false); // re-signed: the same rank
    expect(log.since().filter((e) => e.peerId === late.signer.peerId)).toEqual([]);
    // A peer ranked below the table's highest displaces that one.
    const ranks = new Map([
      [a.signer.peerId, 2],
      [b.signer.peerId, 3],
      [late.signer.peerId, 1],
    ]);
    const ranked = setup({ maxPeers: 2 }, (id) => ranks.get(id) ?? 9);
    ranked.table.merge([a.record(), b.record()], NOW);
    expect(ranked.table.wouldTake(late.record())).toBe(true);
    expect(ranked.table.merge([late.record()], NOW).added).toBe(1);
    expect(ranked.removed).toEqual([b.signer.peerId]);
    expect(ranked.table.counters.sampledOut).toBe(1);
    expect(ranked.table.merge([b.record()], NOW).full).toBe(1); // out by its rank, not by a memory
  });

  it('lets a refused peer in once room appears, not while a peer is only down, and keeps a record evicted for being down out even with room', () => {
    const { table, tick, now } = setup({ maxPeers: 2 });
    const c = testPeer(4);
    const old = a.record({ seq: NOW });
    table.merge([old, b.record()], NOW);
    table.contactFailed(a.signer.peerId, NOW);
    tick(16);
    expect(table.has(a.signer.peerId)).toBe(false);
    expect(table.size).toBe(1); // room...
    expect(table.wouldTake(old)).toBe(false);
    expect(table.merge([old], now()).stale).toBe(1); // ...but a down peer's record stays out
    table.merge([c.record()], now());
    const resigned = a.record({ seq: NOW + 1 });
    expect(table.wouldTake(resigned)).toBe(false); // newer, but ranked above a full table
    expect(table.merge([resigned], now()).full).toBe(1);
    table.contactFailed(c.signer.peerId, now());
    tick(6);
    expect(table.get(c.signer.peerId)?.state).toBe('down');
    // A down entry is no room for a probe: only a better rank is (or the entry's eviction)...
    expect(table.wouldTake(resigned)).toBe(false);
    // ...though a record verified anyway (a direct contact) takes the down one's place.
    expect(table.merge([resigned], now()).added).toBe(1);
    expect(table.has(c.signer.peerId)).toBe(false);
    expect(table.isOutdated(old)).toBe(true); // the record it was evicted with: still out
    table.contactFailed(b.signer.peerId, now());
    tick(16); // b down, then evicted: room
    expect(table.size).toBe(1);
    expect(table.wouldTake(c.record({ seq: NOW + 2 }))).toBe(true);
  });

  it('holds at most maxPeers, making room by evicting the longest-down peer, else refusing', () => {
    const { table, tick } = setup({ maxPeers: 3 });
    const peers = [a, b, testPeer(4), testPeer(5)];
    table.merge(
      peers.slice(0, 3).map((p) => p.record()),
      NOW,
    );
    expect(table.merge([peers[3]!.record()], NOW).full).toBe(1);
    expect(table.size).toBe(3);
    table.contactFailed(a.signer.peerId, NOW);
    // Others keep being heard from; a stays silent until it is down.
    for (let i = 0; i < 6; i++) {
      table.heard(b.signer.peerId, NOW + i * ROUND + 500, NOW + i * ROUND + 500);
      table.heard(peers[2]!.signer.peerId, NOW + i * ROUND + 500, NOW + i * ROUND + 500);
      tick();
    }
    expect(table.get(a.signer.peerId)?.state).toBe('down');
    expect(table.isOutdated(peers[3]!.record())).toBe(false); // refused while full; now there is room
    expect(table.merge([peers[3]!.record()], NOW + 7 * ROUND).added).toBe(1);
    expect(table.size).toBe(3);
    expect(table.has(a.signer.peerId)).toBe(false);
  });
});

describe('peer table: liveness', () => {
  it('suspects only after a failed contact (silence alone is no sign), marks down, evicts after the configured time', () => {
    const { table, tick, kinds, now } = setup();
    table.merge([a.record()], NOW);
    tick(20);
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    table.contactFailed(a.signer.peerId, now());
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    tick(5);
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    tick(1);
    expect(table.get(a.signer.peerId)?.state).toBe('down');
    tick(9);
    expect(table.has(a.signer.peerId)).toBe(true);
    tick(1);
    expect(table.has(a.signer.peerId)).toBe(false);
    expect(kinds()).toEqual(['joined', 'suspected', 'down', 'evicted']);
  });

  it('suspects after one failed contact, and clears it on evidence newer than the failure only', () => {
    const { table, kinds } = setup();
    table.merge([a.record()], NOW);
    table.contactFailed(a.signer.peerId, NOW + 100);
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    table.heard(a.signer.peerId, NOW + 50, NOW + 200); // older news from a third peer
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    table.heard(a.signer.peerId, NOW + 300, NOW + 300);
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    expect(kinds()).toEqual(['joined', 'suspected', 'back']);
  });

  it('re-admits a down peer on a fresher record or on contact, and leaves it out of views while down', () => {
    const { table, tick, now } = setup();
    table.merge([a.record(), b.record()], NOW);
    table.contactFailed(a.signer.peerId, NOW);
    table.contactFailed(b.signer.peerId, NOW);
    tick(6);
    expect(table.get(a.signer.peerId)?.state).toBe('down');
    expect(table.viewSince(undefined).records.map((r) => r.peerId)).toEqual([me.signer.peerId]);
    table.merge([a.record({ seq: NOW + 1 })], now());
    table.heard(b.signer.peerId, now(), now());
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    expect(table.get(b.signer.peerId)?.state).toBe('alive');
    expect(table.viewSince(undefined).records).toHaveLength(3);
  });

  it('does not re-add an evicted peer from a stale copy of its record, only from a newer one', () => {
    const { table, tick, kinds, now } = setup();
    const record = a.record();
    table.merge([record], NOW);
    table.contactFailed(a.signer.peerId, NOW);
    tick(16);
    expect(table.has(a.signer.peerId)).toBe(false);
    expect(table.merge([record], now()).stale).toBe(1);
    expect(table.merge([a.record({ seq: NOW + 1 })], now()).added).toBe(1);
    expect(kinds().at(-1)).toBe('back');
  });
});

describe('peer table: views', () => {
  it('sends only what changed since the cursor, everything for a cursor of another epoch', () => {
    const { table } = setup();
    table.merge([a.record()], NOW);
    const first = table.viewSince(undefined);
    expect(first.records).toHaveLength(2);
    expect(first.suspects).toEqual([]); // nothing about peers that did not change: flat in N
    table.merge([b.record()], NOW);
    expect(table.viewSince(first.cursor).records.map((r) => r.peerId)).toEqual([b.signer.peerId]);
    expect(table.viewSince('other:1').records).toHaveLength(3);
    expect(table.viewSince('e1:99999').records).toHaveLength(3);
  });

  it('sends at most `limit` records, oldest changes first, and continues from the cursor it returned', () => {
    const { table } = setup();
    const c = testPeer(4);
    const d = testPeer(5);
    table.merge([a.record()], NOW);
    table.merge([b.record()], NOW);
    table.merge([c.record(), d.record()], NOW);
    const ids = (records: { peerId: string }[]) => records.map((r) => r.peerId);
    const first = table.viewSince(undefined, () => false, 2);
    expect(ids(first.records)).toEqual([me.signer.peerId, a.signer.peerId]);
    const second = table.viewSince(first.cursor, () => false, 2);
    expect(ids(second.records)).toEqual([b.signer.peerId, c.signer.peerId]);
    const third = table.viewSince(second.cursor, () => false, 2);
    expect(ids(third.records)).toEqual([d.signer.peerId]);
    expect(table.viewSince(third.cursor, () => false, 2).records).toEqual([]);
    // Records the asker holds do not count against the limit.
    expect(ids(table.viewSince(undefined, (r) => r.peerId !== d.signer.peerId, 1).records)).toEqual([d.signer.peerId]);
  });

  it('gives a quarter of a bounded view to the newest changes, so that an asker without a cursor hears news', () => {
    const { table } = setup();
    const [c, d, e] = [testPeer(4), testPeer(5), testPeer(6)];
    for (const p of [a, b, c, d]) table.merge([p.record()], NOW);
    const ids = (records: { peerId: string }[]) => records.map((r) => r.peerId);
    const before = table.viewSince(undefined, () => false, 4);
    expect(ids(before.records)).toEqual([me, a, b, d].map((p) => p.signer.peerId)); // 3 oldest, 1 newest
    table.merge([e.record({ seq: NOW + 5 })], NOW); // the news
    table.contactFailed(a.signer.peerId, NOW + 1); // newer still: a suspicion, sent with the newest
    const cold = table.viewSince(undefined, () => false, 4);
    expect(ids(cold.records)).toEqual([me, a, b, e].map((p) => p.signer.peerId));
    expect(cold.suspects).toEqual([[a.signer.peerId, NOW, 0]]);
    // The cursor stops after the oldest part: the next answer continues there (the newest again).
    expect(ids(table.viewSince(cold.cursor, () => false, 4).records)).toEqual([c, d, e].map((p) => p.signer.peerId));
  });

  it('sends with a bounded view only the suspicions up to the cursor it returns', () => {
    const { table } = setup();
    table.merge([a.record(), b.record()], NOW);
    table.contactFailed(a.signer.peerId, NOW + 1); // a's suspicion is newer than every record
    const cut = table.viewSince(undefined, () => false, 2);
    expect(cut.records).toHaveLength(2);
    expect(cut.suspects).toEqual([]);
    const rest = table.viewSince(cut.cursor, () => false, 2);
    expect(rest.records.map((r) => r.peerId)).toEqual([b.signer.peerId]);
    expect(rest.suspects).toEqual([[a.signer.peerId, NOW, 0]]);
  });

  it('sends a suspicion once per change, with its age, and again when it turns into down', () => {
    const { table, tick } = setup();
    table.merge([a.record(), b.record()], NOW);
    const before = table.viewSince(undefined).cursor;
    table.contactFailed(a.signer.peerId, NOW + 1);
    tick(2);
    const suspected = table.viewSince(before);
    expect(suspected.records).toEqual([]);
    expect(suspected.suspects).toEqual([[a.signer.peerId, NOW, 2]]);
    expect(table.viewSince(suspected.cursor).suspects).toEqual([]);
    tick(4);
    expect(table.viewSince(suspected.cursor).suspects).toEqual([[a.signer.peerId, NOW, 6]]);
  });
});

describe('peer table: suspicion rumours', () => {
  it('takes a rumour older than its own evidence, keeps its age, and marks down when the age runs out', () => {
    const { table, tick, now, kinds } = setup();
    table.merge([a.record(), b.record()], NOW);
    tick(3); // silent for 3 rounds
    table.suspect(a.signer.peerId, NOW, 2, now());
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    tick(3);
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    tick(1); // 2 + 4 rounds = downAfterRounds since the suspicion began elsewhere
    expect(table.get(a.signer.peerId)?.state).toBe('down');
    // A rumour that it was already down long ago takes a live-looking peer down at the next round.
    table.suspect(b.signer.peerId, NOW, 6, now());
    tick(1);
    expect(table.get(b.signer.peerId)?.state).toBe('down');
    expect(kinds()).toEqual(['joined', 'joined', 'suspected', 'down', 'suspected', 'down']);
  });

  it('ignores a rumour its own direct evidence contradicts, or one about an outdated record', () => {
    const { table, tick, now } = setup();
    table.merge([a.record()], NOW);
    tick(3);
    table.heard(a.signer.peerId, now(), now());
    table.suspect(a.signer.peerId, NOW, 0, now()); // heard from it this very round
    tick(1);
    table.suspect(a.signer.peerId, NOW, 2, now()); // heard 1 round ago, suspicion began 2 ago
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    table.merge([a.record({ seq: NOW + 1 })], now()); // it refuted: the old seq's rumour is stale
    tick(5);
    table.suspect(a.signer.peerId, NOW, 5, now());
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
  });

  it('clears a suspicion everywhere with a fresher record, and learns of a rumour about itself', () => {
    const { table } = setup();
    table.merge([a.record()], NOW);
    table.contactFailed(a.signer.peerId, NOW);
    table.merge([a.record({ seq: NOW + 1 })], NOW);
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    table.suspect(me.signer.peerId, NOW - 1, 0, NOW); // about an older record of ours: nothing to refute
    expect(table.highestSelfSeqSeen).toBe(0);
    table.suspect(me.signer.peerId, NOW, 0, NOW);
    expect(table.highestSelfSeqSeen).toBe(NOW); // the next round re-signs above it
  });
});

describe('peer table: a peer advertising several address sets', () => {
  const setAt = (host: string) => ({ files: `${host}:7001`, search: `${host}:7002`, fetch: `${host}:7003` });
  const many = (seq: number, ...hosts: string[]) =>
    a.record({
      seq,
      addresses: setAt(hosts[0] as string),
      ...(hosts.length > 1 ? { otherAddresses: hosts.slice(1).map(setAt) } : {}),
    });

  it('is dialled at the set that proved its key, kept across a newer record still listing it; a failed contact moves on to the next set', () => {
    const { table, now } = setup();
    table.merge([many(NOW, '10.0.0.1', '10.0.0.2', '10.0.0.3')], NOW);
    expect(table.get(a.signer.peerId)?.addresses).toEqual(setAt('10.0.0.1')); // no contact yet: the first
    table.useAddress(a.signer.peerId, '10.0.0.2:7003');
    expect(table.get(a.signer.peerId)?.addresses).toEqual(setAt('10.0.0.2'));
    table.useAddress(a.signer.peerId, '10.9.9.9:7003'); // not in its record: nothing changes
    expect(table.get(a.signer.peerId)?.addresses).toEqual(setAt('10.0.0.2'));
    table.merge([many(NOW + 1, '10.0.0.4', '10.0.0.2')], now());
    expect(table.get(a.signer.peerId)?.addresses).toEqual(setAt('10.0.0.2'));
    table.contactFailed(a.signer.peerId, now());
    expect(table.get(a.signer.peerId)?.addresses).toEqual(setAt('10.0.0.4')); // wraps around to the first
    table.merge([many(NOW + 2, '10.0.0.5')], now());
    expect(table.get(a.signer.peerId)?.addresses).toEqual(setAt('10.0.0.5'));
  });
});
