/**
 * An in-memory network of Fetch cores for simulations and tests: every peer is a SyncRounds
 * driven by one fake clock and one seeded random source; messages are JSON round-tripped (as on
 * the wire) and delivered at once. A killed peer fails every request sent to it. Rounds are
 * synchronous steps, so results are counted in rounds and replay exactly for a seed.
 */
import type { FetchConfig } from '../../src/fetch/domain/config.ts';
import {
  memoizedVerifier,
  memorySigner,
  type RecordSigner,
  type SignatureVerifier,
} from '../../src/fetch/domain/keys.ts';
import { seededRandom, type Random } from '../../src/fetch/domain/random.ts';
import { keyedRank, seededSecret } from '../../src/fetch/domain/sample-rank.ts';
import type { WallClock } from '../../src/shared/clock.ts';
import { SyncRounds } from '../../src/fetch/domain/sync-rounds.ts';

export interface SimPeer {
  index: number;
  address: string;
  signer: RecordSigner;
  core: SyncRounds;
  dead: boolean;
}

/**
 * Addresses of simulated peer `i`: one 127.x address per peer, default ports, as test networks on
 * one machine have (each 127.x address counts as a host of its own for admission's rates).
 */
export function simAddresses(i: number): { files: string; search: string; fetch: string } {
  const ip = `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;
  return { files: `${ip}:7001`, search: `${ip}:7002`, fetch: `${ip}:7003` };
}

/** Where every simulated request comes from, as on one machine's loopback. */
const LOOPBACK = '127.0.0.1';

export class MemoryNetwork {
  readonly clock: WallClock & { t: number };
  readonly random: Random;
  readonly peers: SimPeer[] = [];
  private readonly byAddress = new Map<string, SimPeer>();
  /** Requests delivered, and requests that failed, since the start. */
  readonly traffic = { requests: 0, failures: 0, responseBytes: 0 };
  /** Each record's signature is checked once for the whole network, not once per peer. */
  private readonly verifier: SignatureVerifier = memoizedVerifier();

  constructor(
    readonly config: Partial<FetchConfig>,
    seed = 1,
  ) {
    const clock = { t: 1_700_000_000_000, epochMs: () => clock.t };
    this.clock = clock;
    this.random = seededRandom(seed);
  }

  /** Start peer `index` (a new key unless `signer` is given) that joins through `join`. */
  add(index: number, join: readonly string[], signer: RecordSigner = memorySigner()): SimPeer {
    const addresses = simAddresses(index);
    const core = new SyncRounds({
      signer,
      addresses,
      clock: this.clock,
      random: this.random,
      join,
      config: this.config,
      verifier: this.verifier,
      sampleRank: keyedRank(seededSecret(this.random)),
    });
    const peer: SimPeer = { index, address: addresses.fetch, signer, core, dead: false };
    this.peers.push(peer);
    this.byAddress.set(peer.address, peer);
    return peer;
  }

  kill(peer: SimPeer): void {
    peer.dead = true;
    this.byAddress.delete(peer.address);
  }

  get live(): SimPeer[] {
    return this.peers.filter((p) => !p.dead);
  }

  /** One round: every live peer plans and makes its requests; then the clock moves one interval. */
  round(): void {
    for (const peer of this.live) {
      for (const { target, request } of peer.core.startRound()) {
        const remote = this.byAddress.get(target.address);
        this.traffic.requests++;
        if (!remote) {
          this.traffic.failures++;
          peer.core.applyFailure(target);
          continue;
        }
        const body = JSON.stringify({
          from: remote.core.peerId,
          view: remote.core.answer(JSON.parse(JSON.stringify(request)), LOOPBACK),
        });
        this.traffic.responseBytes += body.length;
        try {
          peer.core.applyResponse(target, JSON.parse(body));
        } catch {
          this.traffic.failures++;
          peer.core.applyFailure(target);
        }
      }
    }
    this.clock.t += this.config.intervalMs ?? 3_000;
  }

  /** Run rounds until `done()` holds or `max` rounds pass; returns the rounds run, or -1. */
  runUntil(done: () => boolean, max: number): number {
    for (let rounds = 1; rounds <= max; rounds++) {
      this.round();
      if (done()) return rounds;
    }
    return -1;
  }
}
