import { describe, expect, it } from 'vitest';
import { PeershareError, toErrorBody } from '../../shared/errors.ts';
import { memorySigner, verifyEd25519 } from './keys.ts';
import { encodeForSigning } from './peer-record.ts';
import { seededRandom } from './random.ts';
import { keyedRank, seededSecret, type Rank } from './sample-rank.ts';
import { SyncRounds, type SyncTarget } from './sync-rounds.ts';
import { fields, NOW, testPeer } from '../../../test/support/fetch-records.ts';

/** The test peers' records name 127.x addresses: announced from this host, as a record naming loopback must be. */
const LOCAL = '127.0.0.1';

const FILE = 'ab'.repeat(32);

function core(i: number, join: string[] = [], config = {}, sampleRank?: Rank) {
  const clock = { t: NOW, epochMs: () => clock.t };
  const rounds = new SyncRounds({
    signer: memorySigner(),
    addresses: fields(i).addresses,
    clock,
    random: seededRandom(i),
    join,
    config,
    ...(sampleRank ? { sampleRank } : {}),
  });
  return { rounds, clock };
}

/** A sample order set by hand (test peers' keys are random): ids not set rank above any set. */
function handRanks(): { rank: Rank; set: (peerId: string, rank: number) => void } {
  const ranks = new Map<string, number>();
  return { rank: (peerId) => ranks.get(peerId) ?? 2 ** 31, set: (peerId, rank) => void ranks.set(peerId, rank) };
}

/** Ten peers held, ranked 1,000–1,009 by `set`: a full table of maxPeers 10 whose highest rank is 1,009. */
function fillTen(rounds: SyncRounds, set: (peerId: string, rank: number) => void): void {
  const records = Array.from({ length: 10 }, (_, i) => testPeer(10 + i).record());
  records.forEach((r, i) => set(r.peerId, 1_000 + i));
  rounds.table.merge(records, NOW);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PeershareError) return err.code;
    throw err;
  }
  return 'accepted';
}

/** One exchange: `asker` asks `answerer` and applies its answer (with `files` added, as the service would). */
function exchange(asker: SyncRounds, answerer: SyncRounds, target: SyncTarget, files?: unknown) {
  const request = JSON.parse(JSON.stringify({ from: asker.table.selfRecord })) as unknown;
  const view = answerer.answer(request, LOCAL);
  return asker.applyResponse(
    target,
    JSON.parse(JSON.stringify({ from: answerer.peerId, view, ...(files ? { files } : {}) })),
  );
}

/** `x` (peer i) and `y` (peer j) each reach the other at its own address: both verify the other. */
function meet(x: SyncRounds, i: number, y: SyncRounds, j: number) {
  exchange(x, y, { address: fields(j).addresses.fetch });
  exchange(y, x, { address: fields(i).addresses.fetch });
}

