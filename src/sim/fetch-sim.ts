/**
 * Membership and file availability measured on a simulated network of real Fetch cores
 * (fetch-network.ts), in three phases:
 *   1. join: N peers start at once, peer 0 alone and every other one with peer 0's address as its
 *      join address (as `bench -- join` starts its peers): rounds until every peer holds every
 *      other one alive. Or, with start "warm", every peer starts holding every other one's record,
 *      as a restart restores them from its peer store (SyncRounds.restore): no join phase, for
 *      sizes where N peers joining at once costs too much to simulate (its work grows as N³).
 *      With a table cap (maxPeers) below N − 1, a warm peer restores a uniform random subset of
 *      maxPeers of the others (a partial view, as the table's random sample would hold);
 *   2. steady: a few rounds more, for the bytes of a settled network, then the heap per peer;
 *   3. news: one new peer joins through a random known peer while a random peer shares a new file:
 *      rounds until half, 90 % and every one of the other peers hold the newcomer alive, until the
 *      newcomer holds everyone (or a full table), and until every other peer's availability map
 *      lists the new file. In a partial view "known" means held in the table, so "by all" may never
 *      come: the phase then runs its cap and reports how many held it, round by round;
 *   4. churn (optional): for some rounds, a fraction of the live peers crash each round and as many
 *      new ones join through a random live peer; then rounds until no live peer holds a crashed one
 *      alive, and how many live peers the live ones then fail to hold alive (under loss some live
 *      peer is always suspected, or down, somewhere).
 * Loss (optional) drops each request with a probability, in every phase (fetch-network.ts).
 * Everything is counted in rounds of simulated time; a seed gives the same counts every time.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { FetchConfig } from '../fetch/domain/config.ts';
import { sample, seededRandom } from '../fetch/domain/random.ts';
import {
  addTraffic,
  FetchNetwork,
  noTraffic,
  simFileId,
  type Delivery,
  type FetchLatency,
  type FetchSimPeer,
  type RoundTraffic,
} from './fetch-network.ts';
import { mix } from './search-sim.ts';

export interface FetchSimConfig {
  readonly peers: number;
  readonly seed: number;
  /** Rounds allowed to each phase before it counts as not converged. */
  readonly maxRounds: number;
  /** Rounds of the steady phase. */
  readonly steadyRounds: number;
  /** Files each peer shares from the start. */
  readonly filesPerPeer: number;
  readonly tuning?: Partial<FetchConfig>;
  /** "join" (default): all join through peer 0; "warm": all start knowing all (see the header). */
  readonly start?: 'join' | 'warm';
  /** How a round's answers are applied (fetch-network.ts); default "service". */
  readonly delivery?: Delivery;
  /** Probability that a request is lost (fetch-network.ts); default 0. */
  readonly loss?: number;
  /** One-way delays of "timed" delivery (fetch-timed.ts); default DEFAULT_FETCH_LATENCY. */
  readonly latency?: FetchLatency;
  /** Churn phase after the news: `rate` of the live peers crash and as many join, each round, for `rounds` rounds. */
  readonly churn?: { readonly rate: number; readonly rounds: number };
  /**
   * When the news phase ends: "all" (default) once the newcomer is known by all, knows all and the
   * new file is listed by all; "known" as soon as the newcomer is known by all (at 10,000 peers
   * the other two take hundreds or thousands of rounds).
   */
  readonly newsUntil?: 'all' | 'known';
  /** Called after each round with the phase and the round number (progress on stderr). */
  readonly progress?: (phase: string, round: number) => void;
}

/** Bytes and requests per peer per round of a phase. */
export interface PhaseTraffic {
  readonly rounds: number;
  readonly bytesPerPeerRound: number;
  readonly requestsPerPeerRound: number;
  /** Of the requests, verification probes; and records carried by the answers, per peer per round. */
  readonly probesPerPeerRound: number;
  readonly recordsPerPeerRound: number;
  readonly failures: number;
}

export interface ChurnMeasure {
  readonly rate: number;
  readonly rounds: number;
  readonly crashed: number;
  readonly joined: number;
  readonly traffic: PhaseTraffic;
  /** When churn stopped: alive entries that name a crashed peer, over all alive entries of live peers. */
  readonly staleAliveFraction: number;
  /** When churn stopped: live peers that joined during churn, held alive by how many live peers on average, over the live peers. */
  readonly joinersHeldFraction: number;
  /** Rounds after churn stopped until no live peer held a crashed one alive. */
  readonly settleRounds: number | null;
  readonly settle: PhaseTraffic;
  /**
   * Then: of the entries a live peer should hold alive (every other live peer, or a full table),
   * the fraction it does not (absent, suspected or down). Under loss it stays above 0.
   */
  readonly liveNotHeldAliveFraction: number;
}

