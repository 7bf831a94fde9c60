/**
 * Files news over real HTTP on loopback (issue 17): a peer that shares a file re-signs its record
 * with a higher filesVersion; that record spreads by gossip, and each peer that takes it asks the
 * sharer itself (only the sharer answers for what it holds). Counted in rounds.
 */
import { describe, expect, it } from 'vitest';
import type { FetchTransport } from '../../src/fetch/ports.ts';
import { converged, createFetchNet, type NetPeer } from '../support/fetch-net.ts';

const TUNING = { fanout: 1, suspectAfterRounds: 3, downAfterRounds: 5 };
const PEERS = 12;
/**
 * Rounds allowed for the new file to be listed by all: the simulator (the same code, 12 peers,
 * fanout 1, 200 seeds) took 2 to 5 with files news, and 12 to over 60 without (random asks alone).
 */
const WITHIN = 8;

interface Sync {
  round: number;
  asker: number;
  to: string | undefined;
  /** The filesVersion of `sharer`'s record in the answer's records, if it carried one. */
  heard?: number;
}

describe('files news over HTTP', () => {
  it(
    `a file shared on one of ${PEERS} peers at fanout 1 is listed by all within ${WITHIN} rounds; a peer that hears the sharer's new record from a third peer has asked the sharer by the next round`,
    { timeout: 120_000 },
    async () => {
      const syncs: Sync[] = [];
      const clock = { round: 0 };
      let sharerId = '';
      const logging = (inner: FetchTransport, asker: number): FetchTransport => ({
        sync: async (address, peerId, request, signal) => {
          const entry: Sync = { round: clock.round, asker, to: peerId };
          syncs.push(entry);
          const answer = await inner.sync(address, peerId, request, signal);
          const records = (answer.body as { view?: { records?: Array<{ peerId: string; filesVersion?: number }> } })
            .view?.records;
          const sharer = records?.find((r) => r.peerId === sharerId && r.filesVersion !== undefined);
          if (sharer) entry.heard = sharer.filesVersion;
          return answer;
        },
        announceLeave: (address, peerId, tombstone, signal) => inner.announceLeave(address, peerId, tombstone, signal),
        askDialBack: (address, peerId, port, signal) => inner.askDialBack(address, peerId, port, signal),
        reach: (address, peerId, signal) => inner.reach(address, peerId, signal),
        close: () => inner.close(),
      });
      const net = await createFetchNet(PEERS, { tuning: TUNING, seed: 17, wrapTransport: logging });
      const step = async () => {
        clock.round++;
        await net.step();
      };
      for (let r = 0; r < 40 && !converged(net); r++) await step();
      expect(converged(net)).toBe(true);

      const sharer = net.peers[5] as NetPeer;
      sharerId = sharer.service.status().peerId;
      const fileId = 'ef'.repeat(32);
      sharer.feed.add({ id: fileId, name: 'news.bin', size: 17 });
      const sharedAt = clock.round;
      const others = net.peers.filter((p) => p !== sharer);
      const listedBy = () => others.filter((p) => p.service.sourcesFor(fileId).length === 1).length;
      let rounds = 0;
      while (listedBy() < others.length && rounds < WITHIN) {
        await step();
        rounds++;
      }
      expect(listedBy()).toBe(others.length);

      // Each peer that first heard the new record in a third peer's answer asked the sharer by the next round.
      const after = syncs.filter((s) => s.round > sharedAt);
      let fromThird = 0;
      for (const peer of others) {
        const first = after.find((s) => s.asker === peer.i && s.heard !== undefined);
        if (!first || first.to === sharerId) continue;
        fromThird++;
        const asked = after.filter((s) => s.asker === peer.i && s.to === sharerId).map((s) => s.round);
        expect(
          asked.some((r) => r <= first.round + 1),
          `peer ${peer.i}`,
        ).toBe(true);
      }
      expect(fromThird).toBeGreaterThan(0);
      // The allowance bounds the cost: at most fanout + filesNewsPerRound (2) + one down probe a round.
      for (let r = sharedAt + 1; r <= clock.round; r++)
        for (const peer of others)
          expect(after.filter((s) => s.round === r && s.asker === peer.i).length).toBeLessThanOrEqual(4);
      console.log(
        `N=${PEERS} fanout 1 over HTTP: new file listed by all ${rounds} rounds after sharing; ${fromThird} peers heard of it from a third peer first`,
      );
    },
  );
});
