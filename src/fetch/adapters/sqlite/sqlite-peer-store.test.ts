import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NOW, testPeer } from '../../../../test/support/fetch-records.ts';
import { SqlitePeerStore } from './sqlite-peer-store.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function path(): string {
  const dir = mkdtempSync(join(tmpdir(), 'peer-store-'));
  dirs.push(dir);
  return join(dir, 'fetch.db');
}

describe('SqlitePeerStore', () => {
  it('keeps the newest record of each peer across a reopen, and forgets removed ones', () => {
    const file = path();
    const a = testPeer(1);
    const b = testPeer(2);
    const store = new SqlitePeerStore(file);
    store.updateRecords([a.record({ seq: NOW + 2 }), b.record()], []);
    store.saveRecord(a.record({ seq: NOW + 1 })); // older: ignored
    store.removeRecord(b.signer.peerId);
    store.close();

    const reopened = new SqlitePeerStore(file);
    expect(reopened.loadRecords().map((r) => [r.peerId, r.seq])).toEqual([[a.signer.peerId, NOW + 2]]);
    reopened.close();
  });

  it('numbers membership events across runs and keeps only the newest maxEvents', () => {
    const file = path();
    const first = new SqlitePeerStore(file, { maxEvents: 3 });
    first.appendEvents([1, 2].map((n) => ({ n, at: NOW + n, kind: 'joined' as const, peerId: `p${n}` })));
    first.close();
    const second = new SqlitePeerStore(file, { maxEvents: 3 });
    // A new process numbers its events from 1 again; the store keeps counting.
    second.appendEvents([1, 2].map((n) => ({ n, at: NOW + 10 + n, kind: 'down' as const, peerId: `q${n}` })));
    expect(second.recentEvents(10).map((e) => [e.n, e.peerId])).toEqual([
      [2, 'p2'],
      [3, 'q1'],
      [4, 'q2'],
    ]);
    expect(second.recentEvents(1).map((e) => e.n)).toEqual([4]);
    second.close();
  });

  it('keeps join pins across a reopen; a pin is replaced per address and forgotten by id or address', () => {
    const file = path();
    const [a, b, c] = [testPeer(1), testPeer(2), testPeer(3)].map((p) => p.signer.peerId);
    const store = new SqlitePeerStore(file);
    store.pinJoin({ address: '127.0.0.5:7874', peerId: a!, pinnedAt: NOW });
    store.pinJoin({ address: '127.0.0.6:7874', peerId: b!, pinnedAt: NOW });
    store.pinJoin({ address: '127.0.0.7:7874', peerId: c!, pinnedAt: NOW });
    store.pinJoin({ address: '127.0.0.6:7874', peerId: c!, pinnedAt: NOW + 1 }); // replaces b's
    store.close();
    const reopened = new SqlitePeerStore(file);
    expect(reopened.joinPins()).toEqual([
      { address: '127.0.0.5:7874', peerId: a, pinnedAt: NOW },
      { address: '127.0.0.6:7874', peerId: c, pinnedAt: NOW + 1 },
      { address: '127.0.0.7:7874', peerId: c, pinnedAt: NOW },
    ]);
    expect(
      reopened
        .forgetJoinPins(c!)
        .map((p) => p.address)
        .sort(),
    ).toEqual(['127.0.0.6:7874', '127.0.0.7:7874']);
    expect(reopened.forgetJoinPins('127.0.0.5:7874')).toEqual([
      { address: '127.0.0.5:7874', peerId: a, pinnedAt: NOW },
    ]);
    expect(reopened.forgetJoinPins(a!)).toEqual([]);
    expect(reopened.joinPins()).toEqual([]);
    reopened.close();
  });
});
