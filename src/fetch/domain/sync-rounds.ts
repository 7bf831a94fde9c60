/**
 * The round logic of Fetch as a pure class: no timers, no sockets. The service calls
 * startRound() on its interval, sends the planned requests through its transport, and hands
 * each answer (or failure) back; a remote's request is handed to answer(). Pull-based gossip with
 * an announce in every request: each round a random fanout of live peers is asked for what
 * changed, so knowledge spreads epidemically and reaches every peer in O(log N) rounds. Every
 * request is also a liveness probe (SWIM-style, see peer-table.ts): a failed one starts a
 * suspicion that spreads as a rumour, and answers carry only changes, so their size is flat in N.
 *
 * Membership is verified (admission.ts): a record learned from an announce or from an answer's
 * gossip enters the PeerTable only once this peer itself has dialled the record's own fetch
 * address pinned to its id and got an answer. Until then it waits in Admission, is never gossiped
 * on, counted, offered as a neighbour or a source, and is probed by a normal sync request (so a
 * probe carries gossip too) planned in startRound within a per-round budget. The peer asked in a
 * round is verified by that very contact when its record names the address dialled (in any of its
 * address sets: a peer may advertise several, probed in order, see admission.ts). Liveness
 * ("heard from") comes only from direct authenticated contact: an answer from the peer, or its
 * own request over TLS proving its id; a replayed record changes nothing. A full table's sample
 * is drawn before the probe (peer-table.ts wouldTake): only records that would enter wait in
 * Admission, so a partial view probes about maxPeers × ln(N / maxPeers) peers as it settles, and
 * then only newcomers that rank into it.
 *
 * Files news: a peer's shared-file list travels only in its own answers, so random asks alone
 * would take O(N) rounds to spread a new file. A peer whose list changed re-signs its record with
 * a higher `filesVersion` (sharesChanged(), at most once per filesResignRounds); that record
 * spreads by gossip in O(log N) rounds, and a peer that takes it over an older one it held asks
 * that peer directly, a few a round on top of the fanout (files-news.ts).
 */
import { fetchConfig, PROTOCOL_VERSION, type FetchConfig } from './config.ts';
import type { ServiceAddresses } from './addresses.ts';
import { Admission, type AdmissionCounters } from './admission.ts';
import { AvailabilityMap } from './availability.ts';
import { FilesNews } from './files-news.ts';
import { NewsPush } from './news-push.ts';
import { hostOf } from '../../shared/address.ts';
import type { RecordSigner, SignatureVerifier } from './keys.ts';
import { MembershipLog } from './membership-log.ts';
import { PeershareError } from '../../shared/errors.ts';
import {
  haveEntry,
  MAX_FIREWALLED_IN_ANSWER,
  MAX_HAVE,
  parseRecord,
  parseSyncRequest,
  parseSyncResponse,
  setHash,
  type RecordChecks,
  type SyncRequest,
  type ViewDelta,
} from './messages.ts';
import {
  addressSets,
  nextSeq,
  signLeave,
  signRecord,
  withAddressSets,
  type PeerRecord,
  type VerifiedLookup,
} from './peer-record.ts';
import { PeerTable, type MergeReport, type PeerState, type PeerView } from './peer-table.ts';
import type { WallClock } from '../../shared/clock.ts';
import { sample, type Random } from './random.ts';
import { keyedRank, type Rank } from './sample-rank.ts';

/** Whom to ask: a known peer, or a join address whose peer id is not known yet. */
export interface SyncTarget {
  peerId?: string;
  address: string;
  /** A verification probe of this unverified record (its address, pinned to its id). */
  verify?: PeerRecord;
  /** A request for the news it carries alone (SyncRequest.pushOnly): its answer's cursor is not kept. */
  push?: true;
}

/** What admission did so far, for the service's status. */
export interface AdmissionStatus extends AdmissionCounters {
  /** Records waiting for this peer's own probe. */
  unverified: number;
  /** Peers that proved their key on an inbound announce but whose address could not be reached. */
  firewalled: number;
  /** Verified new peers not taken because the table was full (maxPeers), and entries a better-ranked newcomer displaced there (the min-wise sample). */
  tableFull: number;
  sampledOut: number;
}

export interface PlannedSync {
  target: SyncTarget;
  request: SyncRequest;
}

/** A peer that can serve chunks of a file (for Download). */
export interface FileSource {
  peerId: string;
  filesAddress: string;
  name: string;
  size: number;
  state: PeerState;
}