export interface FetchMeasure {
  readonly peers: number;
  readonly seed: number;
  readonly delivery: Delivery;
  /** The delays of "timed" delivery (absent for the other schedules). */
  readonly latency?: FetchLatency;
  readonly start: 'join' | 'warm';
  /** The table cap (maxPeers) and whether it is below N − 1 (a partial view). */
  readonly maxPeers: number;
  readonly partial: boolean;
  readonly loss: number;
  /** Rounds until every peer held every other alive (0 for a warm start); null: not within maxRounds. */
  readonly joinRounds: number | null;
  readonly join: PhaseTraffic;
  readonly steady: PhaseTraffic;
  /** Rounds until every other peer held the newcomer alive. */
  readonly newPeerKnownRounds: number | null;
  /** Rounds until half and 90 % of the other peers held it alive. */
  readonly newPeerKnownHalfRounds: number | null;
  readonly newPeerKnown90Rounds: number | null;
  /** Other peers holding the newcomer alive after each news round (the last one: when the phase ended). */
  readonly newPeerKnownBy: readonly number[];
  /** Rounds until the newcomer held every other peer alive. */
  readonly newPeerKnowsAllRounds: number | null;
  /** Rounds until half, 90 % and every one of the other peers' availability maps listed the new file. */
  readonly newFileHalfRounds: number | null;
  readonly newFile90Rounds: number | null;
  readonly newFileRounds: number | null;
  /** Other peers listing the new file when the news phase ended (all of them unless it ran out of rounds). */
  readonly newFileKnownBy: number;
  /** Other peers listing the new file after each news round, until all did (the newcomer among them: it lists the file once it probed the sharer). */
  readonly newFileListedBy: readonly number[];
  /** Bytes per peer (the newcomer included) of each news round. */
  readonly newsBytesPerPeerByRound: readonly number[];
  readonly news: PhaseTraffic;
  /** Heap (and typed arrays) the network holds after the steady phase, per peer, and per table entry (all entries of all tables). */
  readonly heapPerPeerBytes: number;
  readonly heapPerEntryBytes: number;
  /** Table entries per peer when the heap was measured. */
  readonly entriesPerPeer: number;
  /** Totals over all peers after the news phase: verified new peers refused by a full table, entries sampled out. */
  readonly tableFull: number;
  readonly sampledOut: number;
  readonly churn?: ChurnMeasure;
  readonly wallSeconds: number;
  readonly rssMiB: number;
}

