/**
 * The bounded peer table: every known peer's newest valid record and its liveness.
 *
 * Records: newest seq wins; an older seq is a replay and is counted and dropped; records about
 * this peer itself are never taken from others. A "left" record removes the peer at once and
 * stays as a tombstone (bounded in number and time) so an older record cannot resurrect it.
 *
 * Liveness counts rounds without evidence of life. Evidence is a successful contact, a request
 * from the peer, or another peer's report of when it last heard from it ("heard ages", which
 * spread like rumours, so a dead peer is noticed by all, not only by those that dial it):
 *   alive → suspected   after one failed contact, or suspectAfterRounds silent rounds
 *   suspected → down    after downAfterRounds silent rounds
 *   down → evicted      after evictAfterMs (then remembered, so a stale copy cannot re-add it)
 *   suspected/down → alive ("back") on evidence newer than the failure, or a fresher record.
 */
import type { FetchConfig } from './config.ts';
import type { MembershipLog } from './membership-log.ts';
import type { ViewDelta } from './messages.ts';
import type { PeerRecord } from './peer-record.ts';

export type PeerState = 'alive' | 'suspected' | 'down';

interface Entry {
  record: PeerRecord;
  state: PeerState;
  /** Freshest evidence of life, local clock. */
  lastHeardAt: number;
  /** lastHeardAt as it was at the previous tick, to tell whether this round brought evidence. */
  heardAtTick: number;
  silentRounds: number;
  /** Last failed direct contact; evidence must be newer than this to clear a suspicion. */
  failedAt: number;
  downSince: number;
  /** Table version when the record or the state last changed (drives view deltas). */
  version: number;
}

/** A peer as other parts of the service see it. */
export interface PeerView {
  peerId: string;
  state: PeerState;
  record: PeerRecord;
  lastHeardAt: number;
}

/** What a merge did, for logs and tests. */
export interface MergeReport {
  added: number;
  updated: number;
  left: number;
  unchanged: number;
  /** Older than what is known (replays), or older than a tombstone or an eviction. */
  stale: number;
  /** Records about this peer itself, which only this peer may issue. */
  self: number;
  /** Dropped because the table is full of live peers. */
  full: number;
}

export type LivenessConfig = Pick<
  FetchConfig,
  'suspectAfterRounds' | 'downAfterRounds' | 'evictAfterMs' | 'maxPeers' | 'maxTombstones' | 'tombstoneTtlMs' | 'maxForgotten' | 'forgetTtlMs'
>;

export class PeerTable {
  private readonly entries = new Map<string, Entry>();
  /** Insertion order is age order (updates re-insert), so pruning walks from the front. */
  private readonly tombstones = new Map<string, { record: PeerRecord; at: number; version: number }>();
  private readonly forgotten = new Map<string, { seq: number; at: number }>();
  private version = 0;
  private selfVersion: number;
  /** Totals since start: replays dropped, records refused for lack of room. */
  readonly counters = { stale: 0, full: 0, forSelf: 0 };
  /** Highest seq of our own id seen from others (a previous run's record); re-sign above it. */
  highestSelfSeqSeen = 0;

  constructor(
    private self: PeerRecord,
    private readonly config: LivenessConfig,
    private readonly log: MembershipLog,
    private readonly epoch: string,
    private readonly onRemoved: (peerId: string) => void = () => {},
  ) {
    this.selfVersion = ++this.version;
  }

  get selfRecord(): PeerRecord {
    return this.self;
  }