/** A row of the "log of available peers". */
export interface PeerSummary {
  peerId: string;
  state: PeerState;
  lastHeardAt: number;
  /** The address set this peer dials it at (the one that proved its key, see peer-table.ts). */
  addresses: ServiceAddresses;
  /** Every address set its record lists, in order. */
  advertised: ServiceAddresses[];
  files: number;
}

/** A peer the Search overlay may link to. */
export interface NeighbourCandidate {
  peerId: string;
  searchAddress: string;
  lastHeardAt: number;
}

export interface SyncRoundsOptions {
  signer: RecordSigner;
  addresses: ServiceAddresses;
  /** Further address sets this peer advertises, after `addresses` (--advertise repeated). */
  otherAddresses?: ServiceAddresses[];
  /** Record times and ages: wall-clock, since they are signed and compared across peers. */
  clock: WallClock;
  random: Random;
  /** Join addresses (host:port of a fetch API), tried in order while no live peer is known. */
  join?: readonly string[];
  config?: Partial<FetchConfig>;
  /** Signature check; default Ed25519. Simulated peers in one process share a memoized one. */
  verifier?: SignatureVerifier;
  /**
   * Records this process already verified, by peer id, looked up before this peer's own: a record
   * identical in every field to the one returned is taken as that very object, without a signature
   * check. Simulated peers in one process share one, so each record object exists once, not once
   * per peer that holds it. It must return only records whose signature was checked (or signed here).
   */
  verified?: VerifiedLookup;
  /**
   * The order of the table's sample (sample-rank.ts): keyedRank under a fresh random secret unless
   * given. Only a simulation or test that must replay exactly gives one (keyedRank(seededSecret(…)),
   * or the simulator's cheaper sim-rank.ts).
   */
  sampleRank?: Rank;
}

/** Rounds without a change to our own records before first contacts send a hash, not a digest. */
const SETTLED_ROUNDS = 1;

export class SyncRounds {
  readonly config: FetchConfig;
  readonly log: MembershipLog;
  readonly table: PeerTable;
  readonly files: AvailabilityMap;
  readonly admission: Admission;
  private round = 0;
  /** The table's sampleVersion when the unverified records were last checked against it. */
  private sampleChecked = -1;
  private readonly viewCursors = new Map<string, string>();
  private readonly join: readonly string[];
  private joinIndex = 0;
  private joinWait = 0;
  private joinBackoff = 1;
  /** Some join address has answered since start: until then they are asked even while other peers are known. */
  private joinAnswered = false;
  private readonly checks: RecordChecks;
  /** This peer cannot be dialled from outside (its dial-back failed): it re-signs its record now and then (see firewalledTtlMs). */
  private unreachable = false;
  /** Our digest's hash at the last round, and rounds it has not changed: settled askers send the hash. */
  private lastHash = '';
  private stableRounds = 0;
  /** The digest and its hash, recomputed only when the table changed. */
  private digestCache: { changes: number; entries: string[] | undefined; hash: string } | undefined;
  /** Peers whose newer record said their shared-file list moved since we held them, not yet asked. */
  private readonly filesNews: FilesNews;
  /** Our own shared-file list changed since our record last said so; and the round it last did. */
  private sharesDirty = false;
  private sharesSignedRound = -Infinity;
  /** Peers new to the table, pushed as news while it is full (news-push.ts). */
  private readonly newsPush: NewsPush;
  /**
   * Live peers whose last direct contacts failed, fewer times in a row than failuresToSuspect, by
   * that count: asked again next round, suspected only if that fails too. Held peers only (an
   * entry leaves with its peer), so bounded by maxPeers.
   */
  private readonly doubts = new Map<string, number>();

