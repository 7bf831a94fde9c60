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
 *
 * Nothing is encoded for delivery: the request and answer objects are handed over (the domain
 * parses them as untrusted input either way), so the strings of a record are shared by every
 * peer that holds it; only the small record objects verifyRecord makes are per peer. Every
 * message is JSON.stringify'd once to count its bytes. Signatures are checked once per record for
 * the whole network (memoizedVerifier).
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { answerWithFiles, type ViewApi } from '../fetch/answer.ts';
import type { FetchConfig } from '../fetch/domain/config.ts';
import { memoizedVerifier } from '../fetch/domain/keys.ts';
import type { FileDelta, FileEntry } from '../fetch/domain/messages.ts';
import { sample, seededRandom, type Random } from '../fetch/domain/random.ts';
import { SyncRounds, type PlannedSync } from '../fetch/domain/sync-rounds.ts';
import type { PeerStore, SharedFileFeed } from '../fetch/ports.ts';
import { isPeershareError, toErrorBody } from '../shared/errors.ts';
import { signerFromPrivateKey, type Signer } from '../shared/keys.ts';
import { silentLogger } from '../shared/logging.ts';
import { mix } from './search-sim.ts';

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
  dead: boolean;
}

/** Messages and bytes of one round (or summed over several). */
export interface RoundTraffic {
  requests: number;
  failures: number;
  /** JSON bytes of requests and answers (refusals included), as the transport sends the bodies. */
  bytes: number;
}

interface Send {
  peer: FetchSimPeer;
  plan: PlannedSync;
}
type Outcome = { body: unknown; from: string } | { refusal: unknown };

/**
 * How a round's requests meet their answers (see the header): "service", in waves as the service
 * sends them; "together", all in one wave; "in-turn", each answer applied as soon as it is made.
 */
export type Delivery = 'service' | 'together' | 'in-turn';

export class FetchNetwork {
  readonly clock = { t: EPOCH_MS, epochMs: (): number => this.clock.t };
  readonly peers: FetchSimPeer[] = [];
  readonly traffic: RoundTraffic = { requests: 0, failures: 0, bytes: 0 };
  /** Arrival order of each round's requests. */
  private readonly random: Random;
  private readonly byAddress = new Map<string, FetchSimPeer>();
  private readonly verifier = memoizedVerifier();
  private readonly logger = silentLogger();
  private readonly config: Partial<FetchConfig>;

  constructor(
    readonly seed: number,
    config: Partial<FetchConfig> = {},
    readonly delivery: Delivery = 'service',
  ) {
    this.config = { intervalMs: 3_000, ...config };
    this.random = seededRandom(mix(seed, 0xfe7c4));
  }

  get intervalMs(): number {
    return this.config.intervalMs as number;
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
      dead: false,
    };
    this.peers.push(peer);
    this.byAddress.set(peer.address, peer);
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
    for (const peer of this.peers) {
      if (peer.dead) continue;
      let probes = 0;
      for (const plan of peer.core.startRound()) {
        const wave =
          this.delivery === 'service' && plan.target.verify
            ? Math.floor(probes++ / peer.core.config.verifyConcurrency)
            : 0;
        (waves[wave] ??= []).push({ peer, plan });
      }
    }
    const traffic: RoundTraffic = { requests: 0, failures: 0, bytes: 0 };
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
    this.clock.t += this.intervalMs;
    this.traffic.requests += traffic.requests;
    this.traffic.failures += traffic.failures;
    this.traffic.bytes += traffic.bytes;
    return traffic;
  }

  /** The request arrives and is answered (or refused); counts its bytes. */
  private async deliver({ peer, plan }: Send, traffic: RoundTraffic): Promise<Outcome> {
    traffic.bytes += JSON.stringify(plan.request).length;
    const remote = this.byAddress.get(plan.target.address);
    if (!remote) return { refusal: undefined };
    try {
      const body = await remote.api.answer(plan.request, peer.host);
      traffic.bytes += JSON.stringify(body).length;
      return { body, from: remote.core.peerId };
    } catch (err) {
      const refusal = isPeershareError(err) ? toErrorBody(err) : undefined;
      traffic.bytes += refusal ? JSON.stringify(refusal).length : 0;
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
