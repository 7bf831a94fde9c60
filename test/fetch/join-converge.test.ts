/** Join and Fetch over real HTTP on loopback: convergence, crashes, restarts and clean leaves, counted in rounds. */
import { describe, expect, it } from 'vitest';
import { converged, createFetchNet, type FetchNet, type NetPeer } from '../support/fetch-net.ts';

const TUNING = { fanout: 3, suspectAfterRounds: 3, downAfterRounds: 5, evictAfterMs: 4_000 };
/** Rounds on top of a configured bound for the last rumour of a dead peer's life to fade (≈ log N). */
const SPREAD = 6;

function idOf(peer: NetPeer): string {
  return peer.service.status().peerId;
}

function stateOf(net: FetchNet, about: NetPeer) {
  return net.live.map((p) => p.service.peers().find((q) => q.peerId === idOf(about))?.state ?? 'absent');
}

describe('Join and Fetch over HTTP', () => {
  // Counted in rounds; 30 TLS peers in one process are CPU-bound, so a busy machine needs the
  // wall-clock room, and requests a deadline longer than a loaded round: a request that timed out
  // counted as a failed contact (a backed-off probe, a suspicion), and the join took more than 8
  // rounds under load 15 (the killed peers' ports are closed, so they fail at once all the same).
  it(
    '30 peers joining through one bootstrap converge; 5 killed are marked down then evicted; 2 restarted rejoin from their store',
    { timeout: 240_000 },
    async () => {
      const net = await createFetchNet(30, { tuning: TUNING, seed: 30, requestTimeoutMs: 30_000 });
      const rounds = await net.stepUntil(() => converged(net), 8);
      expect(rounds).toBeGreaterThan(0);
      expect(net.live.every((p) => p.service.status().state === 'joined')).toBe(true);

      const killed = net.peers.slice(10, 15);
      for (const p of killed) await net.kill(p);
      const downEverywhere = () => killed.every((k) => stateOf(net, k).every((s) => s === 'down' || s === 'absent'));
      const downRounds = await net.stepUntil(downEverywhere, TUNING.downAfterRounds + SPREAD);
      expect(downRounds).toBeGreaterThan(0);
      // Nobody alive was taken for dead meanwhile.
      expect(converged(net)).toBe(true);

      const evictRounds = TUNING.evictAfterMs / 1_000;
      const gone = () => killed.every((k) => stateOf(net, k).every((s) => s === 'absent'));
      const evictedAfter = await net.stepUntil(gone, evictRounds + SPREAD);
      expect(evictedAfter).toBeGreaterThan(0);
      const log = (await (await fetch(`${net.peers[0]!.service.url}/membership-log?limit=1000`)).json()) as {
        events: { peerId: string; kind: string }[];
      };
      const kinds = new Set(log.events.filter((e) => e.peerId === idOf(killed[0]!)).map((e) => e.kind));
      expect([...kinds]).toEqual(expect.arrayContaining(['joined', 'down', 'evicted']));

      // Restarted from the same data directory, without join addresses: same id, re-admitted.
      const [r1, r2] = killed;
      const ids = [idOf(r1!), idOf(r2!)];
      await net.restart(r1!);
      await net.restart(r2!);
      expect([idOf(r1!), idOf(r2!)]).toEqual(ids);
      const rejoined = await net.stepUntil(() => converged(net), 8);
      expect(rejoined).toBeGreaterThan(0);
      expect(net.live).toHaveLength(27);
      console.log(
        `N=30 over HTTP: converged in ${rounds} rounds; 5 killed down everywhere in ${downRounds}, evicted ${evictedAfter} later; 2 restarted re-admitted in ${rejoined}`,
      );
    },
  );

  it('a peer that leaves cleanly is gone from every table at once', async () => {
    const net = await createFetchNet(8, { tuning: TUNING, seed: 8 });
    expect(await net.stepUntil(() => converged(net), 8)).toBeGreaterThan(0);
    const leaver = net.peers[3]!;
    leaver.running = false;
    await leaver.service.stop();
    expect(stateOf(net, leaver).every((s) => s === 'absent')).toBe(true);
    // And an old copy of its record, gossiped by anyone, does not bring it back.
    await net.step();
    await net.step();
    expect(stateOf(net, leaver).every((s) => s === 'absent')).toBe(true);
  });

  it("spreads each peer's shared files: sources for a file id, over the port and GET /sources", async () => {
    const net = await createFetchNet(4, { tuning: TUNING, seed: 4 });
    const fileId = 'cd'.repeat(32);
    net.peers[2]!.feed.add({ id: fileId, name: 'song.ogg', size: 1234 });
    expect(
      await net.stepUntil(() => net.peers.every((p, i) => i === 2 || p.service.sourcesFor(fileId).length === 1), 8),
    ).toBeGreaterThan(0);
    const answer = (await (await fetch(`${net.peers[0]!.service.url}/sources/${fileId}`)).json()) as {
      sources: { peerId: string; filesAddress: string }[];
    };
    expect(answer.sources).toEqual([
      expect.objectContaining({
        peerId: idOf(net.peers[2]!),
        filesAddress: `${net.peers[2]!.host}:7871`,
        name: 'song.ogg',
        size: 1234,
      }),
    ]);
    expect(
      net.peers[0]!.service.neighbourCandidates()
        .map((c) => c.searchAddress)
        .sort(),
    ).toEqual(
      net.peers
        .slice(1)
        .map((p) => `${p.host}:7872`)
        .sort(),
    );

    net.peers[2]!.feed.remove(fileId);
    expect(
      await net.stepUntil(() => net.peers.every((p) => p.service.sourcesFor(fileId).length === 0), 8),
    ).toBeGreaterThan(0);
  });
});
