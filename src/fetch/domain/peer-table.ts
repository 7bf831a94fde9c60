/**
 * The table of known peers and their liveness, SWIM-style: no peer reports when it last heard
 * from every other (that made every answer grow with N); only changes travel. Evidence of life is
 * direct: a successful contact, or a request from the peer. Suspicion travels as a rumour
 * ([peerId, seq, rounds suspected]) in view deltas, once per change, like a record does:
 *   alive → suspected   after a failed direct contact, or a rumour about its current record
 *                       that is older than our own last direct evidence of it
 *   suspected → down    downAfterRounds after the suspicion began (its age travels with it, so
 *                       the network agrees on when, whoever heard it late)
 *   down → evicted      after evictAfterMs (then remembered, so a stale copy cannot re-add it)
 *   suspected/down → alive ("back") on direct evidence newer than the failure, or a fresher
 *                       record: a suspected peer that hears the rumour refutes it by re-signing
 *                       its record with a higher seq, which clears it everywhere the record goes.
 * Silence alone suspects nobody: with random fanout a peer may not hear from another for many
 * rounds. silentRounds only picks whom to probe (sync-rounds.ts).
 *
 * The table holds at most maxPeers. Full of live peers, it becomes a uniform random sample of the
 * verified peers offered to it, a min-wise one (sample-rank.ts, as Brahms keeps its samplers): it
 * keeps the peers of lowest rank under a secret keyed hash, so a newcomer enters only if it ranks
 * below the highest-ranked entry, which it displaces. The draw is made before any probe:
 * Admission is offered only records that would enter (wouldTake), so a peer in a network much
 * larger than its cap probes about maxPeers × ln(N / maxPeers) peers in all, not every peer it
 * hears of, and remembers no refusals (a refused record ranks as high the next time it comes). A
 * flood of new identities cannot replace the table; it can only be sampled into it, each
 * identity one draw however often it is offered or re-signed. The entries are stored column-wise
 * (entry-slots.ts): a table of 10,000 held by each of 10,000 simulated peers is 10⁸ entries.
 *
 * A peer whose record lists several address sets is dialled at one of them, the one *in use*: the
 * set whose fetch address proved its key (useAddress), kept across newer records that still list
 * it; the first set for a record that came without a contact (a restored one). A failed contact
 * moves it to the next set in the record's order, so a peer whose address in use stopped answering
 * is tried at its others, one per contact, as its own signed claims (as its files and search
 * addresses are): the contacts a table makes with one peer are few per round whatever it lists.
 */
import type { FetchConfig } from './config.ts';
import type { MembershipLog } from './membership-log.ts';
import type { ViewDelta } from './messages.ts';
import type { ServiceAddresses } from './addresses.ts';
import { addressSets, type PeerRecord } from './peer-record.ts';
import { keyedRank, type Rank } from './sample-rank.ts';
import { ALIVE, DOWN, EntrySlots, STATE_NAMES, SUSPECTED, Trouble } from './entry-slots.ts';

export type PeerState = 'alive' | 'suspected' | 'down';

/** A peer as other parts of the service see it. */
export interface PeerView {
  peerId: string;
  state: PeerState;
  record: PeerRecord;
  /** The address set to dial it at (the one in use: see the header). */
  addresses: ServiceAddresses;
  lastHeardAt: number;
  silentRounds: number;
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
  /** Not taken into the table yet: waiting, unverified, for this peer's own probe (admission.ts). */
  unverified: number;
  /** Taken as firewalled from the answer's marked list (never dialled; admission.ts). */
  firewalled: number;
}

export type LivenessConfig = Pick<
  FetchConfig,
  | 'downAfterRounds'
  | 'evictAfterMs'
  | 'maxPeers'
  | 'maxTombstones'
  | 'tombstoneTtlMs'
  | 'maxForgotten'
  | 'forgetTtlMs'
  | 'intervalMs'
>;

/** A peer evicted: the seq of the record it had, and when (for forgetTtlMs). */
interface Remembered {
  seq: number;
  at: number;
}

/** A bounded view gives 1 / NEWEST_SHARE of its records to the newest changes (see viewSince). */
const NEWEST_SHARE = 4;

/** Intervals by which a record's issuedAt may precede the failure it refutes (signer and local clocks differ). */
export const REVIVAL_SKEW_INTERVALS = 2;