  constructor(private readonly options: SyncRoundsOptions) {
    this.config = fetchConfig(options.config);
    this.join = options.join ?? [];
    this.log = new MembershipLog(this.config.logCapacity);
    this.files = new AvailabilityMap(this.config);
    this.admission = new Admission(this.config);
    this.filesNews = new FilesNews(this.config, options.random);
    this.newsPush = new NewsPush(this.config, options.random);
    const now = options.clock.epochMs();
    const self = signRecord(options.signer, {
      status: 'alive',
      ...withAddressSets([options.addresses, ...(options.otherAddresses ?? [])]),
      protocol: PROTOCOL_VERSION,
      seq: nextSeq(0, now),
      issuedAt: now,
    });
    const epoch = Math.floor(options.random.next() * 2 ** 32).toString(36);
    this.table = new PeerTable(
      self,
      this.config,
      this.log,
      epoch,
      (peerId) => {
        this.files.removePeer(peerId);
        this.viewCursors.delete(peerId);
        this.filesNews.settle(peerId);
        this.doubts.delete(peerId);
      },
      options.sampleRank ?? keyedRank(),
    );
    // Records already checked (held in the table, or waiting unverified) skip the signature check
    // when they come again unchanged: while many peers join, the same records arrive in many answers.
    const shared = options.verified;
    const held = (peerId: string) =>
      shared?.(peerId) ??
      this.table.known(peerId) ??
      this.admission.get(peerId) ??
      this.admission.firewalledRecord(peerId);
    this.checks = { verified: held, ...(options.verifier ? { verifier: options.verifier } : {}) };
  }

  get peerId(): string {
    return this.table.selfRecord.peerId;
  }

  /** Whether some live peer is known (false while joining or cut off). */
  get joined(): boolean {
    let live = false;
    this.table.forEachPeer((_id, state) => {
      live ||= state !== 'down';
    });
    return live;
  }

  /** Close the previous round (liveness), then choose whom to ask in this one. */
  startRound(): PlannedSync[] {
    const now = this.options.clock.epochMs();
    this.round++;
    this.table.tick(now);
    this.resignIfOutdated(now);
    this.resignIfSharesChanged(now);
    this.keepFirewalledFresh(now);
    const { hash } = this.digest();
    this.stableRounds = hash === this.lastHash ? this.stableRounds + 1 : 0;
    this.lastHash = hash;
    // Ids only: a round looks at every peer to pick a few, and builds views of those alone.
    const live: string[] = [];
    const down: string[] = [];
    // One slot of the fanout probes the peer silent longest, once it is due: every peer gets
    // checked now and then even if random choice keeps missing it. The rest are random.
    let probe: string | undefined;
    let probeSilent = 0;
    this.table.forEachPeer((peerId, state, silentRounds) => {
      if (state === 'down') return void down.push(peerId);
      live.push(peerId);
      if (silentRounds >= this.config.suspectAfterRounds && (probe === undefined || silentRounds > probeSilent)) {
        probe = peerId;
        probeSilent = silentRounds;
      }
    });
    const others = probe !== undefined ? live.filter((p) => p !== probe) : live;
    const chosen = [
      ...(probe !== undefined && this.config.fanout > 0 ? [probe] : []),
      ...sample(
        others,
        this.config.fanout - (probe !== undefined && this.config.fanout > 0 ? 1 : 0),
        this.options.random,
      ),
    ];
    // A peer whose last contact failed is asked again, before anyone suspects it for one lost request.
    const retries: string[] = [];
    for (const peerId of this.doubts.keys()) {
      if (!this.isLive(peerId)) this.doubts.delete(peerId);
      else if (!chosen.includes(peerId)) retries.push(peerId);
    }
    const asking = [...chosen, ...retries];
    const asked = [...asking, ...this.filesNews.pick(asking, (peerId) => this.isLive(peerId), this.round)];
    const targets: SyncTarget[] = [...asked, ...sample(down, this.config.downProbes, this.options.random)].map(
      (peerId) => ({ peerId, address: (this.table.get(peerId) as PeerView).addresses.fetch }),
    );
    const full = this.table.size >= this.config.maxPeers;
    for (const peerId of this.newsPush.targets(this.round, live, asked, this.liveRecord, full))
      targets.push({ peerId, address: (this.table.get(peerId) as PeerView).addresses.fetch, push: true });
    // A join address is the user's way into *their* network: peers that reached us first (say, we
    // started before the join host and others joined us) may be an island without it. So join
    // addresses are asked, with backoff, until one has answered, and again whenever nobody is live.
    if ((live.length === 0 || !this.joinAnswered) && this.join.length > 0) {
      if (this.joinWait > 0) this.joinWait--;
      else targets.push({ address: this.join[this.joinIndex % this.join.length] as string });
    }
    // Verification probes within the budget, none to a host already asked this round.
    const busy = new Set(targets.map((t) => hostOf(t.address)));
    // Records that waited while the table filled, or while better-ranked peers came in, may no
    // longer be taken: they are dropped unprobed (the sample's draw comes before the probe).
    if (this.admission.size > 0 && this.sampleChecked !== this.table.sampleVersion) {
      this.sampleChecked = this.table.sampleVersion;
      this.admission.keepOnly((record) => this.table.wouldTake(record));
    }
    for (const { record, address } of this.admission.planProbes(this.round, busy))
      targets.push({ peerId: record.peerId, address, verify: record });
    return targets.map((target) => ({ target, request: this.requestFor(target.peerId, target.push) }));
  }

