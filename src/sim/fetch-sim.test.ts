import { describe, expect, it } from 'vitest';
import { BENCH_JOIN_TUNING } from './fetch-cli.ts';
import { FetchNetwork, jsonLength, type RoundTraffic } from './fetch-network.ts';
import { runFetchSim, type FetchMeasure } from './fetch-sim.ts';

/** The first `rounds` rounds of 100 peers joining through peer 0: each round's traffic, and who knows how many. */
async function firstRounds(seed: number, rounds: number): Promise<{ traffic: RoundTraffic[]; known: number[] }> {
  const net = new FetchNetwork(seed, BENCH_JOIN_TUNING);
  const bootstrap = net.add([], 1);
  for (let i = 1; i < 100; i++) net.add([bootstrap.address], 1);
  const traffic: RoundTraffic[] = [];
  for (let r = 0; r < rounds; r++) traffic.push(await net.round());
  return { traffic, known: net.peers.map((p) => p.core.table.size) };
}

describe('Fetch simulated on 100 peers running the real SyncRounds', () => {
  it('replays exactly for a seed, and differs for another seed', async () => {
    const first = await firstRounds(1, 4);
    expect(await firstRounds(1, 4)).toEqual(first);
    expect((await firstRounds(2, 4)).traffic).not.toEqual(first.traffic);
  }, 60_000);

  it('makes a new peer known everywhere, and a new file listed everywhere, within 2 log2 N rounds', async () => {
    const m = await runFetchSim({
      peers: 100,
      seed: 1,
      maxRounds: 300,
      steadyRounds: 2,
      filesPerPeer: 1,
      tuning: BENCH_JOIN_TUNING,
    });
    // Pinned: these move only when the Fetch rules, the round model or the random draws change.
    expect({
      join: m.joinRounds,
      joinBytes: Math.round(m.join.bytesPerPeerRound * 100 * m.join.rounds),
      newPeer: m.newPeerKnownRounds,
      newFile: [m.newFileHalfRounds, m.newFile90Rounds, m.newFileRounds],
    }).toMatchInlineSnapshot(`
      {
        "join": 10,
        "joinBytes": 127676538,
        "newFile": [
          4,
          4,
          5,
        ],
        "newPeer": 6,
      }
    `);
    // One hop to the peer it joined through, that peer's probe, then gossip and each peer's own probe.
    expect(m.newPeerKnownRounds).not.toBeNull();
    expect(m.newPeerKnownRounds).toBeLessThanOrEqual(2 * Math.log2(100));
    expect(m.newPeerKnowsAllRounds).not.toBeNull();
    // A file list travels only in its holder's own answers: each peer must ask the sharer itself.
    // Random asks alone took O(N / fanout) rounds (151 here); the sharer's re-signed record says
    // its list moved, spreads by gossip in O(log N), and each peer then asks the sharer (files news).
    expect(m.newFileRounds).not.toBeNull();
    expect(m.newFileRounds).toBeLessThanOrEqual(2 * Math.log2(100));
  }, 120_000);
});

/** A measure without what depends on the machine (time, memory). */
function counts(m: FetchMeasure): Partial<FetchMeasure> {
  const { wallSeconds: _w, rssMiB: _r, heapPerPeerBytes: _h, heapPerEntryBytes: _e, ...rest } = m;
  return rest;
}

