/**
 * Many Fetch cores (the project's own SyncRounds with its PeerTable, Admission and
 * AvailabilityMap, answered through the service's own answerWithFiles) on an in-memory network,
 * driven by one simulated clock. It follows test/support/fetch-memory-network.ts (which src/
 * may not import), with what a measurement needs besides: each peer's own shared-file feed, the
 * bytes of every request and answer as the JSON the real transport sends, deterministic
 * identities, and rounds in which every request is in flight at once.
 *
 * A round, as the service runs one and `bench -- join` steps it on every peer at once:
 *   1. every live peer plans its requests (startRound);
 *   2. the requests go in waves, as the service sends them: the fanout and the first
 *      verifyConcurrency verification probes of every peer at once, then each peer's next
 *      verifyConcurrency probes, and so on (service.ts sends probes in turn, a few at a time). The
 *      requests of a wave arrive in a seeded random order and each is answered at once (answer()
 *      takes the asker's announce then, as a real answerer does mid-round); then every asker of
 *      the wave applies its answer, or the failure (no peer at the address, a refusal);
 *   3. the clock moves one interval.
 * The request bodies are all made at step 1 (as startRound makes them); a later wave's answers
 * already reflect what earlier waves brought their answerers. Two other schedules bracket it:
 * "together" (one wave: no answer applied before every request of the round was answered, news
 * moves one hop per round) and "in-turn" (each answer applied as soon as it is made, so later
 * answerers and askers already hold what earlier ones brought; test/support's network goes
 * further still, each peer planning only after the peers before it applied their answers).
 * A fourth, "timed" (fetch-timed.ts), puts the round on a timeline: every request and every
 * answer takes a seeded lognormal delay (`latency`), each request is answered when it arrives and
 * each answer applied when it returns, the probes leaving a few at a time as answers come back,
 * so requests overlap as they do on the real network.
 *
 * Nothing is encoded for delivery: the request and answer objects are handed over (the domain
 * parses them as untrusted input either way). Every record object exists once for the whole
 * network: each peer's own record is registered in a process-wide lookup of verified records
 * (SyncRoundsOptions.verified), so a peer that takes it keeps that very object, not a copy of its
 * own. A record that is not the registered one (an older seq) is verified as usual. Signatures
 * are checked once per record for the whole network (memoizedVerifier). Bytes are counted as the
 * length of each message's JSON, computed without building it (jsonLength, a record's length
 * remembered), equal to JSON.stringify(message).length.
 *
 * Loss (`loss`): a request is lost with that probability (seeded; the answerer never sees it) and
 * the asker takes it as a failed contact, as it would a timeout (under "timed" delivery, when its
 * answer would have come back: no timeout is modelled).
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { answerWithFiles, type ViewApi } from '../fetch/answer.ts';
import type { FetchConfig } from '../fetch/domain/config.ts';
import { memoizedVerifier } from '../fetch/domain/keys.ts';
import type { FileDelta, FileEntry } from '../fetch/domain/messages.ts';
import { sample, seededRandom, type Random } from '../fetch/domain/random.ts';
import { SyncRounds, type PlannedSync } from '../fetch/domain/sync-rounds.ts';
import type { PeerRecord } from '../fetch/domain/peer-record.ts';
import { ShareWatch } from '../fetch/share-watch.ts';
import type { PeerStore, SharedFileFeed } from '../fetch/ports.ts';
import { isPeershareError, toErrorBody } from '../shared/errors.ts';
import { signerFromPrivateKey, type Signer } from '../shared/keys.ts';
import { silentLogger } from '../shared/logging.ts';
import { mix } from './search-sim.ts';
import { simRank, simRankKey, type SimRankKey } from './sim-rank.ts';
import { lognormalLatency, type LatencyModel } from './overlay.ts';
import { timedRound } from './fetch-timed.ts';

/** The simulated clock starts at a plausible epoch time, as the peers' clocks would. */
const EPOCH_MS = 1_700_000_000_000;
/** PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const DEFAULT_PORTS = { files: 7001, search: 7002, fetch: 7003 };

/** Peer `i`'s own loopback host (127.0.0.1 onwards): admission counts each 127.x as a host. */
export function simHost(i: number): string {
  const n = i + 1;
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** A deterministic Ed25519 identity: the key of peer `i` of a run seeded `seed`. */
export function simSigner(seed: number, i: number): Signer {
  const secret = createHash('sha256').update(`peershare-sim:${seed}:${i}`).digest();
  return signerFromPrivateKey(
    createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' }),
  );
}

/** A file id (64 hex) that names shared file `k` of peer `i` in a run seeded `seed`. */
export function simFileId(seed: number, i: number, k: number): string {
  return createHash('sha256').update(`peershare-sim-file:${seed}:${i}:${k}`).digest('hex');
}

/**
 * One peer's shared files as the Files service's change feed reports them: cursors
 * "epoch:version", the whole list (reset) for none or an unknown one.
 */
export class SimFileFeed implements SharedFileFeed {
  private readonly files = new Map<string, FileEntry>();
  private readonly changedAt = new Map<string, number>();
  private version = 0;

  constructor(private readonly epoch: string) {}

  add(file: FileEntry): void {
    this.files.set(file.id, file);
    this.changedAt.set(file.id, ++this.version);
  }

  changesSince(cursor: string | undefined): Promise<FileDelta> {
    const [epoch, v] = (cursor ?? '').split(':');
    const since = Number(v);
    const now = `${this.epoch}:${this.version}`;
    if (epoch !== this.epoch || !Number.isSafeInteger(since) || since > this.version) {
      return Promise.resolve({ cursor: now, reset: true, added: [...this.files.values()], removed: [] });
    }
    const added: FileEntry[] = [];
    for (const [id, at] of this.changedAt) if (at > since) added.push(this.files.get(id) as FileEntry);
    return Promise.resolve({ cursor: now, reset: false, added, removed: [] });
  }
}

/** answerWithFiles reads the store only for GET /events, which nobody asks here. */
const NO_STORE: PeerStore = {
  loadRecords: () => [],
  saveRecord: () => {},
  removeRecord: () => {},
  updateRecords: () => {},
  appendEvents: () => {},
  recentEvents: () => [],
  close: () => {},
  joinPins: () => [],
  pinJoin: () => {},
  forgetJoinPins: () => [],
};
const NO_FLUSH = () => {};

export interface FetchSimPeer {
  readonly index: number;
  readonly host: string;
  readonly address: string;
  readonly core: SyncRounds;
  readonly api: ViewApi;
  readonly feed: SimFileFeed;
  /** Polled before each round, as the service does: a change of the feed re-signs the record (files news). */
  readonly shares: ShareWatch;
  dead: boolean;
}

/** Messages and bytes of one round (or summed over several). */
export interface RoundTraffic {
  requests: number;
  failures: number;
  /** JSON bytes of requests and answers (refusals included), as the transport sends the bodies. */
  bytes: number;
  /** Of the requests, verification probes (admission.ts). */
  probes: number;
  /** Records carried by the answers (view.records). */
  records: number;
}

export function noTraffic(): RoundTraffic {
  return { requests: 0, failures: 0, bytes: 0, probes: 0, records: 0 };
}

/** Add `more` into `sum`. */
export function addTraffic(sum: RoundTraffic, more: RoundTraffic): void {
  sum.requests += more.requests;
  sum.failures += more.failures;
  sum.bytes += more.bytes;
  sum.probes += more.probes;
  sum.records += more.records;
}

/**
 * The busiest peer of a round: the most requests one peer sent (probes and pushes included), the
 * most bytes of one peer's own requests and their answers (their mean over the peers is a
 * round's bytes per peer), and the most bytes of the requests one peer answered.
 */
export interface RoundPeak {
  readonly requests: number;
  readonly askedBytes: number;
  readonly servedBytes: number;
}

interface Send {
  peer: FetchSimPeer;
  plan: PlannedSync;
  /** A verification probe: sent a few at a time (timed delivery). */
  probe: boolean;
  /** Handshake legs before it leaves (timed delivery): a first contact's, on a new connection. */
  handshake: number;
}
type Outcome = { body: unknown; from: string } | { refusal: unknown };

/**
 * How a round's requests meet their answers (see the header): "service", in waves as the service
 * sends them; "together", all in one wave; "in-turn", each answer applied as soon as it is made;
 * "timed", each request and answer delayed by a draw from the latency model.
 */
export type Delivery = 'service' | 'together' | 'in-turn' | 'timed';
export const DELIVERIES: readonly Delivery[] = ['service', 'together', 'in-turn', 'timed'];

/**
 * One-way delay of a request or an answer under "timed" delivery. Only the spread (sigma) changes
 * the counts: nothing in a round waits on a deadline, so the median only scales the timeline
 * (fetch-timed.ts). Sigma 1: in `bench -- join` every peer shares one event loop, so a round trip
 * is mostly a wait in its queue, spread like a position in a queue (the logarithm of a uniform
 * draw has standard deviation 1; the sum of two one-way draws of sigma 1 has 0.75, of 1.3 has 1).
 * docs/SCALE.md ("Checked against the real network") shows the counts for sigma 0 to 2.
 */
export const DEFAULT_FETCH_LATENCY: FetchLatency = { medianMs: 50, sigma: 1 };

/** The delays of "timed" delivery: each one-way leg lognormal; first contacts make `handshakeLegs` more (default 0). */
export interface FetchLatency extends LatencyModel {
  readonly handshakeLegs?: number;
}

export class FetchNetwork {
  readonly clock = { t: EPOCH_MS, epochMs: (): number => this.clock.t };
  readonly peers: FetchSimPeer[] = [];
  readonly traffic: RoundTraffic = noTraffic();
  /** The busiest peer of the last round (see RoundPeak). */
  lastRoundPeak: RoundPeak = { requests: 0, askedBytes: 0, servedBytes: 0 };
  /** The last round's bytes by peer index: of its own requests and their answers, of the requests it answered. */
  private askedBytes: number[] = [];
  private servedBytes: number[] = [];
  /** Arrival order of each round's requests. */
  private readonly random: Random;
  private readonly byAddress = new Map<string, FetchSimPeer>();
  private readonly verifier = memoizedVerifier();
  /** The current record of every peer that ever ran, by id: one object each for the whole network. */
  private readonly records = new Map<string, PeerRecord>();
  private readonly lossRandom: Random;
  private readonly logger = silentLogger();
  private readonly config: Partial<FetchConfig>;
  /** One-way delays of "timed" delivery. */
  private readonly delay: () => number;

  constructor(
    readonly seed: number,
    config: Partial<FetchConfig> = {},
    readonly delivery: Delivery = 'service',
    /** Probability that a request is lost (see the header). */
    readonly loss = 0,
    /** Delays of "timed" delivery. */
    readonly latency: FetchLatency = DEFAULT_FETCH_LATENCY,
  ) {
    this.config = { intervalMs: 3_000, ...config };
    this.random = seededRandom(mix(seed, 0xfe7c4));
    this.lossRandom = seededRandom(mix(seed, 0x1055));
    this.delay = lognormalLatency(latency, seededRandom(mix(seed, 0x7173d)));
  }

  /** A record registered as verified (a peer's current one), for SyncRoundsOptions.verified. */
  private readonly verified = (peerId: string): PeerRecord | undefined => this.records.get(peerId);

  /** Register `peer`'s current record (after it re-signed, say). */
  private register(peer: FetchSimPeer): void {
    const self = peer.core.table.selfRecord;
    if (this.records.get(self.peerId) !== self) this.records.set(self.peerId, self);
  }

  get intervalMs(): number {
    return this.config.intervalMs as number;
  }

  /** Fingerprints of the peers' ids, for their tables' ranks (sim-rank.ts). */
  readonly idPrints = new Map<string, number>();

  /** The key of peer `index`'s table sample (sim-rank.ts), drawn from the seed: a simulation replays. */
  sampleKey(index: number): SimRankKey {
    return simRankKey(this.seed, index);
  }

  /** Start peer number peers.length, sharing `files` files, joining through `join` (fetch addresses). */
  add(join: readonly string[], files = 0): FetchSimPeer {
    const index = this.peers.length;
    const host = simHost(index);
    const addresses = {
      files: `${host}:${DEFAULT_PORTS.files}`,
      search: `${host}:${DEFAULT_PORTS.search}`,
      fetch: `${host}:${DEFAULT_PORTS.fetch}`,
    };
    const core = new SyncRounds({
      signer: simSigner(this.seed, index),
      addresses,
      clock: this.clock,
      random: seededRandom(mix(this.seed, index, 0xfe7c5)),
      join,
      config: this.config,
      verifier: this.verifier,
      verified: this.verified,
      sampleRank: simRank(this.sampleKey(index), this.idPrints),
    });
    const feed = new SimFileFeed(`s${index}`);
    for (let k = 0; k < files; k++)
      feed.add({ id: simFileId(this.seed, index, k), name: `file-${index}-${k}.bin`, size: 1_000_000 + k });
    const peer: FetchSimPeer = {
      index,
      host,
      address: addresses.fetch,
      core,
      api: answerWithFiles(core, feed, NO_STORE, NO_FLUSH, this.logger),
      feed,
      shares: new ShareWatch(feed, () => core.sharesChanged()),
      dead: false,
    };
    this.peers.push(peer);
    this.byAddress.set(peer.address, peer);
    this.register(peer);
    return peer;
  }

  /** Stop `peer` as a crash would: every request to it fails from now on. */
  kill(peer: FetchSimPeer): void {
    peer.dead = true;
    this.byAddress.delete(peer.address);
  }

  get live(): FetchSimPeer[] {
    return this.peers.filter((p) => !p.dead);
  }

  /** One round (see the header); returns its traffic, also added to `traffic`. */
  async round(): Promise<RoundTraffic> {
    const waves: Send[][] = [];
    for (const peer of this.peers) if (!peer.dead) await peer.shares.poll();
    const byPeer: Send[][] = [];
    this.askedBytes = new Array<number>(this.peers.length).fill(0);
    this.servedBytes = new Array<number>(this.peers.length).fill(0);
    let mostRequests = 0;
    for (const peer of this.peers) {
      if (peer.dead) continue;
      let probes = 0;
      const sends: Send[] = [];
      for (const plan of peer.core.startRound()) {
        const probe = plan.target.verify !== undefined;
        // A probe dials a record it never reached, a join address a peer it does not know: new connections.
        const handshake = probe || plan.target.peerId === undefined ? (this.latency.handshakeLegs ?? 0) : 0;
        const send = { peer, plan, probe, handshake };
        sends.push(send);
        const wave =
          this.delivery === 'service' && send.probe ? Math.floor(probes++ / peer.core.config.verifyConcurrency) : 0;
        (waves[wave] ??= []).push(send);
      }
      byPeer.push(sends);
      mostRequests = Math.max(mostRequests, sends.length);
    }
    const traffic = noTraffic();
    if (this.delivery === 'timed') await this.timed(byPeer, traffic);
    else await this.inWaves(waves, traffic);
    for (const peer of this.peers) if (!peer.dead) this.register(peer);
    this.lastRoundPeak = {
      requests: mostRequests,
      askedBytes: this.askedBytes.reduce((a, b) => Math.max(a, b), 0),
      servedBytes: this.servedBytes.reduce((a, b) => Math.max(a, b), 0),
    };
    this.clock.t += this.intervalMs;
    addTraffic(this.traffic, traffic);
    return traffic;
  }

  /** The round on a timeline (fetch-timed.ts): each peer's requests, in the order it planned them. */
  private async timed(byPeer: Send[][], traffic: RoundTraffic): Promise<void> {
    const concurrency = (this.peers[0] as FetchSimPeer).core.config.verifyConcurrency;
    traffic.requests = byPeer.reduce((sum, sends) => sum + sends.length, 0);
    await timedRound(
      byPeer,
      concurrency,
      this.delay,
      (send) => this.deliver(send, traffic),
      (send, outcome) => this.apply(send, outcome, traffic),
    );
  }

  /** The round in waves: every request of a wave answered, in a random order, before the next wave. */
  private async inWaves(waves: Send[][], traffic: RoundTraffic): Promise<void> {
    for (const wave of waves) {
      const arrivals = sample(wave, wave.length, this.random);
      traffic.requests += arrivals.length;
      if (this.delivery === 'in-turn') {
        for (const send of arrivals) this.apply(send, await this.deliver(send, traffic), traffic);
        continue;
      }
      const outcomes: Outcome[] = [];
      for (const send of arrivals) outcomes.push(await this.deliver(send, traffic));
      arrivals.forEach((send, i) => this.apply(send, outcomes[i] as Outcome, traffic));
    }
  }

  /** The request arrives and is answered (or refused); counts its bytes. */
  private async deliver({ peer, plan }: Send, traffic: RoundTraffic): Promise<Outcome> {
    const count = (bytes: number, remote?: FetchSimPeer) => {
      traffic.bytes += bytes;
      this.askedBytes[peer.index] = (this.askedBytes[peer.index] ?? 0) + bytes;
      if (remote) this.servedBytes[remote.index] = (this.servedBytes[remote.index] ?? 0) + bytes;
    };
    const requestBytes = jsonLength(plan.request);
    if (plan.target.verify) traffic.probes++;
    if (this.loss > 0 && this.lossRandom.next() < this.loss) {
      count(requestBytes);
      return { refusal: undefined };
    }
    const remote = this.byAddress.get(plan.target.address);
    count(requestBytes, remote);
    if (!remote) return { refusal: undefined };
    try {
      const body = await remote.api.answer(plan.request, peer.host);
      count(jsonLength(body), remote);
      traffic.records += body.view.records.length;
      return { body, from: remote.core.peerId };
    } catch (err) {
      const refusal = isPeershareError(err) ? toErrorBody(err) : undefined;
      count(refusal ? jsonLength(refusal) : 0, remote);
      return { refusal };
    }
  }

  /** The asker takes the answer, or the failure, as the service does. */
  private apply({ peer, plan }: Send, outcome: Outcome, traffic: RoundTraffic): void {
    if ('body' in outcome) {
      try {
        peer.core.applyResponse(plan.target, outcome.body, outcome.from);
        return;
      } catch {
        // A malformed or over-cap answer: the service reports it as a failed contact.
      }
    }
    traffic.failures++;
    peer.core.applyFailure(plan.target, 'refusal' in outcome ? outcome.refusal : undefined);
  }
}

/** Characters JSON.stringify may write otherwise than as themselves (any surrogate: a lone one is escaped). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** JSON lengths of records (immutable objects, shared by every message that carries them). */
const recordLengths = new WeakMap<object, number>();

/**
 * JSON.stringify(value).length, without building the string: a record's length is computed once.
 * Handles what messages hold: objects, arrays, strings, finite numbers, booleans, null, undefined.
 */
export function jsonLength(value: unknown): number {
  switch (typeof value) {
    case 'string':
      // Only control characters, quotes, backslashes and lone surrogates are escaped: a string
      // with none of them (ids, addresses, digests) is its own length and two quotes.
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value).length : value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      const cached = recordLengths.get(value);
      if (cached !== undefined) return cached;
      let length: number;
      if (Array.isArray(value)) {
        length = 2 + Math.max(value.length - 1, 0);
        for (const item of value as unknown[])
          length += item === undefined || typeof item === 'function' ? 4 : jsonLength(item);
      } else {
        if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value).length;
        length = 2;
        let fields = 0;
        for (const [key, item] of Object.entries(value)) {
          if (item === undefined || typeof item === 'function') continue;
          length += JSON.stringify(key).length + 1 + jsonLength(item);
          fields++;
        }
        length += Math.max(fields - 1, 0);
      }
      if ('signature' in value && 'publicKey' in value) recordLengths.set(value, length);
      return length;
    }
    default:
      return 0;
  }
}