export class PeerTable {
  /** Peer id → slot in `slots` (entry-slots.ts). Insertion order is the order peers are listed in. */
  private readonly entries = new Map<string, number>();
  private readonly slots = new EntrySlots();
  /** Insertion order is age order (updates re-insert), so pruning walks from the front. */
  private readonly tombstones = new Map<string, { record: PeerRecord; at: number; version: number }>();
  /**
   * Peers evicted for being down too long, at most maxForgotten, each with the seq of the record
   * they had (see keptOut). A peer sampled out is not remembered: its rank keeps it out.
   */
  private readonly evicted = new Map<string, Remembered>();
  /** The entry of highest rank while the table is full (the one a better newcomer displaces); undefined: not known. */
  private worst: { slot: number; rank: number } | undefined;
  /** Entries taken or removed since start (see sampleVersion). */
  private sampleChanges = 0;
  private version = 0;
  private selfVersion: number;
  /** Totals since start: replays dropped, records refused for lack of room, entries displaced by the sample. */
  readonly counters = { stale: 0, full: 0, forSelf: 0, sampledOut: 0 };
  /** Highest seq of our own id seen from others (a previous run's record); re-sign above it. */
  highestSelfSeqSeen = 0;

  constructor(
    private self: PeerRecord,
    private readonly config: LivenessConfig,
    private readonly log: MembershipLog,
    private readonly epoch: string,
    private readonly onRemoved: (peerId: string) => void = () => {},
    /** The sample's order (sample-rank.ts): a fresh secret unless a simulation or test needs it replayed. */
    private readonly rank: Rank = keyedRank(),
  ) {
    this.selfVersion = ++this.version;
  }

  get selfRecord(): PeerRecord {
    return this.self;
  }

  /** Replace this peer's own record (new addresses, or a re-sign above a seq seen elsewhere). */
  setSelf(record: PeerRecord): void {
    if (record.peerId !== this.self.peerId || record.seq <= this.self.seq)
      throw new RangeError('own record must keep the id and raise the seq');
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
    const slot = this.entries.get(peerId);
    return slot === undefined ? undefined : this.view(slot);
  }

  /** Every known peer (self excluded), in no particular order. */
  list(): PeerView[] {
    const views: PeerView[] = [];
    for (const slot of this.entries.values()) views.push(this.view(slot));
    return views;
  }

  /** The records of every known peer (self excluded), in the order list() gives them. */
  records(): PeerRecord[] {
    const records: PeerRecord[] = [];
    for (const slot of this.entries.values()) records.push(this.slots.record(slot));
    return records;
  }

  /**
   * Every known peer's id, state and silent rounds, in the order list() gives them, without
   * building a view of each (a round looks at all of them to pick a few).
   */
  forEachPeer(visit: (peerId: string, state: PeerState, silentRounds: number) => void): void {
    const { state, silentRounds } = this.slots;
    for (const [id, slot] of this.entries)
      visit(id, STATE_NAMES[state[slot] as number] as PeerState, silentRounds[slot] as number);
  }

  /** The record held for `peerId` (live entry, tombstone or self): already verified. */
  readonly known = (peerId: string): PeerRecord | undefined => {
    const slot = this.entries.get(peerId);
    if (slot !== undefined) return this.slots.record(slot);
    return this.tombstones.get(peerId)?.record ?? (peerId === this.self.peerId ? this.self : undefined);
  };

  tombstoneOf(peerId: string): PeerRecord | undefined {
    return this.tombstones.get(peerId)?.record;
  }

  /** Merge records that already passed verifyRecord; a new peer counts as heard `now`. */
  merge(records: readonly PeerRecord[], now: number): MergeReport {
    const report: MergeReport = {
      added: 0,
      updated: 0,
      left: 0,
      unchanged: 0,
      stale: 0,
      self: 0,
      full: 0,
      unverified: 0,
      firewalled: 0,
    };
    for (const record of records) {
      const outcome = this.mergeOne(record, now);
      report[outcome]++;
      if (outcome === 'stale') this.counters.stale++;
      if (outcome === 'full') this.counters.full++;
      if (outcome === 'self') this.counters.forSelf++;
    }
    return report;
  }