describe('Fetch simulated with loss, churn and a table cap', () => {
  it('replays loss and churn exactly for a seed, and settles: no crashed peer held alive once churn stops', async () => {
    const run = (seed: number) =>
      runFetchSim({
        peers: 30,
        seed,
        maxRounds: 150,
        steadyRounds: 2,
        filesPerPeer: 1,
        tuning: BENCH_JOIN_TUNING,
        start: 'warm',
        loss: 0.1,
        churn: { rate: 0.05, rounds: 6 },
      });
    const first = await run(3);
    expect(counts(await run(3))).toEqual(counts(first));
    expect(counts(await run(4))).not.toEqual(counts(first));
    const churn = first.churn;
    expect(churn?.crashed).toBeGreaterThan(0);
    expect(churn?.joined).toBe(churn?.crashed);
    expect(churn?.traffic.failures).toBeGreaterThan(0); // lost requests and crashed peers
    expect(churn?.settleRounds).not.toBeNull();
    expect(first.newPeerKnownRounds).not.toBeNull();
  }, 120_000);

  it('starts a warm partial view with a full table of maxPeers, and keeps it at most that', async () => {
    const m = await runFetchSim({
      peers: 60,
      seed: 1,
      maxRounds: 3,
      steadyRounds: 2,
      filesPerPeer: 1,
      tuning: { ...BENCH_JOIN_TUNING, maxPeers: 20, maxRecordsPerAnswer: 8 },
      start: 'warm',
    });
    expect(m.partial).toBe(true);
    expect(m.entriesPerPeer).toBeLessThanOrEqual(20);
    expect(m.entriesPerPeer).toBeGreaterThan(19);
    // Every answer carries at most 8 records: at most 8 per request.
    expect(m.steady.recordsPerPeerRound).toBeLessThanOrEqual(8 * m.steady.requestsPerPeerRound);
    expect(m.newPeerKnownBy).toHaveLength(3);
  }, 60_000);
});

describe('Fetch simulated with requests that overlap in time (timed delivery)', () => {
  const run = (peers: number, seed: number, latency?: { medianMs: number; sigma: number }) =>
    runFetchSim({
      peers,
      seed,
      maxRounds: 60,
      steadyRounds: 2,
      filesPerPeer: 1,
      tuning: BENCH_JOIN_TUNING,
      delivery: 'timed',
      newsUntil: 'known',
      ...(latency ? { latency } : {}),
    });

  it('replays exactly for a seed, differs for another, and does not move when every delay is scaled', async () => {
    const first = await run(40, 1);
    expect(first.latency).toEqual({ medianMs: 50, sigma: 1 });
    expect(counts(await run(40, 1))).toEqual(counts(first));
    expect(counts(await run(40, 2))).not.toEqual(counts(first));
    // Nothing in a round waits on a deadline: a median ten times smaller only scales the timeline.
    const { latency: _l, ...scaled } = counts(await run(40, 1, { medianMs: 5, sigma: 1 }));
    const { latency: _f, ...same } = counts(first);
    expect(scaled).toEqual(same);
  }, 60_000);

  it('joins 100 peers in fewer rounds than the lock-step waves, as the real network did', async () => {
    const m = await run(100, 1);
    // Pinned: these move only when the Fetch rules, the round model or the random draws change
    // (newPeer was 6 before files news: the news asks of the news phase change the draws; join 9
    // and 102,675,646 bytes before verification probes took origins in turn across rounds).
    expect({
      join: m.joinRounds,
      joinBytes: Math.round(m.join.bytesPerPeerRound * 100 * m.join.rounds),
      newPeer: m.newPeerKnownRounds,
    }).toMatchInlineSnapshot(`
      {
        "join": 8,
        "joinBytes": 95679111,
        "newPeer": 5,
      }
    `);
    // The `service` waves take 10 rounds for this seed (pinned above).
    expect(m.joinRounds).toBeLessThan(10);
  }, 60_000);
});

describe('bytes counted as the transport sends them', () => {
  it('counts JSON.stringify(message).length without building the string, escapes included', () => {
    const strings = [
      '',
      'abc',
      'a"b',
      'a\\b',
      '\u0001',
      '\u001f x',
      'é',
      '\u2028',
      '\ud83d\ude00',
      '\ud83d',
      'x\ude00y',
    ];
    for (const text of strings) expect(jsonLength(text)).toBe(JSON.stringify(text).length);
    const message = {
      view: { records: [{ peerId: 'p', publicKey: 'k', signature: 's', seq: 1.5 }], cursor: 'e:1' },
      have: strings,
      skip: undefined,
      n: null,
    };
    expect(jsonLength(message)).toBe(JSON.stringify(message).length);
  });
});