  /** Replace this peer's own record (new addresses, or a re-sign above a seq seen elsewhere). */
  setSelf(record: PeerRecord): void {
    if (record.peerId !== this.self.peerId || record.seq <= this.self.seq) throw new RangeError('own record must keep the id and raise the seq');
    this.self = record;
    this.selfVersion = ++this.version;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Grows whenever a record, a state or a tombstone changes: lets the store skip unchanged tables. */
  get changes(): number {
    return this.version;
  }

  /** The tombstones held ("left" records), oldest first. */
  tombstoneRecords(): PeerRecord[] {
    return [...this.tombstones.values()].map((t) => t.record);
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  get(peerId: string): PeerView | undefined {
    const entry = this.entries.get(peerId);
    return entry && view(entry);
  }

  /** Every known peer (self excluded), in no particular order. */
  list(): PeerView[] {
    return [...this.entries.values()].map(view);
  }

  /** The record held for `peerId` (live entry, tombstone or self): already verified. */
  readonly known = (peerId: string): PeerRecord | undefined =>
    this.entries.get(peerId)?.record ?? this.tombstones.get(peerId)?.record ?? (peerId === this.self.peerId ? this.self : undefined);

  tombstoneOf(peerId: string): PeerRecord | undefined {
    return this.tombstones.get(peerId)?.record;
  }

  /**
   * Merge records that already passed verifyRecord. `heardAt` gives, for new peers, when the
   * sender last heard from them; without it a new peer counts as heard `now`.
   */
  merge(records: readonly PeerRecord[], now: number, heardAt?: ReadonlyMap<string, number>): MergeReport {
    const report: MergeReport = { added: 0, updated: 0, left: 0, unchanged: 0, stale: 0, self: 0, full: 0 };
    for (const record of records) {
      const outcome = this.mergeOne(record, now, heardAt?.get(record.peerId) ?? now);
      report[outcome]++;
      if (outcome === 'stale') this.counters.stale++;
      if (outcome === 'full') this.counters.full++;
      if (outcome === 'self') this.counters.forSelf++;
    }
    return report;
  }

  private mergeOne(record: PeerRecord, now: number, heardAt: number): keyof MergeReport {
    const id = record.peerId;
    if (id === this.self.peerId) {
      this.highestSelfSeqSeen = Math.max(this.highestSelfSeqSeen, record.seq);
      return 'self';
    }
    const tomb = this.tombstones.get(id);
    if (tomb && record.seq <= tomb.record.seq) return tomb.record.seq === record.seq ? 'unchanged' : 'stale';
    const entry = this.entries.get(id);
    if (entry && record.seq === entry.record.seq) return 'unchanged';
    if (entry && record.seq < entry.record.seq) return 'stale';
    if (record.status === 'left') {
      if (entry) this.remove(id, 'left', now);
      this.tombstones.delete(id);
      this.tombstones.set(id, { record, at: now, version: ++this.version });
      while (this.tombstones.size > this.config.maxTombstones) this.tombstones.delete(firstKey(this.tombstones));
      return 'left';
    }
    if (tomb) this.tombstones.delete(id); // rejoined after leaving: a newer seq than the tombstone
    if (entry) {
      entry.record = record;
      entry.version = ++this.version;
      // A record newer than ours was signed after we last heard: the peer lives.
      this.evidence(entry, Math.max(now, entry.lastHeardAt), now, true);
      return 'updated';
    }
    const gone = this.forgotten.get(id);
    if (gone && record.seq <= gone.seq) return 'stale';
    if (this.entries.size >= this.config.maxPeers && !this.evictLongestDown(now)) return 'full';
    this.forgotten.delete(id);
    const at = Math.min(heardAt, now);
    this.entries.set(id, { record, state: 'alive', lastHeardAt: at, heardAtTick: at, silentRounds: 0, failedAt: -Infinity, downSince: 0, version: ++this.version });
    this.log.append(gone ? 'back' : 'joined', id, now);
    return 'added';
  }

  /** Evidence that `peerId` was alive at `at` (a contact now, or a heard age from a peer). */
  heard(peerId: string, at: number, now: number): void {
    const entry = this.entries.get(peerId);
    if (entry) this.evidence(entry, Math.min(at, now), now, false);
  }

  private evidence(entry: Entry, at: number, now: number, freshRecord: boolean): void {
    if (at > entry.lastHeardAt) entry.lastHeardAt = at;
    if (entry.state === 'alive') return;
    if (freshRecord || at > entry.failedAt) {
      if (at <= entry.heardAtTick && !freshRecord) return; // nothing newer than when it fell silent
      entry.state = 'alive';
      entry.silentRounds = 0;
      entry.failedAt = -Infinity;
      entry.version = ++this.version; // down peers are left out of views; it must be sent again
      this.log.append('back', entry.record.peerId, now);
    }
  }

  /** A direct contact with `peerId` failed (timeout, refused, bad answer). */
  contactFailed(peerId: string, now: number): void {
    const entry = this.entries.get(peerId);
    if (!entry) return;
    entry.failedAt = now;
    if (entry.state === 'alive') this.setState(entry, 'suspected', now);
  }

  /** End of a round: count silent rounds, move peers along the liveness states, prune memories. */
  tick(now: number): void {
    for (const entry of [...this.entries.values()]) {
      if (entry.lastHeardAt > entry.heardAtTick) entry.silentRounds = 0;
      else entry.silentRounds++;
      entry.heardAtTick = entry.lastHeardAt;
      if (entry.state === 'alive' && entry.silentRounds >= this.config.suspectAfterRounds) this.setState(entry, 'suspected', now);
      if (entry.state === 'suspected' && entry.silentRounds >= this.config.downAfterRounds) this.setState(entry, 'down', now);
      if (entry.state === 'down' && now - entry.downSince >= this.config.evictAfterMs) this.remove(entry.record.peerId, 'evicted', now);
    }
    pruneOlderThan(this.tombstones, now - this.config.tombstoneTtlMs);
    pruneOlderThan(this.forgotten, now - this.config.forgetTtlMs);
  }

  private setState(entry: Entry, state: 'suspected' | 'down', now: number): void {
    entry.state = state;
    if (state === 'down') entry.downSince = now;
    this.log.append(state, entry.record.peerId, now);
  }

  private evictLongestDown(now: number): boolean {
    let oldest: Entry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.state === 'down' && (!oldest || entry.downSince < oldest.downSince)) oldest = entry;
    }
    if (oldest) this.remove(oldest.record.peerId, 'evicted', now);
    return oldest !== undefined;
  }