/** The runtime's collector, exposed without a command-line flag, so heap figures are after a full GC. */
function collector(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  // Typed arrays (the peer tables' columns, entry-slots.ts) live outside the JS heap.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Whether every live peer holds every other live peer alive; with a table cap below that, whether
 * every live peer holds a full table of live peers alive.
 */
export function allKnowAll(net: FetchNetwork, cap = Infinity): boolean {
  const live = net.live;
  const ids = new Set(live.map((p) => p.core.peerId));
  const want = Math.min(ids.size - 1, cap);
  return live.every(
    (p) =>
      p.core.table.size >= want &&
      p.core.table.list().filter((q) => q.state === 'alive' && ids.has(q.peerId)).length >= want,
  );
}

function phaseTraffic(sum: RoundTraffic, rounds: number, peers: number): PhaseTraffic {
  return perPeer(sum, Math.max(rounds, 1) * peers, rounds);
}

/** Run rounds until `done()` holds, at most `max`; the rounds run (null if `done` never held) and their traffic. */
async function roundsUntil(
  net: FetchNetwork,
  done: () => boolean,
  max: number,
  onRound?: (round: number, traffic: RoundTraffic) => void,
): Promise<{ rounds: number | null; ran: number; traffic: RoundTraffic }> {
  const traffic = noTraffic();
  for (let round = 1; round <= max; round++) {
    const one = await net.round();
    addTraffic(traffic, one);
    onRound?.(round, one);
    if (done()) return { rounds: round, ran: round, traffic };
  }
  return { rounds: null, ran: max, traffic };
}

export async function runFetchSim(config: FetchSimConfig): Promise<FetchMeasure> {
  const gc = collector();
  const started = performance.now();
  const heapBefore = heapAfterGc(gc);
  const loss = config.loss ?? 0;
  const net = new FetchNetwork(config.seed, config.tuning, config.delivery, loss, config.latency);
  const n = config.peers;
  const bootstrap = net.add([], config.filesPerPeer);
  for (let i = 1; i < n; i++) net.add([bootstrap.address], config.filesPerPeer);
  const cap = (net.peers[0] as FetchSimPeer).core.config.maxPeers;
  const partial = cap < n - 1;

  const start = config.start ?? 'join';
  if (start === 'warm') {
    const records = net.peers.map((p) => p.core.table.selfRecord);
    const pick = seededRandom(mix(config.seed, n, 0x3a4));
    for (const peer of net.peers) {
      const others = records.filter((r) => r !== peer.core.table.selfRecord);
      peer.core.restore(partial ? sample(others, cap, pick) : others);
    }
  }
  const join =
    start === 'warm'
      ? { rounds: 0, ran: 0, traffic: noTraffic() }
      : await roundsUntil(
          net,
          () => allKnowAll(net, cap),
          config.maxRounds,
          (r) => config.progress?.('join', r),
        );
  const steady = await roundsUntil(
    net,
    () => false,
    config.steadyRounds,
    (r) => config.progress?.('steady', r),
  );
  const entries = net.peers.reduce((sum, p) => sum + p.core.table.size, 0);
  const heapPerPeerBytes = (heapAfterGc(gc) - heapBefore) / n;

  // News: a newcomer through a random known peer, and a new file on another random peer.
  const random = seededRandom(mix(config.seed, n, 0x4e5));
  const via = net.peers[Math.floor(random.next() * n)] as FetchSimPeer;
  const sharer = net.peers[Math.floor(random.next() * n)] as FetchSimPeer;
  const fileId = simFileId(config.seed, sharer.index, config.filesPerPeer);
  sharer.feed.add({ id: fileId, name: 'new-file.bin', size: 4_096 });
  const newcomer = net.add([via.address], config.filesPerPeer);
  const others = net.peers.filter((p) => p !== newcomer);
  const newId = newcomer.core.peerId;
  const knownBy: number[] = [];
  let known: number | null = null;
  let knownHalf: number | null = null;
  let known90: number | null = null;
  let knowsAll: number | null = null;
  let fileKnown: number | null = null;
  let fileHalf: number | null = null;
  let file90: number | null = null;
  let fileKnownBy = 0;
  const listedBy: number[] = [];
  const newsBytes: number[] = [];
  const news = await roundsUntil(
    net,
    () => known !== null && ((knowsAll !== null && fileKnown !== null) || config.newsUntil === 'known'),
    config.maxRounds,
    (round, traffic) => {
      config.progress?.('news', round);
      newsBytes.push(Math.round(traffic.bytes / (n + 1)));
      const holding = others.filter((p) => p.core.table.get(newId)?.state === 'alive').length;
      knownBy.push(holding);
      if (knownHalf === null && holding >= others.length / 2) knownHalf = round;
      if (known90 === null && holding >= others.length * 0.9) known90 = round;
      if (known === null && holding === others.length) known = round;
      if (
        knowsAll === null &&
        newcomer.core.table.list().filter((q) => q.state === 'alive').length >= Math.min(others.length, cap)
      )
        knowsAll = round;
      if (fileKnown === null) {
        fileKnownBy = net.peers.filter(
          (p) => p !== sharer && p.core.files.holders(fileId).some((h) => h.peerId === sharer.core.peerId),
        ).length;
        listedBy.push(fileKnownBy);
        const fraction = fileKnownBy / (net.peers.length - 1);
        if (fileHalf === null && fraction >= 0.5) fileHalf = round;
        if (file90 === null && fraction >= 0.9) file90 = round;
        if (fraction === 1) fileKnown = round;
      }
    },
  );
  const counters = net.peers.reduce(
    (sum, p) => {
      const { tableFull, sampledOut } = p.core.admissionStatus();
      return { tableFull: sum.tableFull + tableFull, sampledOut: sum.sampledOut + sampledOut };
    },
    { tableFull: 0, sampledOut: 0 },
  );
  const churn = config.churn && config.churn.rounds > 0 ? await runChurn(net, config, cap) : undefined;

  return {
    peers: n,
    seed: config.seed,
    delivery: net.delivery,
    ...(net.delivery === 'timed' ? { latency: net.latency } : {}),
    start,
    maxPeers: cap,
    partial,
    loss,
    joinRounds: join.rounds,
    join: phaseTraffic(join.traffic, join.ran, n),
    steady: phaseTraffic(steady.traffic, steady.ran, n),
    newPeerKnownRounds: known,
    newPeerKnownHalfRounds: knownHalf,
    newPeerKnown90Rounds: known90,
    newPeerKnownBy: knownBy,
    newPeerKnowsAllRounds: knowsAll,
    newFileHalfRounds: fileHalf,
    newFile90Rounds: file90,
    newFileRounds: fileKnown,
    newFileKnownBy: fileKnownBy,
    newFileListedBy: listedBy,
    newsBytesPerPeerByRound: newsBytes,
    news: phaseTraffic(news.traffic, news.ran, n + 1),
    heapPerPeerBytes,
    heapPerEntryBytes: (heapPerPeerBytes * n) / Math.max(entries, 1),
    entriesPerPeer: entries / n,
    ...counters,
    ...(churn ? { churn } : {}),
    wallSeconds: (performance.now() - started) / 1000,
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

/** Pairs of live peers where the first does not hold the second alive (absent, suspected or down), over all pairs. */
function liveNotHeldAlive(net: FetchNetwork, cap: number): number {
  const live = net.live;
  let missing = 0;
  for (const p of live) {
    let held = 0;
    for (const q of live) if (q !== p && p.core.table.get(q.core.peerId)?.state === 'alive') held++;
    missing += Math.min(cap, live.length - 1) - Math.min(held, cap);
  }
  return live.length < 2 ? 0 : missing / (live.length * Math.min(cap, live.length - 1));
}

/** Alive entries of live peers that name a crashed peer, and all alive entries of live peers. */
function staleAlive(net: FetchNetwork): { stale: number; alive: number } {
  const dead = new Set(net.peers.filter((p) => p.dead).map((p) => p.core.peerId));
  let stale = 0;
  let alive = 0;
  for (const p of net.live) {
    for (const q of p.core.table.list()) {
      if (q.state !== 'alive') continue;
      alive++;
      if (dead.has(q.peerId)) stale++;
    }
  }
  return { stale, alive };
}

/** The churn phase, then the rounds until it settled (see the header). */
async function runChurn(net: FetchNetwork, config: FetchSimConfig, cap: number): Promise<ChurnMeasure> {
  const { rate, rounds } = config.churn as { rate: number; rounds: number };
  const random = seededRandom(mix(config.seed, config.peers, 0xc4a1));
  const joiners: FetchSimPeer[] = [];
  let crashed = 0;
  const traffic = noTraffic();
  let peerRounds = 0;
  for (let round = 1; round <= rounds; round++) {
    const live = net.live;
    // rate × live peers, the fraction drawn: 0.5 peers a round is one every other round on average.
    const exact = rate * live.length;
    const count = Math.floor(exact) + (random.next() < exact - Math.floor(exact) ? 1 : 0);
    for (const peer of sample(live, count, random)) {
      net.kill(peer);
      crashed++;
    }
    const survivors = net.live;
    for (let i = 0; i < count; i++) {
      const via = survivors[Math.floor(random.next() * survivors.length)] as FetchSimPeer;
      joiners.push(net.add([via.address], config.filesPerPeer));
    }
    peerRounds += net.live.length;
    addTraffic(traffic, await net.round());
    config.progress?.('churn', round);
  }
  const { stale, alive } = staleAlive(net);
  const live = net.live;
  const liveJoiners = joiners.filter((p) => !p.dead);
  const held = liveJoiners.reduce(
    (sum, j) => sum + live.filter((p) => p !== j && p.core.table.get(j.core.peerId)?.state === 'alive').length,
    0,
  );
  const settled = () => staleAlive(net).stale === 0;
  const settle = await roundsUntil(net, settled, config.maxRounds, (r) => config.progress?.('settle', r));
  return {
    rate,
    rounds,
    crashed,
    joined: joiners.length,
    traffic: perPeer(traffic, peerRounds, rounds),
    staleAliveFraction: alive === 0 ? 0 : stale / alive,
    joinersHeldFraction: liveJoiners.length === 0 ? 1 : held / liveJoiners.length / Math.max(live.length - 1, 1),
    settleRounds: settle.rounds,
    settle: phaseTraffic(settle.traffic, settle.ran, net.live.length),
    liveNotHeldAliveFraction: liveNotHeldAlive(net, cap),
  };
}

/** A phase's traffic over the live peers of each of its rounds (their number changes under churn). */
function perPeer(t: RoundTraffic, peerRounds: number, rounds: number): PhaseTraffic {
  const per = Math.max(peerRounds, 1);
  return {
    rounds,
    bytesPerPeerRound: t.bytes / per,
    requestsPerPeerRound: t.requests / per,
    probesPerPeerRound: t.probes / per,
    recordsPerPeerRound: t.records / per,
    failures: t.failures,
  };
}
