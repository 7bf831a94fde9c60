/**
 * The per-peer state of a PeerTable, stored column-wise: one typed array per field, indexed by a
 * slot number, instead of one object per peer. A table of 10,000 peers held by each of 10,000
 * simulated peers is 10⁸ entries; an object per entry (a header, eleven fields, a box for each of
 * its four timestamps) cost ≈ 180 bytes, the columns below ≈ 44, plus the record reference. The
 * fields that matter only while a peer is suspected or down (when the suspicion began, when the
 * last contact failed, since when it is down, the table version of that change) live in a small
 * side record of the few such peers (`Trouble`), not in every entry.
 */
import { widened } from './columns.ts';
import type { PeerRecord } from './peer-record.ts';

/** Entry states, as stored (a byte each). */
export const ALIVE = 0;
export const SUSPECTED = 1;
export const DOWN = 2;
export const STATE_NAMES = ['alive', 'suspected', 'down'] as const;

/** What a suspected or down entry holds besides the columns. */
export class Trouble {
  /** Rounds since the suspicion began (the earliest start heard of). */
  suspectRounds = 0;
  /** Table version when the state last became suspected or down (drives suspicion rumours). */
  stateVersion = 0;
  /** When down: since when. */
  downSince = 0;
  constructor(
    /** Last failed direct contact; evidence must be newer than this to clear the suspicion. */
    public failedAt: number,
  ) {}
}

const INITIAL_CAPACITY = 16;

export class EntrySlots {
  records: (PeerRecord | undefined)[] = [];
  /** Index in addressSets(record) of the set this peer is dialled at. */
  at = new Uint16Array(INITIAL_CAPACITY);
  state = new Uint8Array(INITIAL_CAPACITY);
  /** Freshest evidence of life, local clock. */
  lastHeardAt = new Float64Array(INITIAL_CAPACITY);
  /** lastHeardAt as it was at the previous tick, to tell whether this round brought evidence. */
  heardAtTick = new Float64Array(INITIAL_CAPACITY);
  /** Rounds since the last direct evidence (2³² rounds of 3 s are four centuries). */
  silentRounds = new Uint32Array(INITIAL_CAPACITY);
  /** Table version when the record last had to be sent (drives view deltas of records). */
  version = new Float64Array(INITIAL_CAPACITY);
  /** The peer's rank in a full table's sample (sample-rank.ts); 0 until the table first needs it. */
  rank = new Uint32Array(INITIAL_CAPACITY);
  /** Suspected and down entries' other fields, by slot. */
  readonly trouble = new Map<number, Trouble>();
  private readonly free: number[] = [];
  private used = 0;

  /** A slot for a new alive entry. */
  take(record: PeerRecord, now: number, version: number): number {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.state.length) this.grow();
    this.records[slot] = record;
    this.at[slot] = 0;
    this.state[slot] = ALIVE;
    this.lastHeardAt[slot] = now;
    this.heardAtTick[slot] = now;
    this.silentRounds[slot] = 0;
    this.version[slot] = version;
    this.rank[slot] = 0;
    return slot;
  }

  release(slot: number): void {
    this.records[slot] = undefined;
    this.trouble.delete(slot);
    this.free.push(slot);
  }

  record(slot: number): PeerRecord {
    return this.records[slot] as PeerRecord;
  }

  private grow(): void {
    const capacity = Math.ceil(this.state.length * 1.5);
    this.at = widened(this.at, capacity);
    this.state = widened(this.state, capacity);
    this.lastHeardAt = widened(this.lastHeardAt, capacity);
    this.heardAtTick = widened(this.heardAtTick, capacity);
    this.silentRounds = widened(this.silentRounds, capacity);
    this.version = widened(this.version, capacity);
    this.rank = widened(this.rank, capacity);
  }
}