  private mergeOne(record: PeerRecord, now: number): keyof MergeReport {
    const id = record.peerId;
    if (id === this.self.peerId) {
      // Our own current record echoed back is no reason to re-sign; any other one of ours is.
      if (record.signature !== this.self.signature)
        this.highestSelfSeqSeen = Math.max(this.highestSelfSeqSeen, record.seq);
      return 'self';
    }
    const tomb = this.tombstones.get(id);
    if (tomb && record.seq <= tomb.record.seq) return tomb.record.seq === record.seq ? 'unchanged' : 'stale';
    const slot = this.entries.get(id);
    const s = this.slots;
    const held = slot === undefined ? undefined : s.record(slot);
    if (held && record.seq === held.seq) return 'unchanged';
    if (held && record.seq < held.seq) return 'stale';
    if (record.status === 'left') {
      if (held) this.remove(id, 'left', now);
      this.tombstones.delete(id);
      this.tombstones.set(id, { record, at: now, version: ++this.version });
      while (this.tombstones.size > this.config.maxTombstones) this.tombstones.delete(firstKey(this.tombstones));
      return 'left';
    }
    if (tomb) this.tombstones.delete(id); // rejoined after leaving: a newer seq than the tombstone
    if (held && slot !== undefined) {
      // Keep dialling the set in use if the newer record still lists it (a re-sign), else its first.
      const inUse = addressSets(held)[s.at[slot] as number]?.fetch;
      s.at[slot] = Math.max(
        0,
        addressSets(record).findIndex((set) => set.fetch === inUse),
      );
      s.records[slot] = record;
      s.version[slot] = ++this.version;
      // A newer record shows its peer signed it, alive at issuedAt. That clears a suspicion (SWIM's
      // refutation) or a down state only if signed after the failure that began it, give or take
      // two intervals of clock skew: a record signed before the peer died, kept and replayed by
      // someone else, must not bring it back. (A peer back for real signs a new record, and is
      // probed among the down peers anyway.)
      const trouble = s.trouble.get(slot);
      if (!trouble || record.issuedAt >= trouble.failedAt - REVIVAL_SKEW_INTERVALS * this.config.intervalMs) {
        this.evidence(slot, Math.max(now, s.lastHeardAt[slot] as number), now, true);
      }
      return 'updated';
    }
    if (this.keptOut(record)) return 'stale';
    if (this.entries.size >= this.config.maxPeers && !this.evictLongestDown(now) && !this.sampleIn(id, now))
      return 'full';
    const back = this.evicted.delete(id);
    this.entries.set(id, s.take(record, now, ++this.version));
    this.worst = undefined;
    this.sampleChanges++;
    this.log.append(back ? 'back' : 'joined', id, now);
    return 'added';
  }

  /**
   * Whether merging `record` would change nothing or be refused as stale: its seq is not above
   * the one held, a tombstone's, or a remembered evicted peer's (keptOut). Such a record is not
   * worth a verification probe.
   */
  isOutdated(record: PeerRecord): boolean {
    const id = record.peerId;
    const slot = this.entries.get(id);
    if (slot !== undefined) return record.seq <= this.slots.record(slot).seq;
    const tomb = this.tombstones.get(id);
    if (tomb) return record.seq <= tomb.record.seq;
    return this.keptOut(record);
  }

  /**
   * Whether merging `record`, once verified, would take it into the table: not outdated, and
   * either the table is below its cap or the record's peer ranks below the highest-ranked entry.
   * Admission is offered only such records: the sample's draw comes before the probe (see the
   * header). A peer down in a full table makes no room here: it leaves when evicted, or when a
   * better-ranked newcomer takes its place (merge evicts the longest-down entry first). Counting
   * it as room would have every record heard probed while any entry is down, which under churn
   * is most of the time.
   */
  wouldTake(record: PeerRecord): boolean {
    return !this.isOutdated(record) && this.mayTake(record.peerId);
  }

  /** What wouldTake answers from the peer id alone, before any record of it is checked. */
  mayTake(peerId: string): boolean {
    if (this.entries.has(peerId) || this.entries.size < this.config.maxPeers) return true;
    // The entries' ranks first: a rank that depends on the order of first use (the tests'
    // firstRankedFirst) must rank them before this one.
    const worst = this.worstEntry().rank;
    return this.rank(peerId) < worst;
  }

  /**
   * A version of what wouldTake answers for peers not held: it changes when the table's size or
   * its highest rank may have (an entry taken or removed). A record that waits unverified can be
   * checked again when it moved (see SyncRounds).
   */
  get sampleVersion(): number {
    return this.sampleChanges;
  }

