import { describe, expect, it } from 'vitest';
import { MemoryNetwork, type SimPeer } from '../support/fetch-memory-network.ts';

const CONFIG = { intervalMs: 1_000, fanout: 3, suspectAfterRounds: 5, downAfterRounds: 10, evictAfterMs: 10_000 };
const EVICT_ROUNDS = CONFIG.evictAfterMs / CONFIG.intervalMs;
/**
 * Rounds allowed on top of the configured bounds for gossip to settle: the last evidence of a dead
 * peer's life takes a few rounds (≈ log N) to reach everyone, and silence is counted from it.
 */
const SPREAD = 6;

function liveKnown(peer: SimPeer): number {
  return peer.core.table.list().filter((p) => p.state === 'alive').length;
}

function everyoneKnowsAll(net: MemoryNetwork): boolean {
  const n = net.live.length;
  return net.live.every((p) => liveKnown(p) === n - 1);
}

function joinThroughBootstrap(n: number, seed: number): MemoryNetwork {
  const net = new MemoryNetwork(CONFIG, seed);
  const bootstrap = net.add(0, []);
  for (let i = 1; i < n; i++) net.add(i, [bootstrap.address]);
  return net;
}

describe('membership simulation (in memory, counted in rounds)', () => {
  it.each([
    [30, 8],
    [100, 10],
  ])('%i peers joining through one bootstrap all know each other within %i rounds', (n, bound) => {
    const net = joinThroughBootstrap(n, n);
    const rounds = net.runUntil(() => everyoneKnowsAll(net), bound);
    console.log(
      `N=${n}: full knowledge after ${rounds} rounds; ${net.traffic.requests} requests, ${Math.round(net.traffic.responseBytes / 1024)} KiB answered`,
    );
    expect(rounds).toBeGreaterThan(0);
    expect(rounds).toBeLessThanOrEqual(bound);
  });

  // Through one bootstrap, knowledge converges in two rounds; this shows the gossip itself does it.
  it('50 peers each joining through a random earlier peer (no shared bootstrap) converge within 8 rounds', () => {
    const net = new MemoryNetwork(CONFIG, 11);
    net.add(0, []);
    for (let i = 1; i < 50; i++) net.add(i, [net.peers[Math.floor(net.random.next() * i)]!.address]);
    const rounds = net.runUntil(() => everyoneKnowsAll(net), 8);
    console.log(`N=50, random join points: full knowledge after ${rounds} rounds`);
    expect(rounds).toBeGreaterThan(0);
  });

  it('marks 5 killed peers down and evicts them within the configured bounds, then re-admits 2 that restart', () => {
    const net = joinThroughBootstrap(30, 7);
    expect(net.runUntil(() => everyoneKnowsAll(net), 10)).toBeGreaterThan(0);
    const killed = net.peers.slice(10, 15);
    const killedIds = new Set(killed.map((p) => p.core.peerId));
    killed.forEach((p) => net.kill(p));

    const downBy = (p: SimPeer) =>
      p.core.table.list().filter((q) => killedIds.has(q.peerId) && q.state === 'down').length;
    const downRounds = net.runUntil(() => net.live.every((p) => downBy(p) === 5), CONFIG.downAfterRounds + SPREAD);
    expect(downRounds).toBeGreaterThan(0);
    // Live peers stay alive meanwhile: nobody was wrongly marked down.
    for (const p of net.live) expect(p.core.table.list().filter((q) => q.state === 'down').length).toBe(5);

    const gone = () => net.live.every((p) => killed.every((k) => !p.core.table.has(k.core.peerId)));
    const evictRounds = net.runUntil(gone, EVICT_ROUNDS + 1);
    expect(evictRounds).toBeGreaterThan(0);
    const kinds = net.live[0]!.core.log.since()
      .filter((e) => killedIds.has(e.peerId))
      .map((e) => e.kind);
    expect(kinds.filter((k) => k === 'evicted')).toHaveLength(5);

    // Two come back with the same key (a restart): a newer record re-admits them as "back".
    const restarted = killed.slice(0, 2).map((k) => net.add(k.index, [net.peers[0]!.address], k.signer));
    const backRounds = net.runUntil(() => everyoneKnowsAll(net), 10);
    expect(backRounds).toBeGreaterThan(0);
    const back = net.live[1]!.core.log.since()
      .filter((e) => e.kind === 'back')
      .map((e) => e.peerId);
    expect(new Set(back)).toEqual(new Set(restarted.map((p) => p.core.peerId)));
    console.log(
      `kill 5 of 30: all down after ${downRounds} rounds, evicted ${evictRounds} rounds later; 2 restarted known to all after ${backRounds} rounds`,
    );
  });

  it('removes a peer that leaves cleanly at once, everywhere, and an old record does not bring it back', () => {
    const net = joinThroughBootstrap(30, 3);
    expect(net.runUntil(() => everyoneKnowsAll(net), 10)).toBeGreaterThan(0);
    const leaver = net.peers[5]!;
    const oldRecord = leaver.core.table.selfRecord;
    const tombstone = leaver.core.leave();
    net.kill(leaver);
    // It tells its fanout; gossip carries the tombstone from there.
    for (const p of net.live.slice(0, 3)) p.core.table.merge([tombstone], net.clock.epochMs());
    const rounds = net.runUntil(() => net.live.every((p) => !p.core.table.has(leaver.core.peerId)), SPREAD + 4);
    expect(rounds).toBeGreaterThan(0);
    for (const p of net.live) {
      expect(p.core.table.merge([oldRecord], net.clock.epochMs()).stale).toBe(1);
      expect(p.core.table.has(leaver.core.peerId)).toBe(false);
    }
  });
});