describe('sync rounds', () => {
  it('joins through the first reachable join address, with backoff after all fail', () => {
    const { rounds } = core(1, ['127.0.0.9:7003', '127.0.0.8:7003']);
    const first = rounds.startRound();
    expect(first.map((p) => p.target)).toEqual([{ address: '127.0.0.9:7003' }]);
    rounds.applyFailure(first[0]!.target);
    expect(rounds.startRound().map((p) => p.target.address)).toEqual(['127.0.0.8:7003']);
    rounds.applyFailure({ address: '127.0.0.8:7003' });
    expect(rounds.startRound()).toEqual([]); // both failed: wait a round
    expect(rounds.startRound().map((p) => p.target.address)).toEqual(['127.0.0.9:7003']);
    expect(rounds.joined).toBe(false);
  });

  it('keeps asking its join address, with backoff, after other peers reached it first, until the join address answers', () => {
    // b started before its join host a was up; c joined b meanwhile. b, c without a are an island.
    const a = core(1);
    const b = core(2, ['127.0.0.1:7003']);
    const c = core(3, ['127.0.0.2:7003']);
    b.rounds.applyFailure(b.rounds.startRound()[0]!.target);
    exchange(c.rounds, b.rounds, { address: '127.0.0.2:7003' });
    const asked = () => {
      const plans = b.rounds.startRound();
      for (const { target } of plans) if (target.verify) exchange(b.rounds, c.rounds, target);
      return plans.filter((p) => p.target.peerId === undefined).map((p) => p.target.address);
    };
    expect(asked()).toEqual([]); // the backoff round after the failure, in which b verifies c
    expect(b.rounds.joined).toBe(true);
    expect(asked()).toEqual(['127.0.0.1:7003']);
    exchange(b.rounds, a.rounds, { address: '127.0.0.1:7003' });
    expect(b.rounds.peers().map((p) => p.peerId)).toContain(a.rounds.peerId);
    for (let i = 0; i < 5; i++) expect(asked()).toEqual([]); // answered once: a is a peer like any other now
  });

  it('learns a peer and its files from a join address, and serves them to Download and Search', () => {
    const a = core(1, ['127.0.0.2:7003']);
    const b = core(2);
    const files = { cursor: 'f1', reset: true, added: [{ id: FILE, name: 'song.ogg', size: 42 }], removed: [] };
    exchange(a.rounds, b.rounds, { address: '127.0.0.2:7003' }, files);
    expect(a.rounds.joined).toBe(true);
    // The request was an announce: b holds a unverified, and probes a at a's own address next round.
    expect(b.rounds.table.has(a.rounds.peerId)).toBe(false);
    expect(b.rounds.admission.get(a.rounds.peerId)).toBeDefined();
    expect(b.rounds.startRound().map((p) => p.target)).toEqual([
      { peerId: a.rounds.peerId, address: '127.0.0.1:7003', verify: a.rounds.table.selfRecord },
    ]);
    expect(a.rounds.sourcesFor(FILE)).toEqual([
      { peerId: b.rounds.peerId, filesAddress: '127.0.0.2:7001', name: 'song.ogg', size: 42, state: 'alive' },
    ]);
    expect(a.rounds.neighbourCandidates().map((c) => c.searchAddress)).toEqual(['127.0.0.2:7002']);
    expect(a.rounds.peers()[0]).toMatchObject({ peerId: b.rounds.peerId, state: 'alive', files: 1 });
    // The next request to b carries the cursors b gave.
    const next = a.rounds.startRound().find((p) => p.target.peerId === b.rounds.peerId);
    expect(next?.request.filesCursor).toBe('f1');
    expect(next?.request.viewCursor).toMatch(/:/);
  });

  it('changes nothing when one record of a view is forged', () => {
    const a = core(1);
    const b = core(2);
    const honest = testPeer(5).record();
    const mallory = testPeer(6);
    const forged = {
      ...honest,
      addresses: fields(6).addresses,
      signature: mallory.signer.sign(encodeForSigning(honest.peerId, mallory.signer.publicKey, honest)).toString('hex'),
    };
    const view = b.rounds.answer({ from: a.rounds.table.selfRecord });
    const response = { from: b.rounds.peerId, view: { ...view, records: [...view.records, forged] } };
    expect(codeOf(() => a.rounds.applyResponse({ address: 'x:1' }, response))).toBe('BAD_REQUEST');
    expect(a.rounds.table.size).toBe(0);
    expect(a.rounds.log.last).toBe(0);
  });

  it('refuses oversized lists with PAYLOAD_TOO_LARGE and malformed parts with BAD_REQUEST, changing nothing', () => {
    const a = core(1, [], { maxPeers: 3, maxTombstones: 1, maxFilesPerPeer: 2 });
    const b = core(2);
    const view = b.rounds.answer({ from: a.rounds.table.selfRecord });
    const huge = {
      from: b.rounds.peerId,
      view: { ...view, suspects: Array.from({ length: 4 }, () => [b.rounds.peerId, 1, 0]) },
    };
    expect(codeOf(() => a.rounds.applyResponse({ address: 'x:1' }, huge))).toBe('PAYLOAD_TOO_LARGE');
    const tooManyFiles = {
      from: b.rounds.peerId,
      view,
      files: {
        cursor: 'c',
        reset: true,
        added: [1, 2, 3].map((n) => ({ id: String(n).repeat(64), name: 'x', size: 1 })),
        removed: [],
      },
    };
    expect(codeOf(() => a.rounds.applyResponse({ address: 'x:1' }, tooManyFiles))).toBe('PAYLOAD_TOO_LARGE');
    const badName = {
      from: b.rounds.peerId,
      view,
      files: { cursor: 'c', reset: true, added: [{ id: FILE, name: '../etc/passwd', size: 1 }], removed: [] },
    };
    expect(codeOf(() => a.rounds.applyResponse({ address: 'x:1' }, badName))).toBe('BAD_REQUEST');
    expect(
      codeOf(() =>
        a.rounds.applyResponse(
          { address: 'x:1' },
          { from: b.rounds.peerId, view: { ...view, suspects: [['nope', 1, -1]] } },
        ),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      codeOf(() => a.rounds.applyResponse({ peerId: 'a'.repeat(52), address: 'x:1' }, { from: b.rounds.peerId, view })),
    ).toBe('BAD_REQUEST');
    expect(codeOf(() => b.rounds.answer({ from: { peerId: 'x' } }))).toBe('BAD_REQUEST');
    expect(codeOf(() => b.rounds.answer('not json'))).toBe('BAD_REQUEST');
    expect(a.rounds.table.size).toBe(0);
    expect(a.rounds.files.size).toBe(0);
  });

  it('re-signs its own record above a newer one of its own seen elsewhere (restart with a clock set back)', () => {
    const b = core(2);
    const signer = memorySigner();
    const old = new SyncRounds({
      signer,
      addresses: fields(3).addresses,
      clock: { epochMs: () => NOW + 60_000 },
      random: seededRandom(3),
    });
    const restarted = new SyncRounds({
      signer,
      addresses: fields(3).addresses,
      clock: { epochMs: () => NOW },
      random: seededRandom(4),
    });
    exchange(b.rounds, old, { address: fields(3).addresses.fetch }); // b reached the old run at its address
    // B refuses the older announce as a replay, and its refusal carries the newer record it holds.
    let refusal: unknown;
    try {
      exchange(restarted, b.rounds, { address: 'x:1' });
    } catch (err) {
      refusal = JSON.parse(JSON.stringify(toErrorBody(err as PeershareError)));
    }
    expect(refusal).toMatchObject({ error: { code: 'BAD_REQUEST', details: { reason: 'stale' } } });
    restarted.applyFailure({ address: 'x:1' }, refusal);
    restarted.startRound();
    expect(restarted.table.selfRecord.seq).toBe(NOW + 60_001);
  });

  it('announces a tombstone on leave that removes it from the table of whoever hears it', () => {
    const a = core(1);
    const b = core(2);
    exchange(b.rounds, a.rounds, { address: fields(1).addresses.fetch });
    expect(b.rounds.table.has(a.rounds.peerId)).toBe(true);
    b.rounds.answer({ from: a.rounds.leave() });
    expect(b.rounds.table.has(a.rounds.peerId)).toBe(false);
    expect(b.rounds.log.since().map((e) => e.kind)).toEqual(['joined', 'left']);
  });

  it('refuses a replayed announce, one about itself and a leave that is not a tombstone, changing nothing', () => {
    const a = core(1);
    const b = core(2);
    const peer = testPeer(3);
    b.rounds.restore([peer.record({ seq: NOW + 10 })]);
    const changes = b.rounds.table.changes;
    expect(codeOf(() => b.rounds.answer({ from: peer.record({ seq: NOW + 5 }) }))).toBe('BAD_REQUEST');
    expect(codeOf(() => b.rounds.answer({ from: b.rounds.table.selfRecord }))).toBe('BAD_REQUEST');
    expect(codeOf(() => b.rounds.acceptLeave(a.rounds.table.selfRecord))).toBe('BAD_REQUEST');
    expect(b.rounds.table.changes).toBe(changes);
    expect(b.rounds.table.get(peer.signer.peerId)?.record.seq).toBe(NOW + 10);
  });

  it('answers a peer it evicted announcing the same record (no replay), and does not take it back for that record', () => {
    const b = core(2, [], { suspectAfterRounds: 1, downAfterRounds: 1, evictAfterMs: 0 });
    const peer = testPeer(3);
    const record = peer.record({ seq: NOW + 10 });
    b.rounds.restore([record]);
    b.rounds.table.contactFailed(peer.signer.peerId, NOW);
    b.rounds.table.tick(NOW + 1); // suspected, down and evicted: remembered with its seq
    expect(b.rounds.table.has(peer.signer.peerId)).toBe(false);
    expect(codeOf(() => b.rounds.answer({ from: record }))).toBe('accepted');
    expect(b.rounds.table.has(peer.signer.peerId)).toBe(false);
    expect(b.rounds.admission.get(peer.signer.peerId)).toBeUndefined(); // not worth a probe: merge would refuse it
  });

  it('restores records kept from the last run, skipping any that no longer verify', () => {
    const b = core(2);
    const good = testPeer(3).record();
    const forged = { ...testPeer(4).record(), seq: NOW + 1 };
    expect(b.rounds.restore([good, forged, 'junk']).added).toBe(1);
    expect(b.rounds.joined).toBe(true);
  });

  it('answers a first contact carrying a digest with only the records the asker lacks', () => {
    const a = core(1);
    const b = core(2);
    const known = testPeer(3).record();
    const unknown = testPeer(4).record();
    a.rounds.restore([known]);
    b.rounds.restore([known, unknown]);
    const [plan] = a.rounds.startRound();
    expect(plan?.request.have).toHaveLength(2); // itself and the peer it knows
    const view = b.rounds.answer(JSON.parse(JSON.stringify(plan!.request)));
    expect(view.records.map((r) => r.peerId).sort()).toEqual([b.rounds.peerId, unknown.peerId].sort());
    expect(view.suspects).toEqual([]); // nobody suspected: nothing about liveness at all
  });

  it('sends a hash instead of a digest once settled, and gets nothing back from a peer holding the same records', () => {
    const a = core(1);
    const b = core(2);
    const shared = testPeer(3).record();
    a.rounds.restore([shared]);
    b.rounds.restore([shared]);
    meet(a.rounds, 1, b.rounds, 2); // both now hold a, b and the shared peer
    for (let r = 0; r < 2; r++) a.rounds.startRound();
    // The shared peer is the one a has no cursor for: its request carries the hash alone.
    const plan = a.rounds.startRound().find((p) => p.target.peerId === shared.peerId);
    expect(plan?.request.have).toBeUndefined();
    const request = { from: a.rounds.table.selfRecord, haveHash: plan?.request.haveHash ?? '' };
    expect(request.haveHash).toMatch(/^[0-9a-f]{32}$/);
    expect(b.rounds.answer(JSON.parse(JSON.stringify(request))).records).toEqual([]);
    // A peer that holds something else answers with its whole view: its own record (the asker
    // waits there unverified, so it is not passed on).
    expect(core(5).rounds.answer(JSON.parse(JSON.stringify(request))).records).toHaveLength(1);
    expect(codeOf(() => b.rounds.answer({ ...request, haveHash: 'zz' }))).toBe('BAD_REQUEST');
  });

  it('holds a gossiped record unverified: not passed on, offered or counted until its own probe reaches its peer', () => {
    const a = core(1);
    const b = core(2);
    const c = core(3);
    meet(a.rounds, 1, b.rounds, 2);
    meet(b.rounds, 2, c.rounds, 3);
    const report = exchange(a.rounds, b.rounds, { peerId: b.rounds.peerId, address: fields(2).addresses.fetch }); // b gossips c
    expect(report.unverified).toBe(1);
    const cId = c.rounds.peerId;
    expect(a.rounds.table.has(cId)).toBe(false);
    expect(a.rounds.admission.get(cId)).toBeDefined();
    expect(a.rounds.neighbourCandidates().map((n) => n.peerId)).not.toContain(cId);
    expect(
      a.rounds.answer({ from: core(4).rounds.table.selfRecord }, LOCAL).records.map((r) => r.peerId),
    ).not.toContain(cId);
    // The next round probes c at its own address, pinned to its id; c's answer verifies it.
    const probe = a.rounds.startRound().find((p) => p.target.verify);
    expect(probe?.target).toMatchObject({ peerId: cId, address: fields(3).addresses.fetch });
    exchange(a.rounds, c.rounds, probe!.target);
    expect(a.rounds.table.get(cId)?.state).toBe('alive');
    expect(a.rounds.admissionStatus()).toMatchObject({ verificationsOk: 1, unverified: 1 }); // peer 4's announce still waits
  });

  it('draws before it probes: a full table waits only for records ranked below its highest entry, and drops those it no longer would take', () => {
    const rank = keyedRank(seededSecret(seededRandom(11)));
    const a = core(1, [], { maxPeers: 10, verifyPerRound: 100 }, rank);
    const b = core(2);
    const highest = () => Math.max(...a.rounds.table.list().map((v) => rank(v.peerId)));
    // a has verified 60 peers and keeps the 10 of lowest rank; b gossips 60 others to it.
    a.rounds.table.merge(
      Array.from({ length: 60 }, (_, i) => testPeer(10 + i).record()),
      NOW,
    );
    const gossiped = Array.from({ length: 60 }, (_, i) => testPeer(100 + i).record());
    b.rounds.table.merge(gossiped, NOW);
    const below = (limit: number) => gossiped.filter((r) => rank(r.peerId) < limit).map((r) => r.peerId);
    const drawn = below(highest());
    const report = exchange(a.rounds, b.rounds, { address: fields(2).addresses.fetch });
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.length).toBeLessThan(gossiped.length);
    expect(report.unverified).toBe(drawn.length); // the others were never offered: no probe, no memory
    // Better-ranked peers come in (verified directly): what waits and ranks above the new highest
    // entry is dropped unprobed.
    a.rounds.table.merge(
      Array.from({ length: 1_000 }, (_, i) => testPeer(300 + i).record()),
      NOW,
    );
    const still = below(highest());
    expect(still.length).toBeLessThan(drawn.length);
    const probed = a.rounds
      .startRound()
      .flatMap((p) => (p.target.verify ? [p.target.verify.peerId] : []))
      .filter((id) => id !== b.rounds.peerId);
    expect(probed.sort()).toEqual([...still].sort());
    expect(a.rounds.admissionStatus().unverified).toBe(
      still.length + (a.rounds.admission.get(b.rounds.peerId) ? 1 : 0),
    );
  });

  it('a full table pushes the peers it just took: in every request, and alone in newsPushPerRound more, for newsPushRounds', () => {
    const config = { maxPeers: 10, newsPushPerRound: 2, newsPushRounds: 3, newsPerRequest: 8 };
    const { rank, set } = handRanks();
    const a = core(1, [], config, rank);
    fillTen(a.rounds, set);
    // Restored or held before: no news, no push.
    expect(a.rounds.startRound().filter((p) => p.request.news || p.target.push)).toEqual([]);
    // A peer verified by an answer comes in (displacing the highest rank): it is news.
    const b = core(2);
    const newcomer = b.rounds.peerId;
    set(newcomer, 1);
    exchange(a.rounds, b.rounds, { address: fields(2).addresses.fetch });
    expect([a.rounds.table.has(newcomer), a.rounds.table.counters.sampledOut]).toEqual([true, 1]);
    const plans = a.rounds.startRound();
    const pushes = plans.filter((p) => p.target.push);
    expect(pushes).toHaveLength(2);
    for (const p of pushes) {
      expect(p.request.pushOnly).toBe(true);
      expect(p.target.peerId).not.toBe(newcomer);
    }
    for (const p of plans.filter((q) => q.target.peerId !== newcomer))
      expect(p.request.news?.map((r) => r.peerId)).toEqual([newcomer]);
    // Its news lasts newsPushRounds rounds from the one it came in.
    a.rounds.startRound();
    expect(a.rounds.startRound().some((p) => p.request.news || p.target.push)).toBe(false);
  });

  it("a push's answer changes neither the asker's cursor at the answerer nor what it holds of the answerer's files", () => {
    // A fanout above the table's size asks every peer each round: b is in every round's plans.
    const a = core(1, [], { maxPeers: 10, newsPushPerRound: 24, fanout: 20 });
    const b = core(2);
    a.rounds.table.merge(
      Array.from({ length: 9 }, (_, i) => testPeer(10 + i).record()),
      NOW,
    );
    const files = { cursor: 'f1', reset: true, added: [{ id: FILE, name: 'song.ogg', size: 42 }], removed: [] };
    exchange(a.rounds, b.rounds, { address: fields(2).addresses.fetch }, files);
    expect(a.rounds.sourcesFor(FILE).map((s) => s.peerId)).toEqual([b.rounds.peerId]);
    const cursor = a.rounds.startRound().find((p) => p.target.peerId === b.rounds.peerId)?.request.viewCursor;
    // b's table moves on; asked by a push (as a full table's other peers are while it has news), b
    // answers without records, and with a cursor past a change a never got.
    b.rounds.table.merge([testPeer(50).record()], NOW);
    const push = { peerId: b.rounds.peerId, address: fields(2).addresses.fetch, push: true as const };
    const view = b.rounds.answer(
      JSON.parse(JSON.stringify({ from: a.rounds.table.selfRecord, pushOnly: true })),
      LOCAL,
    );
    expect(view.records).toEqual([]);
    a.rounds.applyResponse(push, JSON.parse(JSON.stringify({ from: b.rounds.peerId, view })));
    expect(a.rounds.sourcesFor(FILE).map((s) => s.peerId)).toEqual([b.rounds.peerId]);
    expect(a.rounds.startRound().find((p) => p.target.peerId === b.rounds.peerId)?.request.viewCursor).toBe(cursor);
  });

  it('a table with room pushes nothing: a complete view spreads by pulls alone', () => {
    const a = core(1, [], { maxPeers: 50, newsPushPerRound: 2 });
    a.rounds.table.merge(
      Array.from({ length: 10 }, (_, i) => testPeer(10 + i).record()),
      NOW,
    );
    const b = core(2);
    exchange(a.rounds, b.rounds, { address: fields(2).addresses.fetch });
    expect(a.rounds.table.has(b.rounds.peerId)).toBe(true);
    expect(a.rounds.startRound().some((p) => p.request.news || p.target.push)).toBe(false);
  });

  it('takes pushed news as gossip to probe, only what its table would take, counted against the asker host; a push is answered without records', () => {
    const { rank, set } = handRanks();
    const a = core(1, [], { maxPeers: 10, verifyPerRound: 100, newPerAddressPerMinute: 3 }, rank);
    fillTen(a.rounds, set);
    const highest = 1_009;
    // Three in four of the pushed peers rank below the table's highest entry.
    const pushed = Array.from({ length: 16 }, (_, i) => testPeer(100 + i).record());
    pushed.forEach((r, i) => set(r.peerId, i % 4 === 0 ? 5_000 : 10 + i));
    const wanted = pushed.filter((r) => rank(r.peerId) < highest);
    const asker = testPeer(7).record();
    set(asker.peerId, 1);
    const view = a.rounds.answer(
      JSON.parse(JSON.stringify({ from: asker, news: pushed, pushOnly: true })),
      '127.0.0.7',
    );
    expect(view.records).toEqual([]);
    // The asker announced itself (1 of its host's 3 a minute), so 2 of its pushed peers wait.
    const waiting = wanted.filter((r) => a.rounds.admission.get(r.peerId));
    expect(waiting).toHaveLength(2);
    for (const r of pushed.filter((x) => rank(x.peerId) >= highest))
      expect(a.rounds.admission.get(r.peerId)).toBeUndefined();
    expect(a.rounds.admissionStatus().refusedNew).toBe(wanted.length - 2);
    // More than MAX_NEWS_IN_REQUEST, or one forged record, refuses the request and changes nothing.
    const many = Array.from({ length: 17 }, (_, i) => testPeer(200 + i).record());
    expect(codeOf(() => a.rounds.answer(JSON.parse(JSON.stringify({ from: asker, news: many })), '127.0.0.7'))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    // A forged record the table would take refuses the request; one it would not is dropped
    // before its signature is checked (a request full of those costs no signature check).
    const forged = (wanted: boolean) => {
      const record = testPeer(300).record();
      set(record.peerId, wanted ? 20 : 6_000);
      return { ...record, seq: 99 };
    };
    const push = (record: object) => () =>
      a.rounds.answer(JSON.parse(JSON.stringify({ from: asker, news: [record] })), '127.0.0.7');
    expect(codeOf(push(forged(true)))).toBe('BAD_REQUEST');
    expect(codeOf(push(forged(false)))).toBe('accepted');
  });

  it("checks the signatures of an answer's gossip only where its full table would take the peer", () => {
    const { rank, set } = handRanks();
    const clock = { t: NOW, epochMs: () => clock.t };
    let checked = 0;
    const a = new SyncRounds({
      signer: memorySigner(),
      addresses: fields(1).addresses,
      clock,
      random: seededRandom(1),
      join: [],
      config: { maxPeers: 10, verifyPerRound: 100 },
      sampleRank: rank,
      verifier: (key, data, signature) => {
        checked++;
        return verifyEd25519(key, data, signature);
      },
    });
    fillTen(a, set);
    const b = core(2);
    set(b.rounds.peerId, 1);
    // Eight gossiped peers: the even ones rank below the table's highest entry (1,009).
    const gossip = Array.from({ length: 8 }, (_, i) => testPeer(100 + i).record());
    gossip.forEach((r, i) => set(r.peerId, i % 2 === 0 ? 10 + i : 5_000 + i));
    const gone = { ...testPeer(120).record(), status: 'left' };
    set(gone.peerId, 9_000);
    const answer = (records: object[]) =>
      JSON.parse(
        JSON.stringify({ from: b.rounds.peerId, view: { ...b.rounds.answer({ from: a.table.selfRecord }), records } }),
      ) as unknown;
    const target = { address: fields(2).addresses.fetch };
    checked = 0;
    a.applyResponse(target, answer([b.rounds.table.selfRecord, ...gossip]));
    // The answerer's record and the four wanted ones: the others were never checked, nor offered.
    expect(checked).toBe(5);
    for (const r of gossip) expect(a.admission.get(r.peerId) !== undefined).toBe(rank(r.peerId) < 1_009);
    // A forged record is refused where the table would take it, and dropped unchecked where it would not;
    // a departure is checked whatever its peer's rank.
    const forged = (wanted: boolean) => {
      const record = testPeer(300).record();
      set(record.peerId, wanted ? 20 : 6_000);
      return { ...record, seq: 99 };
    };
    expect(codeOf(() => a.applyResponse(target, answer([forged(true)])))).toBe('BAD_REQUEST');
    expect(codeOf(() => a.applyResponse(target, answer([forged(false)])))).toBe('accepted');
    expect(codeOf(() => a.applyResponse(target, answer([gone])))).toBe('BAD_REQUEST');
  });

  it('suspects a peer only when failuresToSuspect contacts in a row failed, asking it again the next round; a contact between restarts the count', () => {
    // Fanout 0: a round asks nobody but the peers it asks again.
    const a = core(1, [], { fanout: 0 });
    const b = core(2);
    meet(a.rounds, 1, b.rounds, 2);
    const toB: SyncTarget = { peerId: b.rounds.peerId, address: fields(2).addresses.fetch };
    const state = () => a.rounds.table.get(b.rounds.peerId)?.state;
    const asked = () =>
      a.rounds
        .startRound()
        .filter((p) => !p.target.verify)
        .map((p) => p.target.peerId);
    expect(asked()).toEqual([]);
    a.rounds.applyFailure(toB); // one lost request: no suspicion, no rumour to refute
    expect(state()).toBe('alive');
    expect(a.rounds.answer({ from: testPeer(9).record() }, '127.0.0.9').suspects).toEqual([]);
    expect(asked()).toEqual([b.rounds.peerId]);
    exchange(a.rounds, b.rounds, toB); // the retry is answered: the count starts again
    expect(asked()).toEqual([]);
    a.rounds.applyFailure(toB);
    expect(state()).toBe('alive');
    expect(asked()).toEqual([b.rounds.peerId]);
    a.rounds.applyFailure(toB); // the retry failed too
    expect(state()).toBe('suspected');
    expect(asked()).toEqual([]);
    // A request from it is direct evidence as an answer is: it also clears a doubt.
    const c = core(3, [], { fanout: 0 });
    meet(c.rounds, 3, b.rounds, 2);
    c.rounds.applyFailure(toB);
    c.rounds.answer(JSON.parse(JSON.stringify({ from: b.rounds.table.selfRecord })), LOCAL);
    expect(c.rounds.startRound().filter((p) => !p.target.verify)).toEqual([]);
    // failuresToSuspect 1: the first failure suspects.
    const d = core(4, [], { fanout: 0, failuresToSuspect: 1 });
    meet(d.rounds, 4, b.rounds, 2);
    d.rounds.applyFailure(toB);
    expect(d.rounds.table.get(b.rounds.peerId)?.state).toBe('suspected');
  });

  it('a failed probe suspects nobody and keeps the record out of the table', () => {
    const a = core(1);
    const stranger = testPeer(7).record();
    a.rounds.answer({ from: stranger }, '127.0.0.7');
    const probe = a.rounds.startRound().find((p) => p.target.verify);
    expect(probe?.target.address).toBe(stranger.addresses.fetch);
    a.rounds.applyFailure(probe!.target);
    expect(a.rounds.table.has(stranger.peerId)).toBe(false);
    expect(a.rounds.admissionStatus()).toMatchObject({ verificationsFailed: 1, unverified: 1 });
  });

  it('refutes a suspicion about itself by re-signing with a higher seq, which clears it at the suspecter', () => {
    const a = core(1);
    const b = core(2);
    meet(a.rounds, 1, b.rounds, 2);
    b.rounds.table.contactFailed(a.rounds.peerId, NOW);
    expect(b.rounds.table.get(a.rounds.peerId)?.state).toBe('suspected');
    const seq = a.rounds.table.selfRecord.seq;
    exchange(a.rounds, b.rounds, { address: 'x:1' }); // b's answer carries the rumour (its own asking is evidence, but a does not know)
    a.rounds.startRound();
    expect(a.rounds.table.selfRecord.seq).toBeGreaterThan(seq);
    b.rounds.table.contactFailed(a.rounds.peerId, NOW); // suspect it again: only the new record clears it now
    exchange(a.rounds, b.rounds, { address: 'x:1' });
    expect(b.rounds.table.get(a.rounds.peerId)?.state).toBe('alive');
  });

  it('tells a suspected asker it is suspected, though its request clears the suspicion there, so that it re-signs and its new record clears the suspicion elsewhere', () => {
    const [a, b, c] = [core(1), core(2), core(3)];
    meet(a.rounds, 1, b.rounds, 2);
    meet(a.rounds, 1, c.rounds, 3);
    meet(b.rounds, 2, c.rounds, 3);
    b.rounds.table.contactFailed(a.rounds.peerId, NOW);
    c.rounds.table.contactFailed(a.rounds.peerId, NOW);
    for (const x of [a, b, c]) x.clock.t += 3_000; // a asks b a round later
    const seq = a.rounds.table.selfRecord.seq;
    exchange(a.rounds, b.rounds, { peerId: b.rounds.peerId, address: fields(2).addresses.fetch });
    expect(b.rounds.table.get(a.rounds.peerId)?.state).toBe('alive'); // its request is evidence
    a.rounds.startRound();
    expect(a.rounds.table.selfRecord.seq).toBeGreaterThan(seq); // it heard, and refuted
    exchange(a.rounds, b.rounds, { peerId: b.rounds.peerId, address: fields(2).addresses.fetch });
    // c clears its suspicion from the new record b passes on, without reaching a itself.
    expect(c.rounds.table.get(a.rounds.peerId)?.state).toBe('suspected');
    exchange(c.rounds, b.rounds, { peerId: b.rounds.peerId, address: fields(2).addresses.fetch });
    expect(c.rounds.table.get(a.rounds.peerId)?.state).toBe('alive');
  });

  it('gossips firewalled peers marked, takes their own file lists, and lists them apart from sources; never plans a sync to them', () => {
    const a = core(1);
    const b = core(2);
    meet(a.rounds, 1, b.rounds, 2);
    // A peer behind a NAT announces to a; a's probes of it fail: held firewalled.
    const natted = core(3);
    const request = () =>
      JSON.parse(JSON.stringify({ from: natted.rounds.table.selfRecord })) as Record<string, unknown>;
    a.rounds.answer(request(), LOCAL);
    for (let i = 0; i < 12; i++) {
      for (const { target } of a.rounds.startRound()) if (target.verify) a.rounds.applyFailure(target);
    }
    expect(a.rounds.admission.isFirewalled(natted.rounds.peerId)).toBe(true);
    // Its own file list comes with its requests (nobody can dial it to ask), applied as a whole list.
    const files = { cursor: 'n1', reset: true, added: [{ id: FILE, name: 'behind.txt', size: 7 }], removed: [] };
    a.rounds.answer({ ...request(), ownFiles: { delta: files } }, LOCAL);
    expect(a.rounds.heldFilesCursor(natted.rounds.peerId)).toBe('n1');
    // A delta on top of another cursor than the one held is ignored.
    a.rounds.answer(
      { ...request(), ownFiles: { base: 'zz', delta: { cursor: 'n9', reset: false, added: [], removed: [FILE] } } },
      LOCAL,
    );
    expect(a.rounds.heldFilesCursor(natted.rounds.peerId)).toBe('n1');
    expect(a.rounds.sourcesFor(FILE)).toEqual([]);
    expect(a.rounds.firewalledHoldersOf(FILE)).toMatchObject([
      { peerId: natted.rounds.peerId, name: 'behind.txt', firewalled: true },
    ]);
    // b asks a: the answer carries the firewalled record, marked; b holds it firewalled too, and never dials it.
    const view = a.rounds.answer(JSON.parse(JSON.stringify({ from: b.rounds.table.selfRecord })), LOCAL);
    expect(view.firewalled?.map((r) => r.peerId)).toEqual([natted.rounds.peerId]);
    const report = b.rounds.applyResponse(
      { peerId: a.rounds.peerId, address: fields(1).addresses.fetch },
      JSON.parse(JSON.stringify({ from: a.rounds.peerId, view })),
    );
    expect(report.firewalled).toBe(1);
    expect(b.rounds.firewalledPeers().map((p) => p.peerId)).toEqual([natted.rounds.peerId]);
    // One hop: b does not pass on what it only heard of.
    const c = core(4);
    expect(
      b.rounds.answer(JSON.parse(JSON.stringify({ from: c.rounds.table.selfRecord })), LOCAL).firewalled,
    ).toBeUndefined();
    expect(b.rounds.table.has(natted.rounds.peerId)).toBe(false);
    for (let i = 0; i < 30; i++)
      expect(b.rounds.startRound().map((p) => p.target.peerId)).not.toContain(natted.rounds.peerId);
    // The firewalled peer's own answer leaves it out of its own list.
    expect(a.rounds.answer(request(), LOCAL).firewalled).toBeUndefined();
  });

  it('re-signs its record while unreachable, before the others would expire it; the others drop a firewalled record that stops being re-signed', () => {
    const natted = core(3, [], { firewalledTtlMs: 9_000 });
    const seq = natted.rounds.table.selfRecord.seq;
    natted.rounds.setUnreachable(true);
    natted.clock.t += 2_000;
    natted.rounds.startRound();
    expect(natted.rounds.table.selfRecord.seq).toBe(seq);
    natted.clock.t += 1_000;
    natted.rounds.startRound();
    expect(natted.rounds.table.selfRecord.seq).toBeGreaterThan(seq);
    expect(natted.rounds.table.selfRecord.issuedAt).toBe(natted.clock.t);
    const b = core(2, [], { firewalledTtlMs: 9_000 });
    b.rounds.admission.takeFirewalled(natted.rounds.table.selfRecord, 'x', '127.0.0.1:7003');
    b.clock.t = natted.clock.t + 8_000;
    b.rounds.startRound();
    expect(b.rounds.firewalledPeers()).toHaveLength(1);
    b.clock.t += 2_000;
    b.rounds.startRound();
    expect(b.rounds.firewalledPeers()).toHaveLength(0);
  });

  it('verifies a peer advertising several address sets at the first that answers, and dials it there for sync, Search and Download', () => {
    const a = core(1);
    const set = (host: string) => ({ files: `${host}:7001`, search: `${host}:7002`, fetch: `${host}:7003` });
    const clock = { t: NOW, epochMs: () => clock.t };
    const many = new SyncRounds({
      signer: memorySigner(),
      addresses: set('127.0.9.1'),
      otherAddresses: [set('127.0.9.2')],
      clock,
      random: seededRandom(9),
    });
    expect(many.table.selfRecord.otherAddresses).toEqual([set('127.0.9.2')]);
    // It announces itself to a; a probes its sets in order: nobody answers at the first, the second answers.
    a.rounds.answer(JSON.parse(JSON.stringify({ from: many.table.selfRecord })), LOCAL);
    const probe = () => a.rounds.startRound().find((p) => p.target.verify)?.target;
    const first = probe();
    expect(first?.address).toBe('127.0.9.1:7003');
    a.rounds.applyFailure(first!);
    const second = probe();
    expect(second?.address).toBe('127.0.9.2:7003');
    const files = { cursor: 'f1', reset: true, added: [{ id: FILE, name: 'map.png', size: 7 }], removed: [] };
    exchange(a.rounds, many, second!, files);
    expect(a.rounds.peers()).toEqual([
      expect.objectContaining({
        peerId: many.peerId,
        state: 'alive',
        addresses: set('127.0.9.2'),
        advertised: [set('127.0.9.1'), set('127.0.9.2')],
      }),
    ]);
    expect(a.rounds.sourcesFor(FILE).map((s) => s.filesAddress)).toEqual(['127.0.9.2:7001']);
    expect(a.rounds.neighbourCandidates().map((n) => n.searchAddress)).toEqual(['127.0.9.2:7002']);
    expect(
      a.rounds
        .startRound()
        .filter((p) => p.target.peerId === many.peerId)
        .map((p) => p.target.address),
    ).toEqual(['127.0.9.2:7003']);
  });
});

describe('files news (a peer whose record says its file list moved is asked directly)', () => {
  const at = (i: number) => fields(i).addresses.fetch;
  const target = (x: ReturnType<typeof core>, i: number): SyncTarget => ({ peerId: x.rounds.peerId, address: at(i) });
  const announce = (from: SyncRounds, to: SyncRounds) =>
    to.answer(JSON.parse(JSON.stringify({ from: from.table.selfRecord })) as unknown, LOCAL);
  /**
   * Peers `ids` (cores of their own), each met by `holder` (index `holderIndex`), change their
   * shares and announce their re-signed records to it: `holder` then holds files news of each.
   */
  const shareNews = (holder: ReturnType<typeof core>, holderIndex: number, ids: number[]) => {
    const peers = ids.map((i) => core(i));
    peers.forEach((p, k) => meet(holder.rounds, holderIndex, p.rounds, ids[k]!));
    for (const p of peers) {
      p.rounds.sharesChanged();
      p.rounds.startRound();
      announce(p.rounds, holder.rounds);
    }
    return peers;
  };
  const filesOf = (id: string) => ({
    cursor: `c-${id}`,
    reset: true,
    added: [{ id, name: 'new.bin', size: 1 }],
    removed: [],
  });

  it('re-signs its record with a higher filesVersion when its shares changed, at most once per filesResignRounds; a list never changed says none', () => {
    const a = core(1, [], { filesResignRounds: 2 });
    const first = a.rounds.table.selfRecord;
    expect('filesVersion' in first).toBe(false);
    a.rounds.startRound();
    expect(a.rounds.table.selfRecord).toBe(first); // nothing changed: no re-sign
    a.rounds.sharesChanged();
    a.rounds.sharesChanged(); // a burst of shares
    a.rounds.startRound();
    const second = a.rounds.table.selfRecord;
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(second.filesVersion).toBe(NOW);
    a.rounds.sharesChanged();
    a.rounds.startRound(); // within filesResignRounds of the last one: waits
    expect(a.rounds.table.selfRecord).toBe(second);
    a.rounds.startRound();
    const third = a.rounds.table.selfRecord;
    expect(third.filesVersion).toBe(NOW + 1);
    expect(third.seq).toBeGreaterThan(second.seq);
    a.rounds.startRound();
    expect(a.rounds.table.selfRecord).toBe(third);
  });

  it("asks the peer itself, on top of a fanout of 1, once it holds that peer's newer record from a third peer; its answer settles the news", () => {
    const a = core(1);
    const b = core(2);
    const c = core(3, [], { fanout: 1, downProbes: 0 });
    meet(a.rounds, 1, b.rounds, 2);
    meet(c.rounds, 3, a.rounds, 1);
    meet(c.rounds, 3, b.rounds, 2);
    for (let i = 4; i < 14; i++) meet(c.rounds, 3, core(i).rounds, i); // c holds 12 peers: a random ask of a is unlikely
    a.rounds.sharesChanged();
    a.rounds.startRound();
    exchange(b.rounds, a.rounds, target(a, 1)); // b hears a's new record from a
    exchange(c.rounds, b.rounds, target(b, 2)); // c hears it from b, never from a
    expect(c.rounds.table.known(a.rounds.peerId)?.filesVersion).toBe(NOW);
    expect(c.rounds.filesNewsPending).toBe(1);
    const plans = c.rounds.startRound();
    const toA = plans.filter((p) => p.target.peerId === a.rounds.peerId);
    expect(toA).toHaveLength(1);
    expect(plans.length).toBeLessThanOrEqual(2); // the fanout's one ask, and the news
    exchange(c.rounds, a.rounds, toA[0]!.target, filesOf(FILE));
    expect(c.rounds.sourcesFor(FILE).map((s) => s.peerId)).toEqual([a.rounds.peerId]);
    expect(c.rounds.filesNewsPending).toBe(0);
    for (let r = 0; r < 3; r++) expect(c.rounds.startRound()).toHaveLength(1); // the fanout alone again
  });

  it('a failed ask settles the news too (a list never answered costs one ask per record that raised it); a newer record without filesVersion, as older releases sign, brings none', () => {
    const a = core(1);
    // failuresToSuspect 1: the failed ask suspects a at once, so that no retry asks a again.
    const c = core(3, [], { fanout: 0, failuresToSuspect: 1 });
    meet(c.rounds, 3, a.rounds, 1);
    a.rounds.sharesChanged();
    a.rounds.startRound();
    announce(a.rounds, c.rounds); // a's own request carries its new record
    const plans = c.rounds.startRound();
    expect(plans.map((p) => p.target)).toEqual([target(a, 1)]);
    c.rounds.applyFailure(plans[0]!.target);
    expect(c.rounds.filesNewsPending).toBe(0);
    expect(c.rounds.startRound().filter((p) => p.target.peerId === a.rounds.peerId)).toEqual([]);
    // An unchanged filesVersion in a newer record (re-signed for another reason) is no news.
    const b = core(2);
    meet(c.rounds, 3, b.rounds, 2);
    b.rounds.setUnreachable(true); // re-signs every third of firewalledTtlMs: a newer record, no filesVersion
    b.clock.t += b.rounds.config.firewalledTtlMs / 3;
    const before = b.rounds.table.selfRecord.seq;
    b.rounds.startRound();
    expect(b.rounds.table.selfRecord.seq).toBeGreaterThan(before);
    announce(b.rounds, c.rounds);
    expect(c.rounds.table.known(b.rounds.peerId)?.seq).toBe(b.rounds.table.selfRecord.seq); // taken
    expect(c.rounds.filesNewsPending).toBe(0);
  });

  it('with filesNewsSpreadRounds S, asks each news peer after a random wait of 0 to S − 1 rounds', () => {
    const c = core(3, [], { fanout: 0, filesNewsPerRound: 6, filesNewsSpreadRounds: 4 });
    shareNews(c, 3, [4, 5, 6, 7, 8, 9]);
    const asked = [1, 2, 3, 4, 5].map(() => c.rounds.startRound().map((p) => p.target.peerId));
    expect(asked[4]).toEqual([]);
    expect(new Set(asked.flat()).size).toBe(6); // each once, within the 4 rounds
    expect(asked.filter((ids) => ids.length > 0).length).toBeGreaterThan(1); // not all at once
  });

  it('spreads the asks over ceil(peers held / filesNewsAsksPerSharerRound) rounds, so a sharer in a large network is not asked by everyone at once', () => {
    // 6 peers held, 2 asks a sharer a round: a wait of 0 to 2 rounds (S = 3), as filesNewsSpreadRounds 3 would give.
    const c = core(3, [], { fanout: 0, filesNewsPerRound: 6, filesNewsAsksPerSharerRound: 2 });
    shareNews(c, 3, [4, 5, 6, 7, 8, 9]);
    expect(c.rounds.table.size).toBe(6);
    const asked = [1, 2, 3, 4].map(() => c.rounds.startRound().map((p) => p.target.peerId));
    expect(asked[3]).toEqual([]);
    expect(new Set(asked.flat()).size).toBe(6);
    expect(asked.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
    // With the default (100) nobody among 6 waits: all asked the next round.
    const d = core(10, [], { fanout: 0, filesNewsPerRound: 6 });
    const fresh = shareNews(d, 10, [11, 12, 13, 14, 15, 16]);
    const next = d.rounds.startRound().map((p) => p.target.peerId);
    expect(new Set(next)).toEqual(new Set(fresh.map((p) => p.rounds.peerId)));
  });

  it('asks at most filesNewsPerRound peers a round for news, the rest in later rounds, and holds at most maxFilesNews', () => {
    const c = core(3, [], { fanout: 0, filesNewsPerRound: 2, maxFilesNews: 5 });
    shareNews(c, 3, [4, 5, 6, 7, 8, 9]);
    expect(c.rounds.filesNewsPending).toBe(5); // the sixth is left to the random fanout
    const asked = [1, 2, 3, 4].map(() => c.rounds.startRound().map((p) => p.target.peerId));
    expect(asked.map((ids) => ids.length)).toEqual([2, 2, 1, 0]);
    expect(new Set(asked.flat()).size).toBe(5);
    expect(c.rounds.filesNewsPending).toBe(0);
  });
});
