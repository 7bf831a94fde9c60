/**
 * A cheap stand-in for sample-rank.ts's keyed SHA-256, for simulated peers only. A full table
 * keeps the peers of lowest rank (peer-table.ts); which ranks those are decides nothing but which
 * uniform draw each table holds, so a simulation needs ranks that are uniform and independent
 * from table to table, not ranks no one can predict. A rank here is two rounds of murmur3's
 * finalizer over a 32-bit fingerprint of the peer id, each keyed by a word drawn from the seed:
 * ≈ 5 ns where SHA-256 takes ≈ 3 µs, which makes a settled start (every peer ranking every other,
 * N² ranks) take seconds at 10,000 peers and minutes at 100,000, instead of 439 s and ≈ 12 hours.
 *
 * Never for a real peer: anyone can compute these ranks from the seed.
 */
import type { Rank } from '../fetch/domain/sample-rank.ts';
import { mix } from './search-sim.ts';

/** murmur3's finalizer: a bijection of 32-bit words in which every input bit moves every output bit. */
function fmix32(word: number): number {
  let h = word;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit fingerprint of a peer id (FNV-1a over its UTF-16 units, then mixed). */
export function idPrint(peerId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < peerId.length; i++) h = Math.imul(h ^ peerId.charCodeAt(i), 0x01000193);
  return fmix32(h >>> 0);
}

/** The two key words of simulated peer `index`'s table under `seed`. */
export interface SimRankKey {
  readonly a: number;
  readonly b: number;
}

export function simRankKey(seed: number, index: number): SimRankKey {
  return { a: mix(seed, index, 0x5a3e1), b: mix(seed, index, 0x7b1d3) };
}

/** The rank of the id whose fingerprint is `print` in the table keyed `key`: never 0, as Rank requires. */
export function rankOfPrint(key: SimRankKey, print: number): number {
  return fmix32((fmix32((print ^ key.a) >>> 0) ^ key.b) >>> 0) || 1;
}

/**
 * The Rank a simulated table samples by. `prints` holds the fingerprints of ids already seen (the
 * network's peers), shared by every table: a lookup instead of hashing the id's 60-odd characters.
 */
export function simRank(key: SimRankKey, prints: Map<string, number>): Rank {
  return (peerId) => {
    let print = prints.get(peerId);
    if (print === undefined) prints.set(peerId, (print = idPrint(peerId)));
    return rankOfPrint(key, print);
  };
}