  /**
   * Whether `record` of a peer this table evicted for being down too long (remembered with the
   * seq it had then) stays out. A newer record comes in as any new peer's would: its peer signed
   * it since. The very record it had, or an older one, never does, even when room appears: its
   * record is a dead peer's, still gossiped by tables that hold it alive, and room appears
   * exactly when peers are down.
   */
  private keptOut(record: PeerRecord): boolean {
    const evicted = this.evicted.get(record.peerId);
    return evicted !== undefined && record.seq <= evicted.seq;
  }

  /** The entry of highest rank (the table is full): ranks are computed once per entry, when first needed. */
  private worstEntry(): { slot: number; rank: number } {
    if (this.worst) return this.worst;
    const s = this.slots;
    let worst = { slot: -1, rank: 0 };
    for (const [id, slot] of this.entries) {
      const rank = (s.rank[slot] ||= this.rank(id));
      if (rank > worst.rank) worst = { slot, rank };
    }
    return (this.worst = worst);
  }

  /** Direct evidence that `peerId` was alive at `at` (a contact, or its request). */
  heard(peerId: string, at: number, now: number): void {
    const slot = this.entries.get(peerId);
    if (slot !== undefined) this.evidence(slot, Math.min(at, now), now, false);
  }

  private evidence(slot: number, at: number, now: number, freshRecord: boolean): void {
    const s = this.slots;
    if (at > (s.lastHeardAt[slot] as number)) s.lastHeardAt[slot] = at;
    const trouble = s.trouble.get(slot);
    if (!trouble) return; // alive
    if (freshRecord || at > trouble.failedAt) {
      if (at <= (s.heardAtTick[slot] as number) && !freshRecord) return; // nothing newer than when it fell silent
      s.state[slot] = ALIVE;
      s.silentRounds[slot] = 0;
      s.trouble.delete(slot);
      s.version[slot] = ++this.version; // down peers are left out of views; it must be sent again
      this.log.append('back', s.record(slot).peerId, now);
    }
  }

  /** `peerId` proved its key at the set whose fetch address is `fetchAddress`: dial it there. */
  useAddress(peerId: string, fetchAddress: string): void {
    const slot = this.entries.get(peerId);
    if (slot === undefined) return;
    const index = addressSets(this.slots.record(slot)).findIndex((set) => set.fetch === fetchAddress);
    if (index >= 0) this.slots.at[slot] = index;
  }

  /** A direct contact with `peerId` failed (timeout, refused, bad answer): the next one tries its next address set. */
  contactFailed(peerId: string, now: number): void {
    const slot = this.entries.get(peerId);
    if (slot === undefined) return;
    this.nextAddressSet(slot);
    const s = this.slots;
    const trouble = s.trouble.get(slot);
    if (trouble) trouble.failedAt = now;
    else this.setState(slot, SUSPECTED, now, new Trouble(now));
  }

  /**
   * A direct contact with `peerId` failed, not (yet) enough to suspect it (failuresToSuspect): the
   * next contact tries its next address set, and its state is left as it is.
   */
  contactDoubted(peerId: string): void {
    const slot = this.entries.get(peerId);
    if (slot !== undefined) this.nextAddressSet(slot);
  }

  private nextAddressSet(slot: number): void {
    const s = this.slots;
    s.at[slot] = ((s.at[slot] as number) + 1) % addressSets(s.record(slot)).length;
  }

  /**
   * A rumour that someone suspects `peerId`'s record `seq` since `rounds` rounds. Ignored when the
   * record is outdated (already refuted), or when our own direct evidence is newer than the
   * suspicion; about ourselves, it is remembered so that the next round re-signs above it.
   */
  suspect(peerId: string, seq: number, rounds: number, now: number): void {
    if (peerId === this.self.peerId) {
      if (seq >= this.self.seq) this.highestSelfSeqSeen = Math.max(this.highestSelfSeqSeen, seq);
      return;
    }
    const slot = this.entries.get(peerId);
    const s = this.slots;
    if (slot === undefined || s.record(slot).seq !== seq || s.state[slot] === DOWN) return;
    let trouble = s.trouble.get(slot);
    if (!trouble) {
      const heardThisRound = (s.lastHeardAt[slot] as number) > (s.heardAtTick[slot] as number);
      if (heardThisRound || (s.silentRounds[slot] as number) < rounds) return;
      trouble = new Trouble(now);
      this.setState(slot, SUSPECTED, now, trouble);
    }
    trouble.suspectRounds = Math.max(trouble.suspectRounds, rounds);
  }

