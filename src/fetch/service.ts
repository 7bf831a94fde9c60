/**
 * The Fetch service factory (Join + periodic sync): wires the pure round logic (SyncRounds) to
 * its ports (PeerStore, FetchTransport, SharedFileFeed) and to its driving adapter, the HTTP API.
 * It runs a round per interval on a timer (one at a time, never overlapping), keeps the store in
 * step, announces leave on a clean stop, and offers sources (Download) and neighbour candidates
 * (Search). All table changes happen in synchronous domain calls on the one event loop, so
 * concurrent answers and rounds cannot interleave inside a merge.
 *
 * Its API listens on a peer port: TLS 1.3 for other peers, plaintext for this host. A known peer
 * is dialled pinned to its record's id; a join address (the one place without a known id) is
 * trusted on first use: the id it proves on the first successful contact is pinned in the store,
 * and later contacts expect it. A pinned address that proves another id is refused, with both ids
 * and the way to accept the new one (`peershare peers forget ID`) in the log and the pin listing.
 */
import { isPeershareError, PeershareError } from '../shared/errors.ts';
import { createHttpApp, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { adminGuard } from '../shared/admin-guard.ts';
import { serveMetrics } from '../shared/metrics.ts';
import { hostPort } from '../shared/address.ts';
import type { Signer } from '../shared/keys.ts';
import { servePeerHttp, type PeerPort } from '../shared/peer-port.ts';
import type { PeerTls } from '../shared/peer-tls.ts';
import { registerFetchRoutes, type FirewalledPeer, type JoinPinView } from './adapters/http/fetch-routes.ts';
import { isAddress, type ServiceAddresses } from './domain/addresses.ts';
import { ShareWatch } from './share-watch.ts';
import type { FetchConfig } from './domain/config.ts';
import type {
  AdmissionStatus,
  FileSource,
  NeighbourCandidate,
  PeerSummary,
  PlannedSync,
} from './domain/sync-rounds.ts';
import { SyncRounds } from './domain/sync-rounds.ts';
import type {
  FetchTransport,
  JoinPin,
  NeighbourDirectory,
  PeerStore,
  PortMapper,
  Random,
  SharedFileFeed,
  SourceDirectory,
  WallClock,
} from './ports.ts';
import { systemClock } from '../shared/clock.ts';
import { StoreWriter } from './store-writer.ts';
import { answerWithFiles, FetchApiBoundAtStart } from './answer.ts';
import { fetchMetrics } from './metrics.ts';
import { AddressLearner, DialBackLimiter, type Reachability } from './domain/reachability.ts';
import { askerFilesIn, observedIn, type SyncRequest } from './domain/messages.ts';
import { portOf } from '../shared/address.ts';
import { addressSets } from './domain/peer-record.ts';
import type { PortMappingStatus } from './domain/port-mapping.ts';

/** The port a join address without one is assumed to use (the Fetch service's default). */
export const DEFAULT_JOIN_PORT = 7874;
/** Peers told directly of a clean leave; the tombstone reaches the rest by gossip. */
const MAX_LEAVE_NOTICES = 64;
const LEAVE_DEADLINE_MS = 1_000;
/** A sync request is one record (< 1 KiB) and at most MAX_HAVE digest entries (~30 bytes each). */
const BODY_LIMIT = 64 * 1024;

export interface FetchServiceComponents {
  identity: Signer;
  /** TLS credentials from the same identity key: the API's peer port presents them. */
  tls: PeerTls;
  logger: Logger;
  host: string;
  port: number;
  /** Host names the API answers to besides IP addresses and localhost (the allowedHosts setting). */
  allowedHosts?: readonly string[];
  /** The API token GET /metrics and DELETE /join-pins ask for off loopback (shared/admin-guard.ts). */
  apiToken?: string;
  /** Addresses announced to other peers; `fetch` defaults to the address this API is bound to. */
  addresses: { files: string; search: string; fetch?: string };
  /** Further address sets announced after `addresses`, in the order others should try them (--advertise repeated). */
  otherAddresses?: ServiceAddresses[];
  /**
   * Learn the host to advertise from other peers (bound to a wildcard, none given): the address
   * their answers saw, once one of them dialled this peer back there (domain/reachability.ts).
   */
  learnAddress?: boolean;
  /** host[:port] of known peers' Fetch APIs, tried in order while no live peer is known. */
  join: readonly string[];
  intervalMs: number;
  fanout: number;
  /** Liveness bounds and caps (see domain/config.ts); defaults for the rest. */
  tuning?: Partial<FetchConfig>;
  store: PeerStore;
  transport: FetchTransport;
  files: SharedFileFeed;
  clock?: WallClock;
  random?: Random;
  /** false: no timer, rounds run only through runRound() (tests and benchmarks count rounds). */
  autoRounds?: boolean;
  /** The home router to ask to forward the peer ports (--nat upnp); none: not asked. */
  portMapper?: PortMapper;
}

export interface FetchStatus {
  peerId: string;
  /** joining: join addresses tried, none answered yet (retried with backoff); alone: nobody to ask. */
  state: 'stopped' | 'joining' | 'joined' | 'alone';
  knownPeers: number;
  alivePeers: number;
  round: number;
  failedJoinAttempts: number;
  /** Admission of records (domain/admission.ts): what waits unverified, what was refused, evicted, verified. */
  admission: AdmissionStatus;
  /** Whether other hosts can reach this peer, and at which address (domain/reachability.ts). */
  reachability: Reachability;
  /** The addresses this peer's record advertises now (the first of `advertisedAll`). */
  advertised: ServiceAddresses | undefined;
  /** Every address set this peer's record lists, in order. */
  advertisedAll: ServiceAddresses[];
  /** Dial-backs other peers asked of this one: done (whatever the outcome), and refused by the limits. */
  dialBacks: { served: number; refused: number };
  /** What the home router answered when asked to forward the peer ports (--nat). */
  portMapping: PortMappingStatus;
}

const NO_ADMISSION: AdmissionStatus = {
  unverified: 0,
  firewalled: 0,
  refusedNew: 0,
  refusedBackoff: 0,
  evictedUnverified: 0,
  verificationsOk: 0,
  verificationsFailed: 0,
  droppedAfterFailures: 0,
  tableFull: 0,
  sampledOut: 0,
};

export interface RoundReport {
  round: number;
  asked: number;
  failed: number;
}

export interface FetchService extends Startable, SourceDirectory, NeighbourDirectory {
  readonly url: string;
  status(): FetchStatus;
  /** Every known peer with state, last heard, addresses and file count. */
  peers(): PeerSummary[];
  /** Join addresses and the id each proved on first contact, with the last other id refused there. */
  joinPins(): JoinPinView[];
  /** Forget the pins of a peer id or join address (accept a new key); returns those dropped. */
  forgetJoinPins(key: string): JoinPin[];
  /** The files address `peerId` is dialled at if this peer verified it (reached it itself), else undefined. */
  verifiedFilesAddress(peerId: string): string | undefined;
  /**
   * Where to connect back to `peerId` for a Push naming `named` as its files address: the files
   * address this peer dials it at, if it is verified here and `named` is one its record lists.
   */
  connectBackAddress(peerId: string, named: string): string | undefined;
  /** Whether `peerId` is held firewalled: its key proven, never dialled (connect-back only). */
  isFirewalled(peerId: string): boolean;
  /** Firewalled peers that list `fileId` (reachable only by connect-back), marked. */
  firewalledHoldersOf(fileId: string): Array<FileSource & { firewalled: true }>;
  /** Peers held firewalled, with their record's addresses and time of signing (their only sign of life) and file count. */
  firewalledPeers(): FirewalledPeer[];
  /** Run one round now (after any round in progress); resolves when its answers are applied. */
  runRound(): Promise<RoundReport>;
  /** Stop; `leave: false` stops as abruptly as a crash would, without telling anyone. */
  stop(options?: { leave?: boolean }): Promise<void>;
}

/** Run `task` on the items in order, at most `limit` at once, starting none once `open()` is false. */
async function inTurn<T>(
  items: readonly T[],
  limit: number,
  open: () => boolean,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && open()) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The port of this peer's own Fetch address, as its record advertises it. */
function fetchPortOf(core: SyncRounds): number {
  return Number(/:(\d+)$/.exec(core.table.selfRecord.addresses.fetch)?.[1]);
}

/** host[:port] → host:port, or CONFIG_INVALID. */
export function joinAddress(value: string): string {
  // Before the first check: isAddress narrows its argument to string, so `value` would be never after it.
  const withPort = `${value}:${DEFAULT_JOIN_PORT}`;
  if (isAddress(value)) return value;
  if (isAddress(withPort)) return withPort;
  throw new PeershareError('CONFIG_INVALID', `join address ${JSON.stringify(value)} is not host[:port]`, {
    field: 'join',
  });
}

/** The log line (and refusal) of a join address that proved another id than the one pinned: SSH-style. */
export function changedKeyMessage(pin: JoinPin, proven: string): string {
  return (
    `THE PEER AT JOIN ADDRESS ${pin.address} HAS ANOTHER KEY: it proved peer id ${proven}, ` +
    `but peer id ${pin.peerId} was pinned for that address on first contact (${new Date(pin.pinnedAt).toISOString()}). ` +
    'Someone may be impersonating that peer, or it was given a new identity key; nothing from it is taken. ' +
    `If you trust the new id, accept it with: peershare peers forget ${pin.peerId}`
  );
}

export function createFetchService(c: FetchServiceComponents): FetchService {
  const join = c.join.map(joinAddress);
  const clock = c.clock ?? systemClock;
  const random = c.random ?? { next: () => Math.random() };
  let core: SyncRounds | undefined;
  /** Polled before each round: a change of our shared list re-signs our record (files news, sync-rounds.ts). */
  let shares: ShareWatch | undefined;
  let writer: StoreWriter | undefined;
  let app: HttpApp | undefined;
  let peerPort: PeerPort | undefined;
  let url = '';
  /** Join pins (address → pin), as stored; and the last other id each pinned address proved. */
  let pins = new Map<string, JoinPin>();
  const refused = new Map<string, { peerId: string; at: number }>();
  let timer: NodeJS.Timeout | undefined;
  let aborter = new AbortController();
  let rounds = 0;
  let failedJoinAttempts = 0;
  let chain: Promise<unknown> = Promise.resolve();
  let running = false;
  const learner = new AddressLearner(c.learnAddress === true);
  let portMapping: PortMappingStatus = c.portMapper ? { state: 'mapping' } : { state: 'off' };

  /** Ask the router to forward the peer ports; once it does, the next observation is checked by a dial-back at once. */
  function mapPorts(mapper: PortMapper, addresses: ServiceAddresses): void {
    const ports = [...new Set([addresses.files, addresses.search, addresses.fetch].map(portOf))];
    mapper.map(ports, aborter.signal).then(
      (status) => {
        portMapping = status;
        if (status.state === 'mapped') learner.recheckSoon();
        else if (status.state === 'failed')
          c.logger.warn({ gateway: status.gateway }, `port mapping: ${status.reason}`);
      },
      (err: unknown) => {
        portMapping = { state: 'failed', reason: (err as Error).message };
        c.logger.warn({ err: (err as Error).message }, 'port mapping failed');
      },
    );
  }
  const dialBacks = new DialBackLimiter();
  const dialBackCounts = { served: 0, refused: 0 };
  /** Peers that take our own file list (`askerFiles` in their answers): the cursor of it each holds ('' for none). */
  const filesHeldBy = new Map<string, string>();

  /**
   * An answer from `peerId` (dialled at `address`) saw this peer at `observed`: when learning,
   * ask that peer to dial back there, and advertise the address once it could.
   */
  function learnFrom(observed: string | undefined, peerId: string, address: string, fetchPort: number): void {
    if (!learner.shouldCheck(observed, rounds) || observed === undefined) return;
    c.transport.askDialBack(address, peerId, fetchPort, aborter.signal).then(
      (result) => {
        if (!running || !core) return;
        const moved = learner.checked(result.observed, result.reachable, peerId, rounds);
        core.setUnreachable(learner.status.state === 'unreachable');
        if (!result.reachable && learner.status.state === 'unreachable') {
          c.logger.warn(
            { observed: result.observed, by: peerId },
            'another host could not dial this peer back: it is not reachable from outside (NAT or firewall); others hold it firewalled',
          );
        }
        if (moved === undefined) return;
        core.readdress(moved);
        writer?.flush();
        if (result.reachable)
          c.logger.info(
            { address: moved, confirmedBy: peerId },
            'advertising the address other hosts reach this peer at (dialled back)',
          );
        else
          c.logger.info(
            { address: moved },
            'advertising the address other hosts see this peer at, though they cannot dial it: they hold it firewalled (connect-back only)',
          );
      },
      (err: unknown) => {
        learner.failed();
        c.logger.debug({ peerId, err: (err as Error).message }, 'dial-back not answered');
      },
    );
  }

  /**
   * Unreachable, nobody can dial this peer to ask for its file list: it sends the list along with
   * its own requests, to peers that said they take it, as a delta since the cursor they hold.
   */
  async function addOwnFiles(peerId: string, request: SyncRequest): Promise<void> {
    const held = filesHeldBy.get(peerId);
    if (learner.status.state !== 'unreachable' || held === undefined) return;
    try {
      const delta = await c.files.changesSince(held === '' ? undefined : held);
      const cap = core?.config.maxFilesPerPeer ?? 0;
      if (delta.added.length > cap || delta.removed.length > cap) return;
      request.ownFiles = { ...(delta.reset || held === '' ? {} : { base: held }), delta };
    } catch (err) {
      c.logger.debug({ err: (err as Error).message }, 'own file list not read; the request goes without it');
    }
  }

  /** Another peer asks to be dialled back at the source address of its request (never one it names). */
  async function dialBack(
    peerId: string,
    host: string,
    port: number,
  ): Promise<{ observed: string; reachable: boolean }> {
    if (!dialBacks.take(host, clock.epochMs())) {
      dialBackCounts.refused++;
      throw new PeershareError('RATE_LIMITED', 'too many dial-backs asked from this address; ask again in a minute', {
        retryAfterSeconds: 60,
      });
    }
    dialBackCounts.served++;
    try {
      return { observed: host, reachable: await c.transport.reach(hostPort(host, port), peerId, aborter.signal) };
    } finally {
      dialBacks.release();
    }
  }

  async function round(): Promise<RoundReport> {
    if (!core || !running) throw new PeershareError('UNAVAILABLE', 'fetch service is not running');
    const live = core;
    try {
      await shares?.poll();
    } catch (err) {
      c.logger.debug({ err: (err as Error).message }, 'shared-file list not read; this round does not re-sign for it');
    }
    if (!running) return { round: rounds, asked: 0, failed: 0 }; // stopped meanwhile: no round
    const plans = live.startRound();
    const number = ++rounds;
    let failed = 0;
    let asked = 0;
    const ask = async ({ target, request }: PlannedSync): Promise<void> => {
      asked++;
      // A known peer is dialled pinned to its record's id; a join address to the id pinned on first use, if any.
      const pin = target.peerId === undefined ? pins.get(target.address) : undefined;
      try {
        if (target.peerId !== undefined) await addOwnFiles(target.peerId, request);
        const answer = await c.transport.sync(target.address, target.peerId ?? pin?.peerId, request, aborter.signal);
        if (!running) return;
        live.applyResponse(target, answer.body, answer.peerId);
        const held = askerFilesIn(answer.body);
        if (held === undefined) filesHeldBy.delete(answer.peerId);
        else filesHeldBy.set(answer.peerId, held);
        if (target.peerId === undefined) joinAnswered(target.address, answer.peerId, pin);
        learnFrom(observedIn(answer.body), answer.peerId, target.address, fetchPortOf(live));
      } catch (err) {
        if (!running) return;
        failed++;
        const refusal = isPeershareError(err) ? err.details?.body : undefined;
        live.applyFailure(target, refusal);
        if (target.peerId === undefined) {
          failedJoinAttempts++;
          if (pin && isPeershareError(err) && err.code === 'PEER_ID_MISMATCH') {
            const proven = String(err.details?.proven);
            refused.set(pin.address, { peerId: proven, at: clock.epochMs() });
            c.logger.error({ address: pin.address, pinned: pin.peerId, proven }, changedKeyMessage(pin, proven));
          } else {
            c.logger.warn({ address: target.address, err: (err as Error).message }, 'join address did not answer');
          }
        } else {
          c.logger.debug(
            { peerId: target.peerId, address: target.address, err: (err as Error).message },
            'sync failed',
          );
        }
      }
    };
    // The fanout at once; verification probes a few at a time, so that a burst of them (many peers
    // joining) queues here instead of piling up handshakes that then miss their deadline. None
    // starts after half an interval: addresses that swallow connections (a flood of records naming
    // blackholes) cannot stretch the round; probes not started stay planned for a later round.
    const probes = plans.filter((p) => p.target.verify);
    const probeUntil = clock.epochMs() + c.intervalMs / 2;
    await Promise.all([
      ...plans.filter((p) => !p.target.verify).map(ask),
      inTurn(probes, live.config.verifyConcurrency, () => running && clock.epochMs() < probeUntil, ask),
    ]);
    if (running) writer?.flush();
    return { round: number, asked, failed };
  }

  /** Trust on first use: a join address's first good answer pins the id it proved. */
  function joinAnswered(address: string, peerId: string, pin: JoinPin | undefined): void {
    refused.delete(address);
    if (pin) return;
    const fresh = { address, peerId, pinnedAt: clock.epochMs() };
    c.store.pinJoin(fresh);
    pins.set(address, fresh);
    c.logger.info({ address, peerId }, 'join address pinned to the peer id it proved (trust on first use)');
  }

  function joinPins(): JoinPinView[] {
    return [...pins.values()].map((pin) => {
      const r = refused.get(pin.address);
      return r ? { ...pin, refused: r } : { ...pin };
    });
  }

  function forgetJoinPins(key: string): JoinPin[] {
    if (!running) throw new PeershareError('UNAVAILABLE', 'fetch service is not running');
    const dropped = c.store.forgetJoinPins(key);
    for (const pin of dropped) {
      pins.delete(pin.address);
      refused.delete(pin.address);
      c.logger.warn(
        { address: pin.address, peerId: pin.peerId },
        'join pin forgotten: the next contact pins whatever id the address proves',
      );
    }
    return dropped;
  }

  function runRound(): Promise<RoundReport> {
    const next = chain.then(round);
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(delay: number): void {
    timer = setTimeout(() => {
      runRound()
        .catch((err: unknown) => c.logger.error({ err }, 'fetch round failed'))
        .finally(() => {
          if (running) schedule(c.intervalMs);
        });
    }, delay);
  }

  async function announceLeave(live: SyncRounds): Promise<void> {
    const tombstone = live.leave();
    const targets = live.table
      .list()
      .filter((p) => p.state !== 'down')
      .slice(0, MAX_LEAVE_NOTICES);
    const deadline = new AbortController();
    const t = setTimeout(() => deadline.abort(), LEAVE_DEADLINE_MS);
    await Promise.allSettled(
      targets.map((p) => c.transport.announceLeave(p.addresses.fetch, p.peerId, tombstone, deadline.signal)),
    );
    clearTimeout(t);
  }

  function connectBackAddress(peerId: string, named: string): string | undefined {
    const peer = core?.table.get(peerId);
    return peer && addressSets(peer.record).some((set) => set.files === named) ? peer.addresses.files : undefined;
  }

  function status(): FetchStatus {
    const peers = core?.table.list() ?? [];
    const alive = peers.filter((p) => p.state === 'alive').length;
    const joined = core?.joined ?? false;
    const state = !running ? 'stopped' : joined ? 'joined' : join.length > 0 ? 'joining' : 'alone';
    return {
      peerId: c.identity.peerId,
      state,
      knownPeers: peers.length,
      alivePeers: alive,
      round: rounds,
      failedJoinAttempts,
      admission: core?.admissionStatus() ?? NO_ADMISSION,
      reachability: learner.status,
      advertised: core?.table.selfRecord.addresses,
      advertisedAll: core ? addressSets(core.table.selfRecord) : [],
      dialBacks: { ...dialBackCounts },
      portMapping,
    };
  }

  return {
    name: 'fetch',
    get url() {
      return url;
    },
    status,
    peers: () => core?.peers() ?? [],
    sourcesFor: (fileId: string): FileSource[] => core?.sourcesFor(fileId) ?? [],
    neighbourCandidates: (): NeighbourCandidate[] => core?.neighbourCandidates() ?? [],
    joinPins,
    forgetJoinPins,
    runRound,
    verifiedFilesAddress: (peerId: string) => core?.table.get(peerId)?.addresses.files,
    connectBackAddress,
    isFirewalled: (peerId: string) => core?.admission.isFirewalled(peerId) === true && !core.table.has(peerId),
    firewalledHoldersOf: (fileId: string) => core?.firewalledHoldersOf(fileId) ?? [],
    firewalledPeers: () => core?.firewalledPeers() ?? [],

    async start() {
      aborter = new AbortController();
      const http = await createHttpApp({
        service: 'fetch',
        logger: c.logger,
        allowedHosts: c.allowedHosts,
        bodyLimit: BODY_LIMIT,
        health: () => ({ ...status() }),
      });
      app = http;
      // Routes must exist before listen, but the core needs the bound address (port 0): bound below.
      const api = new FetchApiBoundAtStart();
      registerFetchRoutes(http, api, adminGuard(c.host, c.apiToken));
      serveMetrics(
        http,
        fetchMetrics(
          c.identity.peerId,
          status,
          () => core?.peers() ?? [],
          () => core?.log.counts,
        ),
        { host: c.host, apiToken: c.apiToken },
      );
      try {
        await c.tls.ready();
        const bound = await servePeerHttp(http, c.host, c.port, c.tls, c.logger);
        peerPort = bound;
        url = `http://${hostPort(bound.host, bound.port)}`;
        const addresses: ServiceAddresses = {
          files: c.addresses.files,
          search: c.addresses.search,
          fetch: c.addresses.fetch ?? hostPort(bound.host, bound.port),
        };
        const live = new SyncRounds({
          signer: c.identity,
          addresses,
          ...(c.otherAddresses?.length ? { otherAddresses: c.otherAddresses } : {}),
          clock,
          random,
          join,
          config: { ...c.tuning, intervalMs: c.intervalMs, fanout: c.fanout },
        });
        const loaded = c.store.loadRecords();
        live.restore(loaded);
        writer = new StoreWriter(c.store, live, loaded);
        writer.flush();
        pins = new Map(c.store.joinPins().map((pin) => [pin.address, pin]));
        core = live;
        shares = new ShareWatch(c.files, () => live.sharesChanged());
        api.bind({
          ...answerWithFiles(live, c.files, c.store, () => writer?.flush(), c.logger),
          joinPins,
          forgetJoinPins,
          dialBack,
        });
      } catch (err) {
        // A port in use or a bad address: release what was opened, so a failed start leaks nothing.
        await peerPort?.close();
        peerPort = undefined;
        await http.close();
        app = undefined;
        throw err;
      }
      running = true;
      if (c.portMapper) mapPorts(c.portMapper, core.table.selfRecord.addresses);
      if (c.autoRounds !== false) schedule(0);
      c.logger.info({ url, peerId: core.peerId, known: core.table.size, join }, 'fetch service listening');
    },

    async stop(options: { leave?: boolean } = {}) {
      const wasRunning = running;
      running = false;
      clearTimeout(timer);
      timer = undefined;
      aborter.abort();
      await chain;
      if (wasRunning && core && options.leave !== false) await announceLeave(core);
      writer?.flush();
      await peerPort?.close();
      peerPort = undefined;
      await app?.close();
      app = undefined;
      await c.portMapper?.close();
      c.transport.close();
      c.store.close();
      core = undefined;
      writer = undefined;
    },
  };
}
