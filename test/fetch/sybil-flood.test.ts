/**
 * Sybil flood (issue 13, part 1): an attacker with one address generates 2,000 identities (an
 * Ed25519 key, a certificate and a validly signed record each, all naming the attacker's address,
 * where nothing answers) and announces every one over TLS with its own certificate to one honest
 * peer of a small network, a few hundred per round. The victim's table and its unverified records
 * stay within their caps; none of the fakes is ever gossiped on to the other honest peers; a file
 * shared afterwards reaches the others in as few rounds as on the clean network; the victim's
 * status counts the refusals. And the same flood through gossip: a verified attacker whose every
 * answer carries 1,000 fakes (each naming a host of its own) fills only the bounded unverified
 * store, and a newcomer is still verified by everyone within a few rounds. Real Fetch services
 * over real TLS (in this process, as test/support/fetch-net.ts runs them); rounds counted, not time.
 */
import { describe, expect, it } from 'vitest';
import { converged, createFetchNet, type FetchNet } from '../support/fetch-net.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { addressesAt, inBatches, recordOf, startHostileFetch, sybils } from '../support/hostile-fetch-peer.ts';
import { nextLoopback } from '../support/loopback.ts';

const IDENTITIES = 2_000;
const PER_ROUND = 250;
const TUNING = { intervalMs: 3_000, maxUnverified: 100, maxPeers: 50 };

/** Rounds until every peer but the sharer lists `fileId` among its sources. */
async function roundsToSpread(net: FetchNet, sharer: number, fileId: string): Promise<number> {
  net.peers[sharer]!.feed.add({ id: fileId, name: `${fileId.slice(0, 4)}.bin`, size: 1 });
  return net.stepUntil(() => net.peers.every((p, i) => i === sharer || p.service.sourcesFor(fileId).length === 1), 20);
}

describe('Sybil flood of Fetch', () => {
  it('2,000 identities announced to one peer stay out of every table, are never gossiped, and do not slow a new share', async () => {
    const net = await createFetchNet(4, { tuning: TUNING, seed: 13 });
    expect(await net.stepUntil(() => converged(net), 8)).toBeGreaterThan(0);
    const clean = await roundsToSpread(net, 1, 'a1'.repeat(32));
    expect(clean).toBeGreaterThan(0);

    const victim = net.peers[0]!;
    const honestIds = new Set(net.peers.map((p) => p.service.status().peerId));
    const fakes = await sybils(IDENTITIES, addressesAt(nextLoopback()), net.clock.epochMs());
    const fakeIds = new Set(fakes.map((f) => f.record.peerId));
    let fakesListed = 0;
    let largestTable = 0;
    const statuses: ReturnType<typeof victim.service.status>[] = [];
    for (let i = 0; i < fakes.length; i += PER_ROUND) {
      const answers = await inBatches(fakes.slice(i, i + PER_ROUND), 25, (f) => f.announce(victim.fetchAddress));
      expect(answers.every((a) => a.status === 200)).toBe(true); // answered (a newcomer needs the view), not admitted
      await net.step();
      for (const peer of net.peers) fakesListed += peer.service.peers().filter((p) => fakeIds.has(p.peerId)).length;
      largestTable = Math.max(largestTable, victim.service.peers().length);
      statuses.push(victim.service.status());
    }
    const flooded = await roundsToSpread(net, 2, 'b2'.repeat(32));
    console.log(
      `sybil flood: a share spread in ${clean} rounds clean, ${flooded} after ${IDENTITIES} identities; fakes listed ${fakesListed}`,
    );

    expect(fakesListed).toBe(0); // in no table, the victim's included, at any round: so never gossiped either
    expect(net.peers.every((p) => p.service.peers().every((q) => honestIds.has(q.peerId)))).toBe(true);
    expect(largestTable).toBeLessThanOrEqual(TUNING.maxPeers);
    const status = victim.service.status();
    console.log(`victim admission counters: ${JSON.stringify(status.admission)}`);
    expect(Math.max(...statuses.map((s) => s.admission.unverified))).toBeLessThanOrEqual(TUNING.maxUnverified);
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThanOrEqual(Math.max(2 * clean, clean + 2));
    // The refusals show: the few new identities let in by the rate of one address are probed,
    // the probe fails, and the address, backed off, refuses the rest.
    expect(status.admission.refusedNew + status.admission.refusedBackoff).toBeGreaterThanOrEqual(
      IDENTITIES - TUNING.maxUnverified,
    );
    expect(status.admission.verificationsFailed).toBeGreaterThan(0);
    // An operator sees the same counters in the Fetch service's /health.
    const health = (await (await fetch(`${victim.service.url}/health`)).json()) as { admission: unknown };
    expect(health.admission).toEqual(status.admission);
    expect(converged(net)).toBe(true);
  }, 180_000);

  it('1,000 fakes in every answer of a verified attacker stay unverified and bounded; a newcomer is still verified by all', async () => {
    const net = await createFetchNet(4, { tuning: TUNING, seed: 14 });
    expect(await net.stepUntil(() => converged(net), 8)).toBeGreaterThan(0);
    const attacker = await startHostileFetch(nextLoopback(), net.clock.epochMs());
    for (const peer of net.peers) expect((await attacker.announce(peer.fetchAddress)).status).toBe(200);
    // Each fake names a host of its own (nothing listens there): the probe budget, not one host's backoff, is what bounds them.
    attacker.gossip = Array.from({ length: 1_000 }, () =>
      recordOf(memorySigner(), addressesAt(nextLoopback()), net.clock.epochMs()),
    );
    const fakeIds = new Set(attacker.gossip.map((r) => r.peerId));
    let fakesListed = 0;
    const statuses: ReturnType<FetchNet['peers'][number]['service']['status']>[] = [];
    const watch = () => {
      for (const peer of net.live) {
        fakesListed += peer.service.peers().filter((p) => fakeIds.has(p.peerId)).length;
        statuses.push(peer.service.status());
      }
    };
    for (let round = 0; round < 5; round++) {
      await net.step();
      watch();
    }
    const newcomer = await net.add([net.peers[1]!.fetchAddress]);
    const joined = await net.stepUntil(() => (watch(), converged(net)), 10);
    console.log(
      `gossip flood: attacker answered ${attacker.answered} syncs; fakes listed ${fakesListed}; newcomer known to all in ${joined} rounds`,
    );
    expect(attacker.answered).toBeGreaterThan(0); // the honest peers did take its answers
    expect(fakesListed).toBe(0);
    expect(joined).toBeGreaterThan(0);
    const largestUnverified = Math.max(...statuses.map((s) => s.admission.unverified));
    console.log(
      `largest unverified ${largestUnverified}; newcomer's admission ${JSON.stringify(newcomer.service.status().admission)}`,
    );
    expect(largestUnverified).toBeLessThanOrEqual(TUNING.maxUnverified);
  }, 180_000);
});
