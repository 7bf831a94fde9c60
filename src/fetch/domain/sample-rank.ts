/**
 * The order a full PeerTable samples by (peer-table.ts): each peer id ranked by a keyed hash under
 * a secret this peer draws at start, the table keeping the lowest ranks it has verified. A
 * min-wise sample, as Brahms' samplers keep theirs (Bortnikov et al., "Brahms: Byzantine Resilient
 * Random Membership Sampling", 2009): which peers it holds depends neither on the order they were
 * offered in nor on how often, so re-signing a record, or offering it again and again, buys a
 * peer no second draw; and without the secret no one can make an identity rank low here, so
 * forging identities by the thousand only adds identities to a uniform draw, each no likelier than
 * an honest peer. The secret never leaves the process (a new one each start: the sample settles
 * again, it is never restored).
 *
 * SHA-256 is ≈ 3 µs a rank on this machine; a table ranks a record only when it is full and the
 * record is of a peer it does not hold, and keeps the ranks of what it holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Random } from './random.ts';

/** A peer id's rank in this table's sample: lower is kept first. Never 0 (see EntrySlots.rank). */
export type Rank = (peerId: string) => number;

/** Bytes of the secret: 128 bits. */
const SECRET_BYTES = 16;

/** The rank under `secret`: the first 32 bits of SHA-256(secret ‖ peer id), 0 read as 1. */
export function keyedRank(secret: Uint8Array = randomBytes(SECRET_BYTES)): Rank {
  return (peerId) => createHash('sha256').update(secret).update(peerId).digest().readUInt32BE(0) || 1;
}

/** A secret drawn from a seeded generator: for simulations and tests that must replay exactly, never for a peer. */
export function seededSecret(random: Random): Uint8Array {
  return Uint8Array.from({ length: SECRET_BYTES }, () => Math.floor(random.next() * 256));
}