  /** End of a round: count silent and suspected rounds, mark long suspicions down, prune memories. */
  tick(now: number): void {
    const s = this.slots;
    for (const [id, slot] of this.entries) {
      const lastHeardAt = s.lastHeardAt[slot] as number;
      if (lastHeardAt > (s.heardAtTick[slot] as number)) s.silentRounds[slot] = 0;
      else s.silentRounds[slot] = (s.silentRounds[slot] as number) + 1;
      s.heardAtTick[slot] = lastHeardAt;
      const trouble = s.trouble.get(slot);
      if (!trouble) continue;
      trouble.suspectRounds++;
      if (s.state[slot] === SUSPECTED && trouble.suspectRounds >= this.config.downAfterRounds)
        this.setState(slot, DOWN, now, trouble);
      if (s.state[slot] === DOWN && now - trouble.downSince >= this.config.evictAfterMs)
        this.remove(id, 'evicted', now);
    }
    pruneOlderThan(this.tombstones, now - this.config.tombstoneTtlMs);
    pruneOlderThan(this.evicted, now - this.config.forgetTtlMs);
  }

  private setState(slot: number, state: typeof SUSPECTED | typeof DOWN, now: number, trouble: Trouble): void {
    const s = this.slots;
    s.state[slot] = state;
    s.trouble.set(slot, trouble);
    trouble.stateVersion = ++this.version;
    if (state === SUSPECTED) trouble.suspectRounds = 0;
    if (state === DOWN) trouble.downSince = now;
    this.log.append(state === SUSPECTED ? 'suspected' : 'down', s.record(slot).peerId, now);
  }

  /** Evict the peer down longest (the first in table order among equals), if any is down. */
  private evictLongestDown(now: number): boolean {
    const s = this.slots;
    let since = Infinity;
    let ties = 0;
    let oldest = -1;
    for (const [slot, trouble] of s.trouble) {
      if (s.state[slot] !== DOWN || trouble.downSince > since) continue;
      if (trouble.downSince === since) ties++;
      else [since, ties, oldest] = [trouble.downSince, 1, slot];
    }
    if (oldest < 0) return false;
    if (ties > 1)
      for (const slot of this.entries.values())
        if (s.state[slot] === DOWN && s.trouble.get(slot)?.downSince === since) {
          oldest = slot;
          break;
        }
    this.remove(s.record(oldest).peerId, 'evicted', now);
    return true;
  }

  /**
   * The min-wise sample over the peers offered to a full table: `peerId` displaces the entry of
   * highest rank if it ranks below it (see the header). Whether it made room.
   */
  private sampleIn(peerId: string, now: number): boolean {
    if (this.entries.size === 0) return false;
    const worst = this.worstEntry();
    if (this.rank(peerId) >= worst.rank) return false;
    this.remove(this.slots.record(worst.slot).peerId, 'sampled', now);
    this.counters.sampledOut++;
    return true;
  }

  /** Remove an entry: it left, was down too long (evicted: remembered), or was sampled out (logged as evicted). */
  private remove(peerId: string, kind: 'left' | 'evicted' | 'sampled', now: number): void {
    const slot = this.entries.get(peerId);
    if (slot === undefined) return;
    const seq = this.slots.record(slot).seq;
    this.entries.delete(peerId);
    this.slots.release(slot);
    this.worst = undefined;
    this.sampleChanges++;
    this.version++; // no record to send, but the stored set of records changed
    if (kind === 'evicted') this.remember(this.evicted, this.config.maxForgotten, peerId, seq, now);
    this.log.append(kind === 'sampled' ? 'evicted' : kind, peerId, now);
    this.onRemoved(peerId);
  }

  /** Remember `peerId` in `memory` (bounded by `max`). */
  private remember(memory: Map<string, Remembered>, max: number, peerId: string, seq: number, now: number): void {
    memory.delete(peerId);
    memory.set(peerId, { seq, at: now });
    while (memory.size > max) memory.delete(firstKey(memory));
  }

