import { describe, expect, it } from 'vitest';
import { fetchConfig } from './config.ts';
import { MembershipLog } from './membership-log.ts';
import { signLeave } from './peer-record.ts';
import { PeerTable } from './peer-table.ts';
import { NOW, testPeer } from './test-fixtures.ts';

const ROUND = 1_000;
const config = fetchConfig({ suspectAfterRounds: 3, downAfterRounds: 6, evictAfterMs: 10 * ROUND, maxPeers: 5, maxTombstones: 2, tombstoneTtlMs: 60 * ROUND, forgetTtlMs: 60 * ROUND });
const me = testPeer(1);
const a = testPeer(2);
const b = testPeer(3);

function setup(overrides: Partial<typeof config> = {}) {
  const log = new MembershipLog(100);
  const removed: string[] = [];
  const table = new PeerTable(me.record(), { ...config, ...overrides }, log, 'e1', (id) => removed.push(id));
  let now = NOW;
  const tick = (rounds = 1) => {
    for (let i = 0; i < rounds; i++) table.tick((now += ROUND));
  };
  const kinds = () => log.since().map((e) => e.kind);
  return { table, log, removed, tick, kinds, now: () => now };
}

describe('peer table: merging records', () => {
  it('keeps the newest seq and counts an older one as a replay', () => {
    const { table } = setup();
    expect(table.merge([a.record({ seq: NOW + 5 })], NOW).added).toBe(1);
    expect(table.merge([a.record({ seq: NOW + 9, addresses: { files: '10.0.0.1:1', search: '10.0.0.1:2', fetch: '10.0.0.1:3' } })], NOW).updated).toBe(1);
    const replay = table.merge([a.record({ seq: NOW + 5 })], NOW);
    expect(replay.stale).toBe(1);
    expect(table.counters.stale).toBe(1);
    expect(table.get(a.signer.peerId)?.record.addresses.files).toBe('10.0.0.1:1');
    expect(table.merge([a.record({ seq: NOW + 9, addresses: { files: '10.0.0.1:1', search: '10.0.0.1:2', fetch: '10.0.0.1:3' } })], NOW).unchanged).toBe(1);
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

  it('holds at most maxPeers, making room by evicting the longest-down peer, else refusing', () => {
    const { table, tick } = setup({ maxPeers: 3 });
    const peers = [a, b, testPeer(4), testPeer(5)];
    table.merge(peers.slice(0, 3).map((p) => p.record()), NOW);
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
    expect(table.merge([peers[3]!.record()], NOW + 7 * ROUND).added).toBe(1);
    expect(table.size).toBe(3);
    expect(table.has(a.signer.peerId)).toBe(false);
  });
});

describe('peer table: liveness', () => {
  it('suspects after silent rounds, marks down, evicts after the configured time', () => {
    const { table, tick, kinds } = setup();
    table.merge([a.record()], NOW);
    tick(2);
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    tick(1);
    expect(table.get(a.signer.peerId)?.state).toBe('suspected');
    tick(2);
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
    tick(6);
    expect(table.get(a.signer.peerId)?.state).toBe('down');
    expect(table.viewSince(undefined, now()).records.map((r) => r.peerId)).toEqual([me.signer.peerId]);
    table.merge([a.record({ seq: NOW + 1 })], now());
    table.heard(b.signer.peerId, now(), now());
    expect(table.get(a.signer.peerId)?.state).toBe('alive');
    expect(table.get(b.signer.peerId)?.state).toBe('alive');
    expect(table.viewSince(undefined, now()).records).toHaveLength(3);
  });

  it('does not re-add an evicted peer from a stale copy of its record, only from a newer one', () => {
    const { table, tick, kinds, now } = setup();
    const record = a.record();
    table.merge([record], NOW);
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
    const first = table.viewSince(undefined, NOW + 1_000);
    expect(first.records).toHaveLength(2);
    expect(first.heard).toEqual([
      [me.signer.peerId, 0],
      [a.signer.peerId, 1_000],
    ]);
    table.merge([b.record()], NOW);
    expect(table.viewSince(first.cursor, NOW).records.map((r) => r.peerId)).toEqual([b.signer.peerId]);
    expect(table.viewSince('other:1', NOW).records).toHaveLength(3);
    expect(table.viewSince('e1:99999', NOW).records).toHaveLength(3);
  });
});