  private remove(peerId: string, kind: 'left' | 'evicted', now: number): void {
    const entry = this.entries.get(peerId);
    if (!entry) return;
    this.entries.delete(peerId);
    this.version++; // no record to send, but the stored set of records changed
    if (kind === 'evicted') {
      this.forgotten.delete(peerId);
      this.forgotten.set(peerId, { seq: entry.record.seq, at: now });
      while (this.forgotten.size > this.config.maxForgotten) this.forgotten.delete(firstKey(this.forgotten));
    }
    this.log.append(kind, peerId, now);
    this.onRemoved(peerId);
  }

  /**
   * What changed since `cursor` (all of it for an unknown cursor, less what `has` says the asker
   * holds), with heard ages of live peers.
   */
  viewSince(cursor: string | undefined, now: number, has: (record: PeerRecord) => boolean = () => false): ViewDelta {
    const since = this.parseCursor(cursor);
    const wanted = (record: PeerRecord, version: number) => version > since && (since > 0 || !has(record));
    const records: PeerRecord[] = [];
    const heard: [string, number][] = [[this.self.peerId, 0]];
    if (wanted(this.self, this.selfVersion)) records.push(this.self);
    for (const entry of this.entries.values()) {
      if (entry.state === 'down') continue; // not vouched for: a newcomer should not learn a corpse
      if (wanted(entry.record, entry.version)) records.push(entry.record);
      heard.push([entry.record.peerId, Math.max(0, now - entry.lastHeardAt)]);
    }
    for (const tomb of this.tombstones.values()) if (wanted(tomb.record, tomb.version)) records.push(tomb.record);
    return { cursor: `${this.epoch}:${this.version}`, records, heard };
  }

  private parseCursor(cursor: string | undefined): number {
    const [epoch, version] = (cursor ?? '').split(':');
    const n = Number(version);
    // Another epoch means this table restarted since the cursor was issued: send everything.
    return epoch === this.epoch && Number.isSafeInteger(n) && n >= 0 && n <= this.version ? n : 0;
  }
}

function view(entry: Entry): PeerView {
  return { peerId: entry.record.peerId, state: entry.state, record: entry.record, lastHeardAt: entry.lastHeardAt };
}

function firstKey<K>(map: Map<K, unknown>): K {
  return map.keys().next().value as K;
}

function pruneOlderThan(map: Map<string, { at: number }>, cutoff: number): void {
  for (const [key, value] of map) {
    if (value.at > cutoff) break;
    map.delete(key);
  }
}