  /** The news of this round's requests (news-push.ts): none unless the table is full. */
  private news(to: string | undefined): PeerRecord[] {
    return this.newsPush.news(this.round, to, this.liveRecord, this.table.size >= this.config.maxPeers);
  }

  /** A peer's record when the table holds it and it is not down. */
  private readonly liveRecord = (peerId: string): PeerRecord | undefined =>
    this.isLive(peerId) ? this.table.known(peerId) : undefined;

  /**
   * The news a request pushed: records this table would take wait for this peer's own probe, as
   * gossip does, counted against the asker's host as its announces are (admission.ts); a newer
   * record of a peer held at the same address is taken as an answer's would be. Nothing else.
   */
  private takeNews(request: SyncRequest, remote: string, now: number): void {
    const asker = request.from.peerId;
    const direct: PeerRecord[] = [];
    for (const record of request.news ?? []) {
      if (record.status !== 'alive' || record.peerId === this.peerId || record.peerId === asker) continue;
      const held = this.table.get(record.peerId);
      if (held !== undefined) {
        if (listsFetch(record, held.addresses.fetch)) direct.push(record);
      } else if (this.table.wouldTake(record)) {
        this.admission.offer(record, { kind: 'pushed', via: asker, remote }, this.round, now);
      }
    }
    if (direct.length > 0) this.mergeNoting(direct, now);
  }

  /** A peer held and not down. */
  private isLive(peerId: string): boolean {
    const state = this.table.get(peerId)?.state;
    return state !== undefined && state !== 'down';
  }

  /**
   * Merge verified records into the table, noting files news: a held peer whose record, now
   * replaced by a newer one, said an older filesVersion (or none) than the new one says.
   */
  private mergeNoting(records: readonly PeerRecord[], now: number): MergeReport {
    const moved = FilesNews.moved(records, (peerId) => (this.table.has(peerId) ? this.table.known(peerId) : undefined));
    const newcomers = records.filter(
      (r) => r.status === 'alive' && r.peerId !== this.peerId && !this.table.has(r.peerId),
    );
    const report = this.table.merge(records, now);
    const taken = (record: PeerRecord) => this.table.known(record.peerId) === record && this.table.has(record.peerId);
    this.filesNews.note(moved, taken, this.table.size, this.round);
    for (const record of newcomers) if (taken(record)) this.newsPush.note(record.peerId, this.round);
    return report;
  }

  /** Peers with files news not yet asked, due or waiting (see the header). */
  get filesNewsPending(): number {
    return this.filesNews.size;
  }

  /**
   * This peer's own shared-file list changed (the service, or the simulator, saw it in the
   * SharedFileFeed): the next round re-signs the record with a higher filesVersion, unless it
   * did within filesResignRounds; then a later round does, once for every change meanwhile.
   */
  sharesChanged(): void {
    this.sharesDirty = true;
  }

  private resignIfSharesChanged(now: number): void {
    if (!this.sharesDirty || this.round - this.sharesSignedRound < this.config.filesResignRounds) return;
    this.sharesDirty = false;
    this.sharesSignedRound = this.round;
    const self = this.table.selfRecord;
    this.table.setSelf(
      signRecord(this.options.signer, {
        ...self,
        status: 'alive',
        filesVersion: nextSeq(self.filesVersion ?? 0, now),
        seq: nextSeq(Math.max(self.seq, this.table.highestSelfSeqSeen), now),
        issuedAt: now,
      }),
    );
  }

  private requestFor(peerId: string | undefined, push?: true): SyncRequest {
    const request: SyncRequest = { from: this.table.selfRecord };
    const news = this.news(peerId);
    if (news.length > 0) request.news = news;
    if (push) request.pushOnly = true;
    const viewCursor = peerId && this.viewCursors.get(peerId);
    const filesCursor = peerId && this.files.cursorOf(peerId);
    if (filesCursor) request.filesCursor = filesCursor;
    if (viewCursor) request.viewCursor = viewCursor;
    if (this.stableRounds >= SETTLED_ROUNDS) {
      // Settled: the answerer most likely holds the same records; 32 bytes instead of N entries,
      // and no stale-cursor delta full of records we learned from others meanwhile.
      request.haveHash = this.digest().hash;
    } else if (!viewCursor) {
      const { entries } = this.digest();
      if (entries) request.have = entries;
    }
    return request;
  }

