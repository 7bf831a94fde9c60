import { describe, expect, it } from 'vitest';
import { BENCH_JOIN_TUNING } from './fetch-cli.ts';
import { runFetchRounds } from './fetch-rounds.ts';
import { runFetchSim } from './fetch-sim.ts';

describe('a partial view round by round', () => {
  const config = { peers: 60, seed: 3, maxPeers: 15, maxRecordsPerAnswer: 8, steadyRounds: 2, rounds: 6 };

  it('runs the network `npm run sim -- fetch` runs for the same seed, and reports each of its rounds', async () => {
    const rounds = await runFetchRounds(config);
    const phases = await runFetchSim({
      peers: config.peers,
      seed: config.seed,
      maxRounds: config.rounds,
      steadyRounds: config.steadyRounds,
      filesPerPeer: 1,
      tuning: { ...BENCH_JOIN_TUNING, maxPeers: config.maxPeers, maxRecordsPerAnswer: config.maxRecordsPerAnswer },
      start: 'warm',
      newsUntil: 'known',
    });
    expect(phases.partial).toBe(true);
    expect(rounds.news.map((p) => p.newcomerHeldBy)).toEqual(phases.newPeerKnownBy);
    const mean = (points: { bytesPerPeer: number }[]) => points.reduce((s, p) => s + p.bytesPerPeer, 0) / points.length;
    expect(mean(rounds.steady)).toBeCloseTo(phases.steady.bytesPerPeerRound, 6);
    expect(mean(rounds.news)).toBeCloseTo(phases.news.bytesPerPeerRound, 6);
    expect(rounds.news.at(-1)?.tableFull).toBe(phases.tableFull);
    expect(rounds.memory.map((m) => m.at)).toEqual(['warm start', 'steady', 'end']);
    expect(rounds.memory[0]?.entriesPerPeer).toBe(config.maxPeers);
  }, 60_000);

  it('replays exactly for a seed', async () => {
    const strip = (m: Awaited<ReturnType<typeof runFetchRounds>>) => m.news.map(({ wallSeconds: _w, ...p }) => p);
    expect(strip(await runFetchRounds(config))).toEqual(strip(await runFetchRounds(config)));
  }, 60_000);

  it('spreads a newcomer through a partial view faster when the tables that took it push it (news pushes)', async () => {
    // 2,000 peers, cap 60: a holder's pulls expose it to ≈ fanout × 60 / 2,000 = 0.09 takers a round.
    const run = (newsPushPerRound: number) =>
      runFetchRounds({
        ...config,
        peers: 2000,
        maxPeers: 60,
        steadyRounds: 1,
        rounds: 12,
        start: 'settled',
        newsPushPerRound,
      });
    const [pulls, pushes] = [await run(0), await run(24)];
    const heldBy = (m: Awaited<ReturnType<typeof runFetchRounds>>) => m.news.map((p) => p.newcomerHeldBy);
    console.log('newcomer held by, pulls only:', heldBy(pulls).join(' '), '; with pushes:', heldBy(pushes).join(' '));
    expect(heldBy(pushes).at(-1)).toBeGreaterThan(2 * (heldBy(pulls).at(-1) as number));
    // The pushes cost requests only while tables have news: settled steady rounds are the same.
    expect(pushes.steady.map((p) => p.requestsPerPeer)).toEqual(pulls.steady.map((p) => p.requestsPerPeer));
  }, 600_000); // ≈ 25 s alone; minutes beside the suite under stress-ng

  it("starts settled at the rules' fixed point: steady rounds probe no one, take no one in and push no one out", async () => {
    const settled = await runFetchRounds({ ...config, rounds: 1, start: 'settled' });
    expect(settled.memory[0]?.entriesPerPeer).toBe(config.maxPeers);
    // (A full table still refuses its join address when it answers: tableFull counts those.)
    for (const p of settled.steady) expect([p.probesPerPeer, p.sampledOut]).toEqual([0, 0]);
    // From a warm start the same network samples peers in and out until it settles.
    const warm = await runFetchRounds({ ...config, rounds: 1 });
    expect(warm.steady.at(-1)?.sampledOut).toBeGreaterThan(0);
  }, 60_000);

  it("under sustained joins, reports the joins and crashes, stale entries, the joiners' spread and the busiest peer", async () => {
    const joins = { rate: 0.05, rounds: 3, crashRate: 0.05 };
    const m = await runFetchRounds({ ...config, rounds: 8, joins });
    expect(m.joins).toEqual(joins);
    const points = m.news.map((p) => p.joins);
    // ≈ 3 of ≈ 60 live peers join and as many crash before each of the first 3 rounds, none after.
    const joined = points.map((j) => j?.joined);
    const crashed = points.map((j) => j?.crashed);
    expect(joined[2]).toBeGreaterThanOrEqual(6);
    expect(joined[2]).toBeLessThanOrEqual(12);
    expect(joined.slice(3)).toEqual(Array(5).fill(joined[2]));
    expect(crashed[2]).toBeGreaterThanOrEqual(6);
    expect(crashed.slice(3)).toEqual(Array(5).fill(crashed[2]));
    // Tables held the crashed peers alive when they crashed.
    expect(points[0]?.staleAliveFraction).toBeGreaterThan(0);
    // The joiners spread, never into more tables than would take them.
    for (const j of points) expect(j?.joinerHeldBy).toBeLessThanOrEqual(j?.joinerWantedBy as number);
    expect(points.at(-1)?.joinerHeldBy).toBeGreaterThan(points[0]?.joinerHeldBy as number);
    for (const p of m.news) expect(p.newcomerHeldBy).toBeLessThanOrEqual(p.newcomerWantedBy as number);
    // Joiners' tables have room at first, and every table with room would take the newcomer.
    expect(m.news[0]?.tablesWithRoom).toBeGreaterThan(0);
    for (const p of m.news) expect(p.newcomerWantedBy).toBeGreaterThanOrEqual(p.tablesWithRoom - 1);
    // The busiest peer: at least the mean, and its requests within what one peer may plan a round.
    for (const p of [...m.steady, ...m.news]) {
      expect(p.peak.requests).toBeGreaterThanOrEqual(p.requestsPerPeer);
      expect(p.peak.askedBytes).toBeGreaterThanOrEqual(p.bytesPerPeer);
      expect(p.peak.servedBytes).toBeGreaterThan(0);
    }
    // Without joins the same seed runs the same steady rounds and reports no joins.
    const quiet = await runFetchRounds({ ...config, rounds: 1 });
    expect(quiet.news[0]?.joins).toBeUndefined();
    expect(quiet.steady).toEqual(m.steady.map((p, i) => ({ ...p, wallSeconds: quiet.steady[i]?.wallSeconds })));
  }, 60_000);
});