  /**
   * The suspicion rumour about `peerId` held here ([id, seq, rounds suspected]), while it is
   * suspected or down; undefined while it is alive or unknown.
   */
  rumourAbout(peerId: string): [string, number, number] | undefined {
    const slot = this.entries.get(peerId);
    const trouble = slot === undefined ? undefined : this.slots.trouble.get(slot);
    return trouble && slot !== undefined ? [peerId, this.slots.record(slot).seq, trouble.suspectRounds] : undefined;
  }

  /**
   * What changed since `cursor` (all of it for an unknown cursor, less what `has` says the asker
   * holds): records, and suspicion rumours of peers that became suspected or down. Nothing about
   * peers that did not change, so an answer's size follows the changes, not N. At most `limit`
   * records: beyond it, the oldest changes go first and the cursor returned stops after the last
   * of them (with the suspicions up to it), so the asker's next request with it continues there;
   * and a quarter of the limit goes to the newest changes (with their suspicions), sent again once
   * the cursor reaches them. Without that share, an asker without a cursor (most of them, in a
   * network much larger than the fanout) would never hear news from a table above the limit:
   * the news is always the newest change.
   */
  viewSince(
    cursor: string | undefined,
    has: (record: PeerRecord) => boolean = () => false,
    limit = Infinity,
  ): ViewDelta {
    const since = this.parseCursor(cursor);
    const s = this.slots;
    const wanted = (record: PeerRecord, version: number) => version > since && !has(record);
    const records: PeerRecord[] = [];
    const versions: number[] = [];
    const take = (record: PeerRecord, version: number) => {
      if (!wanted(record, version)) return;
      records.push(record);
      versions.push(version);
    };
    const rumours: { suspect: [string, number, number]; version: number }[] = [];
    take(this.self, this.selfVersion);
    for (const slot of this.entries.values()) {
      const record = s.record(slot);
      const trouble = s.trouble.get(slot);
      if (trouble && trouble.stateVersion > since)
        rumours.push({ suspect: [record.peerId, record.seq, trouble.suspectRounds], version: trouble.stateVersion });
      if (s.state[slot] === DOWN) continue; // not vouched for: a newcomer should not learn a corpse
      take(record, s.version[slot] as number);
    }
    for (const tomb of this.tombstones.values()) take(tomb.record, tomb.version);
    let upTo = this.version;
    let sent = records;
    let newestFrom = Infinity;
    if (records.length > limit) {
      const count = Math.max(0, Math.floor(limit));
      const newest = Math.floor(count / NEWEST_SHARE);
      const oldest = count - newest;
      // Versions are distinct: the k-th smallest found without sorting them all, then only the
      // changes sent sorted.
      const ordered = Float64Array.from(versions);
      const threshold = oldest === 0 ? -Infinity : kthSmallest(ordered, oldest - 1);
      if (newest > 0) newestFrom = kthSmallest(ordered, versions.length - newest);
      const kept: number[] = [];
      for (let i = 0; i < versions.length; i++) {
        const version = versions[i] as number;
        if (version <= threshold || version >= newestFrom) kept.push(i);
      }
      kept.sort((a, b) => (versions[a] as number) - (versions[b] as number));
      sent = kept.map((i) => records[i] as PeerRecord);
      upTo = oldest === 0 ? since : threshold;
    }
    return {
      cursor: `${this.epoch}:${upTo}`,
      records: sent,
      suspects: rumours.filter((r) => r.version <= upTo || r.version >= newestFrom).map((r) => r.suspect),
    };
  }

  private parseCursor(cursor: string | undefined): number {
    const [epoch, version] = (cursor ?? '').split(':');
    const n = Number(version);
    // Another epoch means this table restarted since the cursor was issued: send everything.
    return epoch === this.epoch && Number.isSafeInteger(n) && n >= 0 && n <= this.version ? n : 0;
  }

  private view(slot: number): PeerView {
    const s = this.slots;
    const record = s.record(slot);
    const addresses = addressSets(record)[s.at[slot] as number] ?? record.addresses;
    return {
      peerId: record.peerId,
      state: STATE_NAMES[s.state[slot] as number] as PeerState,
      record,
      addresses,
      lastHeardAt: s.lastHeardAt[slot] as number,
      silentRounds: s.silentRounds[slot] as number,
    };
  }
}

/** The k-th smallest (from 0) of `values` (distinct), reordering them: quickselect, O(n) on average. */
function kthSmallest(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k] as number;
  }
  return values[k] as number;
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