  /**
   * The records held (self, peers, tombstones) as digest entries, and their hash. The entries are
   * kept only when few enough to be sent (MAX_HAVE): a table of thousands sends its hash, or its
   * cursor, and holding every peer's digest string besides its entry would double its memory.
   */
  private digest(): { entries: string[] | undefined; hash: string } {
    const changes = this.table.changes;
    if (this.digestCache?.changes !== changes) {
      const records = [this.table.selfRecord, ...this.table.records(), ...this.table.tombstoneRecords()];
      const entries = records.map(haveEntry);
      this.digestCache = { changes, entries: entries.length <= MAX_HAVE ? entries : undefined, hash: setHash(entries) };
    }
    return this.digestCache;
  }

  /**
   * Apply an answer (`provenPeerId`: the id the answerer proved, for a join address). Throws
   * BAD_REQUEST or PAYLOAD_TOO_LARGE, changing nothing, if any part of it is malformed or over a
   * cap; the caller should then report applyFailure().
   */
  applyResponse(target: SyncTarget, input: unknown, provenPeerId?: string): MergeReport {
    const now = this.options.clock.epochMs();
    // The answer must come from the peer asked: the id of its record, or for a join address the
    // id its TLS connection proved.
    // Gossip this table would not take is dropped unchecked; our own record (a previous run's) is kept.
    const wanted = (peerId: string) => peerId === this.peerId || this.table.mayTake(peerId);
    const response = parseSyncResponse(input, now, this.config, target.peerId ?? provenPeerId, this.checks, wanted);
    const knownBefore = this.table.has(response.from);
    // This contact verifies the answerer's record when it names the address dialled (in any of its
    // sets): the peer there just proved the key. Everything else it gossips waits for our own probe.
    const contact = (r: PeerRecord) =>
      r.peerId === response.from && r.status === 'alive' && listsFetch(r, target.address);
    const proven = target.verify ?? response.view.records.find(contact);
    // Files first: it is the only step that can still refuse (caps), and it must not half-apply.
    const filesTaken = response.files !== undefined && (knownBefore || proven !== undefined);
    if (response.files && filesTaken) this.files.apply(response.from, response.files);
    if (target.verify) this.admission.succeeded(target.verify, target.address);
    const direct: PeerRecord[] = target.verify ? [target.verify] : [];
    let unverified = 0;
    for (const record of response.view.records) {
      if (this.takesDirectly(record, contact)) {
        direct.push(record);
        if (record.status === 'left' || contact(record)) this.admission.discard(record.peerId);
      } else if (this.table.wouldTake(record)) {
        const outcome = this.admission.offer(
          record,
          { kind: 'gossip', via: response.from, at: target.address },
          this.round,
          now,
        );
        if (outcome === 'pending') unverified++;
      }
    }
    const report = this.mergeNoting(direct, now);
    // Its files came with this very answer, made after any record of it the answer carried.
    if (filesTaken) this.filesNews.settle(response.from);
    // Dial the answerer where it just answered, when its record lists that address.
    this.table.useAddress(response.from, target.address);
    report.unverified = unverified;
    // Peers the answerer holds as firewalled: held firewalled here too, never dialled. A peer we
    // hold verified (reachable), ourselves, and anything older than what we know are left alone.
    for (const record of response.view.firewalled ?? []) {
      if (record.peerId === this.peerId || this.table.has(record.peerId) || this.table.isOutdated(record)) continue;
      if (this.admission.takeFirewalled(record, response.from, target.address)) report.firewalled++;
    }
    this.table.heard(response.from, now, now);
    this.doubts.delete(response.from);
    // After the records: a rumour about a record older than one just merged is already refuted.
    for (const [peerId, seq, rounds] of response.view.suspects) this.table.suspect(peerId, seq, rounds, now);
    if (!this.table.has(response.from)) this.files.removePeer(response.from);
    else if (!target.push) this.viewCursors.set(response.from, response.view.cursor);
    if (target.peerId === undefined) {
      this.joinBackoff = 1;
      this.joinAnswered = true;
    }
    return report;
  }

