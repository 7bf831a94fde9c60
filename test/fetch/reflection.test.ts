/**
 * Reflection (issue 13, part 2): an attacker signs records for 20 fresh identities that all name a
 * bystander's address (a port where a plain TCP listener, no peer, counts what it accepts), and
 * announces each, over TLS with that identity's own key, to every peer of a small network, again
 * and again. Over what would be 10 minutes of rounds at the default interval (200 rounds of 3 s,
 * counted on the fake clock), the whole network may connect to the bystander at most 20 times:
 * only the peers that received the records probe the address, each a few times with backoff.
 * The same when each record lists the bystander after an address nobody answers at: probes go on
 * to it, but its backoff is per address, shared by every record naming it, wherever it names it.
 */
import { describe, expect, it } from 'vitest';
import { converged, createFetchNet } from '../support/fetch-net.ts';
import { addressesAt, startBystander, sybils } from '../support/hostile-fetch-peer.ts';
import { nextLoopback } from '../support/loopback.ts';

const INTERVAL_MS = 3_000;
const ROUNDS = (10 * 60_000) / INTERVAL_MS;
/** The attacker sends all 20 records again to every peer this often (once a minute). */
const RESEND_EVERY = 20;

describe('reflection onto a bystander', () => {
  it.each([
    ['naming a bystander', false],
    ['naming a bystander second, after an address nobody answers at (several address sets)', true],
  ])(
    '20 records %s cause at most 20 connections to it across the network in 200 rounds',
    async (_name, second) => {
      const net = await createFetchNet(3, { tuning: { intervalMs: INTERVAL_MS } });
      expect(await net.stepUntil(() => converged(net), 8)).toBeGreaterThan(0);
      const bystander = await startBystander(nextLoopback(), 8080);
      // A record's first set may name a host where nothing listens, so that probes go on to the bystander.
      const nobody = addressesAt(nextLoopback());
      const fakes = second
        ? await sybils(20, nobody, net.clock.epochMs(), [addressesAt('', bystander.address)])
        : await sybils(20, addressesAt('', bystander.address), net.clock.epochMs());

      let refusedAnnounces = 0;
      let roundsWithFakeMembers = 0;
      for (let round = 0; round < ROUNDS; round++) {
        if (round % RESEND_EVERY === 0) {
          for (const peer of net.live) {
            for (const fake of fakes) if ((await fake.announce(peer.fetchAddress)).status !== 200) refusedAnnounces++;
          }
        }
        await net.step();
        for (const peer of net.live)
          if (peer.service.peers().some((p) => p.advertised.some((set) => set.fetch === bystander.address)))
            roundsWithFakeMembers++;
      }
      console.log(
        `reflection (${second ? 'second of two sets' : 'alone'}): ${bystander.connections} connections to the bystander in ${ROUNDS} rounds; refused announces ${refusedAnnounces}`,
      );
      expect(bystander.connections).toBeGreaterThan(0); // the address was tried: the count is real
      expect(bystander.connections).toBeLessThanOrEqual(20);
      expect(roundsWithFakeMembers).toBe(0); // the fakes never became members anywhere
      const counters = net.live.map((p) => p.service.status().admission);
      console.log(`admission counters: ${JSON.stringify(counters)}`);
      expect(counters.every((c) => c.verificationsFailed > 0 && c.droppedAfterFailures > 0)).toBe(true);
      // The honest network is whole.
      expect(converged(net)).toBe(true);
    },
    120_000,
  );
});
