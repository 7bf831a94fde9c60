/**
 * Membership and file availability measured on a simulated network of real Fetch cores
 * (fetch-network.ts), in three phases:
 *   1. join: N peers start at once, peer 0 alone and every other one with peer 0's address as its
 *      join address (as `bench -- join` starts its peers): rounds until every peer holds every
 *      other one alive. Or, with start "warm", every peer starts holding every other one's record,
 *      as a restart restores them from its peer store (SyncRounds.restore): no join phase, for
 *      sizes where N peers joining at once costs too much to simulate (its work grows as N³);
 *   2. steady: a few rounds more, for the bytes of a settled network, then the heap per peer;
 *   3. news: one new peer joins through a random known peer while a random peer shares a new file:
 *      rounds until every other peer holds the newcomer alive, until the newcomer holds everyone,
 *      and until every other peer's availability map lists the new file.
 * Everything is counted in rounds of simulated time; a seed gives the same counts every time.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { FetchConfig } from '../fetch/domain/config.ts';
import { seededRandom } from '../fetch/domain/random.ts';
import { FetchNetwork, simFileId, type Delivery, type FetchSimPeer, type RoundTraffic } from './fetch-network.ts';
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
  /** Called after each round with the phase and the round number (progress on stderr). */
  readonly progress?: (phase: string, round: number) => void;
}

/** Bytes and requests per peer per round of a phase. */
export interface PhaseTraffic {
  readonly rounds: number;
  readonly bytesPerPeerRound: number;
  readonly requestsPerPeerRound: number;
  readonly failures: number;
}

export interface FetchMeasure {
  readonly peers: number;
  readonly seed: number;
  readonly delivery: Delivery;
  readonly start: 'join' | 'warm';
  /** Rounds until every peer held every other alive (0 for a warm start); null: not within maxRounds. */
  readonly joinRounds: number | null;
  readonly join: PhaseTraffic;
  readonly steady: PhaseTraffic;
  /** Rounds until every other peer held the newcomer alive. */
  readonly newPeerKnownRounds: number | null;
  /** Rounds until the newcomer held every other peer alive. */
  readonly newPeerKnowsAllRounds: number | null;
  /** Rounds until half, 90 % and every one of the other peers' availability maps listed the new file. */
  readonly newFileHalfRounds: number | null;
  readonly newFile90Rounds: number | null;
  readonly newFileRounds: number | null;
  /** Other peers listing the new file when the news phase ended (all of them unless it ran out of rounds). */
  readonly newFileKnownBy: number;
  readonly news: PhaseTraffic;
  /** Heap the network holds after the steady phase, per peer, and per table entry (N − 1 per peer). */
  readonly heapPerPeerBytes: number;
  readonly heapPerEntryBytes: number;
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
  return process.memoryUsage().heapUsed;
}

/** Whether every live peer holds every other live peer alive. */
export function allKnowAll(net: FetchNetwork): boolean {
  const live = net.live;
  const ids = new Set(live.map((p) => p.core.peerId));
  return live.every(
    (p) =>
      p.core.table.size >= ids.size - 1 &&
      p.core.table.list().filter((q) => q.state === 'alive' && ids.has(q.peerId)).length === ids.size - 1,
  );
}

function phaseTraffic(sum: RoundTraffic, rounds: number, peers: number): PhaseTraffic {
  const per = Math.max(rounds, 1) * peers;
  return {
    rounds,
    bytesPerPeerRound: sum.bytes / per,
    requestsPerPeerRound: sum.requests / per,
    failures: sum.failures,
  };
}

/** Run rounds until `done()` holds, at most `max`; the rounds run (null if `done` never held) and their traffic. */
async function roundsUntil(
  net: FetchNetwork,
  done: () => boolean,
  max: number,
  onRound?: (round: number) => void,
): Promise<{ rounds: number | null; ran: number; traffic: RoundTraffic }> {
  const traffic: RoundTraffic = { requests: 0, failures: 0, bytes: 0 };
  for (let round = 1; round <= max; round++) {
    const t = await net.round();
    traffic.requests += t.requests;
    traffic.failures += t.failures;
    traffic.bytes += t.bytes;
    onRound?.(round);
    if (done()) return { rounds: round, ran: round, traffic };
  }
  return { rounds: null, ran: max, traffic };
}

export async function runFetchSim(config: FetchSimConfig): Promise<FetchMeasure> {
  const gc = collector();
  const started = performance.now();
  const heapBefore = heapAfterGc(gc);
  const net = new FetchNetwork(config.seed, config.tuning, config.delivery);
  const n = config.peers;
  const bootstrap = net.add([], config.filesPerPeer);
  for (let i = 1; i < n; i++) net.add([bootstrap.address], config.filesPerPeer);

  const start = config.start ?? 'join';
  if (start === 'warm') {
    const records = net.peers.map((p) => p.core.table.selfRecord);
    for (const peer of net.peers) peer.core.restore(records);
  }
  const join =
    start === 'warm'
      ? { rounds: 0, ran: 0, traffic: { requests: 0, failures: 0, bytes: 0 } }
      : await roundsUntil(
          net,
          () => allKnowAll(net),
          config.maxRounds,
          (r) => config.progress?.('join', r),
        );
  const steady = await roundsUntil(
    net,
    () => false,
    config.steadyRounds,
    (r) => config.progress?.('steady', r),
  );
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
  let known: number | null = null;
  let knowsAll: number | null = null;
  let fileKnown: number | null = null;
  let fileHalf: number | null = null;
  let file90: number | null = null;
  let fileKnownBy = 0;
  const news = await roundsUntil(
    net,
    () => known !== null && knowsAll !== null && fileKnown !== null,
    config.maxRounds,
    (round) => {
      config.progress?.('news', round);
      if (known === null && others.every((p) => p.core.table.get(newId)?.state === 'alive')) known = round;
      if (knowsAll === null && newcomer.core.table.list().filter((q) => q.state === 'alive').length === others.length)
        knowsAll = round;
      if (fileKnown === null) {
        fileKnownBy = net.peers.filter(
          (p) => p !== sharer && p.core.files.holders(fileId).some((h) => h.peerId === sharer.core.peerId),
        ).length;
        const fraction = fileKnownBy / (net.peers.length - 1);
        if (fileHalf === null && fraction >= 0.5) fileHalf = round;
        if (file90 === null && fraction >= 0.9) file90 = round;
        if (fraction === 1) fileKnown = round;
      }
    },
  );

  return {
    peers: n,
    seed: config.seed,
    delivery: net.delivery,
    start,
    joinRounds: join.rounds,
    join: phaseTraffic(join.traffic, join.ran, n),
    steady: phaseTraffic(steady.traffic, steady.ran, n),
    newPeerKnownRounds: known,
    newPeerKnowsAllRounds: knowsAll,
    newFileHalfRounds: fileHalf,
    newFile90Rounds: file90,
    newFileRounds: fileKnown,
    newFileKnownBy: fileKnownBy,
    news: phaseTraffic(news.traffic, news.ran, n + 1),
    heapPerPeerBytes,
    heapPerEntryBytes: heapPerPeerBytes / Math.max(n - 1, 1),
    wallSeconds: (performance.now() - started) / 1000,
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}