  /**
   * Whether a record from an answer goes straight to the table: the answerer's own (see
   * applyResponse), a tombstone (signed by the leaving peer; it adds nobody), ours (only noted),
   * or a newer record of a verified peer that still lists the fetch address we dial it at.
   */
  private takesDirectly(record: PeerRecord, contact: (r: PeerRecord) => boolean): boolean {
    if (record.status === 'left' || record.peerId === this.peerId || contact(record)) return true;
    const held = this.table.get(record.peerId);
    return held !== undefined && listsFetch(record, held.addresses.fetch);
  }

  /** A request to `target` failed: no answer in time, refused, or an answer applyResponse refused. */
  applyFailure(target: SyncTarget, refusal?: unknown): void {
    const now = this.options.clock.epochMs();
    this.learnOwnRecord(refusal, now);
    if (target.verify) {
      this.admission.failed(target.verify, this.round, target.address);
      return;
    }
    if (target.peerId !== undefined) {
      const failures = (this.doubts.get(target.peerId) ?? 0) + 1;
      if (failures < this.config.failuresToSuspect && this.table.get(target.peerId)?.state === 'alive') {
        this.doubts.set(target.peerId, failures);
        this.table.contactDoubted(target.peerId);
      } else {
        this.doubts.delete(target.peerId);
        this.table.contactFailed(target.peerId, now);
      }
      return;
    }
    this.joinIndex++;
    if (this.joinIndex % this.join.length === 0) {
      // Every join address failed once: wait before the next cycle, longer each time.
      this.joinWait = this.joinBackoff;
      this.joinBackoff = Math.min(this.joinBackoff * 2, this.config.maxJoinBackoffRounds);
    }
  }

  /**
   * Answer a remote's request: take its announce, count it as alive, return what changed since its
   * cursor. An announce older than the record held (a replay), or one about this peer itself, is
   * refused with BAD_REQUEST and changes nothing; when we hold a newer record of the asker's own,
   * the refusal carries it (signed by the asker, so it cannot be forged) so that a peer restarted
   * with its clock set back learns to re-sign above it.
   */
  answer(input: unknown, remote = ''): ViewDelta {
    const now = this.options.clock.epochMs();
    const request = parseSyncRequest(input, now, this.config, this.checks, (peerId) => this.table.mayTake(peerId));
    const id = request.from.peerId;
    if (id === this.peerId)
      throw new PeershareError('BAD_REQUEST', "announce carries this peer's own id", { field: 'from.peerId' });
    const held = this.table.get(id);
    // A replay is an announce older than a record held (a live entry, a tombstone). A peer this
    // table evicted or sampled out (remembered with its seq, see peer-table.ts) announcing that
    // same record is no replay: it is answered, and stays out of the table until it re-signs.
    const newer = this.table.known(id);
    if (newer !== undefined && request.from.seq <= newer.seq && request.from.signature !== newer.signature) {
      throw new PeershareError('BAD_REQUEST', 'announce is older than the record held (replayed)', {
        field: 'from.seq',
        reason: 'stale',
        newer,
      });
    }
    if (request.from.status === 'left') this.admission.discard(id);
    if (request.from.status === 'left' || (held !== undefined && listsFetch(request.from, held.addresses.fetch)))
      this.mergeNoting([request.from], now);
    else if (this.table.wouldTake(request.from))
      this.admission.offer(request.from, { kind: 'announce', remote }, this.round, now);
    // Its request over TLS proved its id: direct evidence, for a verified peer only. That clears
    // our suspicion of it, so the view below would carry no rumour about it, and a suspect would
    // never hear it is suspected: it is told here, and refutes by re-signing (its new record then
    // clears the suspicion everywhere it goes; see peer-table.ts).
    const rumour = this.table.rumourAbout(id);
    this.table.heard(id, now, now);
    this.doubts.delete(id);
    this.takeOwnFiles(id, request);
    this.takeNews(request, remote, now);
    let view: ViewDelta;
    if (request.pushOnly) {
      // Only the news was meant: no records (the asker keeps its cursor), suspicions as usual.
      view = this.table.viewSince(request.viewCursor, () => true, 0);
    } else if (request.haveHash !== undefined) {
      // Same set of records as the asker: no records, only suspicions since its cursor. Otherwise
      // what changed since the cursor, or without one all of it (see SyncRequest).
      const same = request.haveHash === this.digest().hash;
      view = this.table.viewSince(request.viewCursor, () => same, this.config.maxRecordsPerAnswer);
    } else {
      const have = new Set(request.have ?? []);
      view = this.table.viewSince(
        request.viewCursor,
        (record) => have.has(haveEntry(record)),
        this.config.maxRecordsPerAnswer,
      );
    }
    if (rumour && !view.suspects.some(([peerId]) => peerId === id))
      view = { ...view, suspects: [...view.suspects, rumour] };
    // Firewalled peers, marked: those whose failure we saw ourselves (one hop), the asker's own excepted.
    const firewalled = this.admission
      .firewalledRecords(this.config.firewalledGossip + 1, true)
      .filter((r) => r.peerId !== id)
      .slice(0, Math.min(this.config.firewalledGossip, MAX_FIREWALLED_IN_ANSWER));
    return firewalled.length > 0 ? { ...view, firewalled } : view;
  }

  /**
   * A firewalled asker's own file list (nobody can dial it to ask): applied only for a peer held
   * firewalled here, and only as a whole list or on top of the cursor held (see SyncRequest). A
   * list over the caps is ignored, not an error: the announce still counts.
   */
  private takeOwnFiles(peerId: string, request: SyncRequest): void {
    const own = request.ownFiles;
    if (!own || this.table.has(peerId) || !this.admission.isFirewalled(peerId)) return;
    if (!own.delta.reset && (own.base === undefined || own.base !== this.files.cursorOf(peerId))) return;
    try {
      this.files.apply(peerId, own.delta);
    } catch {
      // Over a cap: keep what we held; the asker learns our cursor from the answer.
    }
  }

  /** The cursor of `peerId`'s own file list held here ('' for none), told to it in every answer. */
  heldFilesCursor(peerId: string): string {
    return this.files.cursorOf(peerId) ?? '';
  }

  /** Take a tombstone a leaving peer sent us; anything but a valid "left" record is BAD_REQUEST. */
  acceptLeave(input: unknown): MergeReport {
    const now = this.options.clock.epochMs();
    const record = parseRecord(input, now, this.config, this.checks);
    if (record.status !== 'left')
      throw new PeershareError('BAD_REQUEST', 'a leave must carry a "left" record', { field: 'status' });
    if (record.peerId === this.peerId)
      throw new PeershareError('BAD_REQUEST', "leave carries this peer's own id", { field: 'peerId' });
    this.admission.discard(record.peerId);
    return this.table.merge([record], now);
  }

  /** Seed the table with records kept from the last run; invalid ones are skipped. */
  restore(records: readonly unknown[]): MergeReport {
    const now = this.options.clock.epochMs();
    const valid: PeerRecord[] = [];
    for (const raw of records) {
      try {
        valid.push(parseRecord(raw, now, this.config, this.checks));
      } catch {
        // A record that no longer verifies (edited file, older format) is simply forgotten.
      }
    }
    return this.table.merge(valid, now);
  }

  /** The tombstone to announce on a clean shutdown. */
  leave(): PeerRecord {
    return signLeave(this.options.signer, this.table.selfRecord, this.options.clock.epochMs());
  }

  /** A refusal's "newer" record of our own (see answer): verified, then remembered so we outbid it. */
  private learnOwnRecord(refusal: unknown, now: number): void {
    const newer = (refusal as { error?: { details?: { newer?: unknown } } } | undefined)?.error?.details?.newer;
    if (newer === undefined) return;
    try {
      const record = parseRecord(newer, now, this.config, this.checks);
      if (record.peerId === this.peerId) this.table.merge([record], now);
    } catch {
      // Not a valid record of ours: ignore it, it proves nothing.
    }
  }

  /**
   * Advertise every service at `host` alone from now on, each keeping its port (a learned address:
   * a peer that learns has none given): a new self record with a higher seq, which the next rounds
   * carry to the others (who verify the new address first).
   */
  readdress(host: string): void {
    const now = this.options.clock.epochMs();
    const { otherAddresses: _others, ...self } = this.table.selfRecord;
    const at = (address: string) => withHost(address, host);
    const addresses = {
      files: at(self.addresses.files),
      search: at(self.addresses.search),
      fetch: at(self.addresses.fetch),
    };
    const seq = nextSeq(Math.max(self.seq, this.table.highestSelfSeqSeen), now);
    this.table.setSelf(signRecord(this.options.signer, { ...self, status: 'alive', addresses, seq, issuedAt: now }));
  }

  private resignIfOutdated(now: number): void {
    const self = this.table.selfRecord;
    if (this.table.highestSelfSeqSeen < self.seq) return;
    // Someone holds a newer record of ours (from before a restart with a clock set back): outbid it.
    const seq = nextSeq(this.table.highestSelfSeqSeen, now);
    this.table.setSelf(signRecord(this.options.signer, { ...self, status: 'alive', seq, issuedAt: now }));
  }

  /**
   * Mark this peer reachable or not from outside (its dial-back). An unreachable peer is held
   * firewalled by the others, who cannot probe it, so it re-signs its record every third of
   * firewalledTtlMs: its only sign of life there.
   */
  setUnreachable(unreachable: boolean): void {
    this.unreachable = unreachable;
  }

  /** Re-sign our record when it is getting old and we are unreachable; expire others' old firewalled records. */
  private keepFirewalledFresh(now: number): void {
    const ttl = this.config.firewalledTtlMs;
    const self = this.table.selfRecord;
    if (this.unreachable && now - self.issuedAt >= ttl / 3) {
      this.table.setSelf(
        signRecord(this.options.signer, {
          ...self,
          status: 'alive',
          seq: nextSeq(Math.max(self.seq, this.table.highestSelfSeqSeen), now),
          issuedAt: now,
        }),
      );
    }
    for (const peerId of this.admission.expireFirewalled(now - ttl))
      if (!this.table.has(peerId)) this.files.removePeer(peerId);
  }

  /** Peers holding `fileId` that are reachable: alive ones first, then suspected ones. */
  sourcesFor(fileId: string): FileSource[] {
    const sources: FileSource[] = [];
    for (const holding of this.files.holders(fileId)) {
      const peer = this.table.get(holding.peerId);
      if (!peer || peer.state === 'down') continue;
      sources.push({ ...holding, filesAddress: peer.addresses.files, state: peer.state });
    }
    return sources.sort((a, b) => Number(a.state === 'suspected') - Number(b.state === 'suspected'));
  }

  /**
   * Firewalled peers holding `fileId` (their lists reach us only from themselves): never dialled,
   * reachable only by connect-back. Marked `firewalled`.
   */
  firewalledHoldersOf(fileId: string): Array<FileSource & { firewalled: true }> {
    const out: Array<FileSource & { firewalled: true }> = [];
    for (const holding of this.files.holders(fileId)) {
      const record = this.table.has(holding.peerId) ? undefined : this.admission.firewalledRecord(holding.peerId);
      if (record) out.push({ ...holding, filesAddress: record.addresses.files, state: 'alive', firewalled: true });
    }
    return out;
  }

  /** Peers held as firewalled: proved their key, cannot be dialled, never dialled (admission.ts). */
  firewalledPeers(): Array<{
    peerId: string;
    addresses: ServiceAddresses;
    advertised: ServiceAddresses[];
    issuedAt: number;
    files: number;
  }> {
    return this.admission.firewalledRecords(Number.MAX_SAFE_INTEGER).map((r) => ({
      peerId: r.peerId,
      addresses: r.addresses,
      advertised: addressSets(r),
      issuedAt: r.issuedAt,
      files: this.files.countOf(r.peerId),
    }));
  }

  /** Alive peers, most recently heard first, for the Search overlay to choose links from. */
  neighbourCandidates(): NeighbourCandidate[] {
    return this.table
      .list()
      .filter((p) => p.state === 'alive')
      .sort((a, b) => b.lastHeardAt - a.lastHeardAt)
      .map((p) => ({ peerId: p.peerId, searchAddress: p.addresses.search, lastHeardAt: p.lastHeardAt }));
  }

  /** Admission's counters and sizes (see admission.ts), for the service's status. */
  admissionStatus(): AdmissionStatus {
    const { full: tableFull, sampledOut } = this.table.counters;
    return {
      unverified: this.admission.size,
      firewalled: this.admission.firewalled,
      ...this.admission.counters,
      tableFull,
      sampledOut,
    };
  }

  /** The "log of available peers": every known peer with state, last heard, addresses and file count. */
  peers(): PeerSummary[] {
    return this.table.list().map((p) => ({
      peerId: p.peerId,
      state: p.state,
      lastHeardAt: p.lastHeardAt,
      addresses: p.addresses,
      advertised: addressSets(p.record),
      files: this.files.countOf(p.peerId),
    }));
  }
}

/** Whether `record` lists `fetchAddress` as the fetch address of one of its sets. */
function listsFetch(record: PeerRecord, fetchAddress: string): boolean {
  return addressSets(record).some((set) => set.fetch === fetchAddress);
}

/** host:port with the host replaced (IPv6 bracketed), the port kept. */
function withHost(address: string, host: string): string {
  const port = /:(\d+)$/.exec(address)?.[1] ?? '';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
