/**
 * A partial view over many rounds, round by round (`npm run sim -- fetch-rounds`): the same warm
 * start and news phase as fetch-sim.ts (the same seeded draws, so a seed gives the same network and
 * the same counts as `npm run sim -- fetch --start warm --max-peers M`), but every round is reported
 * on its own: the newcomer's in-degree (tables holding it alive), its own table, the round's bytes,
 * requests, verification probes and records per peer, and the probe backlog (records waiting in
 * the peers' Admission for their own probe). fetch-sim.ts reports a phase's averages, which hide
 * whether a backlog drains. The JSON is rewritten after every round, so a run stopped by hand keeps
 * the rounds it ran. The warm start draws each peer's sample of positions without copying the
 * list of the others (at 100,000 peers that copy is 10¹⁰ steps). Each round also reports the tables
 * that would take the newcomer (the in-degree a partial view aims at) and the busiest peer; with
 * `--joins` peers keep joining (and with `--crashes` crashing) through the news rounds, and each
 * round reports the stale alive entries and the joiners' spread.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sample, seededRandom } from '../fetch/domain/random.ts';
import { idPrint, rankOfPrint } from './sim-rank.ts';
import { BENCH_JOIN_TUNING } from './fetch-cli.ts';
import { FetchNetwork, simFileId, type FetchSimPeer, type RoundPeak, type RoundTraffic } from './fetch-network.ts';
import { mix } from './search-sim.ts';

export interface FetchRoundsConfig {
  readonly peers: number;
  readonly seed: number;
  /** Table cap (below peers − 1: a partial view) and most records per answer. */
  readonly maxPeers: number;
  readonly maxRecordsPerAnswer?: number;
  /** News pushes a round and the rounds a newcomer stays news (FetchConfig newsPushPerRound, newsPushRounds). */
  readonly newsPushPerRound?: number;
  readonly newsPushRounds?: number;
  readonly steadyRounds: number;
  /**
   * The tables the run starts from: `warm` (the default), a uniform random maxPeers of the others,
   * as fetch-sim.ts draws them; `settled`, each peer's own min-wise sample of all the others (the
   * maxPeers of lowest rank under its table's secret, sample-rank.ts), the state a partial view's
   * tables settle in (they do within a dozen steady rounds at 1,000 peers, cap 100: docs/SCALE.md).
   * Each peer ranks every other (N² ranks, sim-rank.ts's cheap ones) and restores its sample:
   * seconds at 10,000 peers (439 s with SHA-256 ranks), minutes at 100,000.
   */
  readonly start?: 'warm' | 'settled';
  /** News rounds: a newcomer joins through a random peer, then this many rounds run. */
  readonly rounds: number;
  readonly loss?: number;
  /**
   * Sustained joins (optional): in each of the first `rounds` news rounds, before it runs, a fraction
   * `crashRate` of the live peers crash and a fraction `rate` of them join (each through a random
   * live peer, sharing a file as the others do), the fractions drawn as fetch-sim.ts's churn draws
   * them (0.5 peers a round is one every other round on average).
   */
  readonly joins?: { readonly rate: number; readonly rounds: number; readonly crashRate?: number };
  /** Called with the measure so far after the warm start and after each round. */
  readonly onProgress?: (measure: FetchRoundsMeasure) => void;
}

/** One round, per peer where it says so (over the live peers of that round). */
export interface RoundPoint {
  readonly round: number;
  /** Other peers holding the newcomer alive after the round (news rounds only). */
  readonly newcomerHeldBy?: number;
  /** Other live peers whose table would take the newcomer (PeerTable.mayTake: it holds it, has room, or ranks it below its worst entry) after the round: the in-degree a partial view aims at (news rounds only). */
  readonly newcomerWantedBy?: number;
  /** Peers the newcomer holds alive (news rounds only). */
  readonly newcomerHolds?: number;
  readonly bytesPerPeer: number;
  readonly requestsPerPeer: number;
  readonly probesPerPeer: number;
  readonly recordsPerPeer: number;
  readonly failures: number;
  /** The probe backlog: records waiting for their peer's own probe, per peer, and peers with any. */
  readonly pendingPerPeer: number;
  readonly peersWithPending: number;
  /** Totals over all peers since the start: verified peers refused by a full table, entries sampled out. */
  readonly tableFull: number;
  readonly sampledOut: number;
  /** Live peers whose table has room (below the cap): each would take any peer (mayTake). */
  readonly tablesWithRoom: number;
  /** The busiest peer of the round (FetchNetwork's RoundPeak). */
  readonly peak: RoundPeak;
  /** Under sustained joins (FetchRoundsConfig.joins), after the round. */
  readonly joins?: JoinsPoint;
  readonly wallSeconds: number;
}

/** Sustained joins after a round: totals since the news rounds began, and the joiners' spread. */
export interface JoinsPoint {
  readonly joined: number;
  readonly crashed: number;
  /** Alive entries of live peers that name a crashed peer, over all their alive entries. */
  readonly staleAliveFraction: number;
  /** Over the live joiners (the newcomer not among them): tables holding one alive, and tables that would take one (mayTake), on average. */
  readonly joinerHeldBy: number;
  readonly joinerWantedBy: number;
  /** Joiners that joined at least 10 rounds before, the same two means (0 when there are none). */
  readonly olderJoiners: number;
  readonly olderJoinerHeldBy: number;
  readonly olderJoinerWantedBy: number;
}

export interface FetchRoundsMeasure {
  readonly peers: number;
  readonly seed: number;
  readonly maxPeers: number;
  readonly maxRecordsPerAnswer: number;
  readonly newsPushPerRound: number;
  readonly newsPushRounds: number;
  readonly loss: number;
  readonly joins?: FetchRoundsConfig['joins'];
  /** Heap and typed arrays after a full GC, over the peers, and over all table entries: after the warm start, after the steady rounds, at the end. */
  readonly memory: {
    readonly at: string;
    readonly perPeerBytes: number;
    readonly perEntryBytes: number;
    readonly entriesPerPeer: number;
  }[];
  readonly warmStartSeconds: number;
  readonly steady: RoundPoint[];
  readonly news: RoundPoint[];
  readonly rssMiB: number;
  readonly wallSeconds: number;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

export async function runFetchRounds(config: FetchRoundsConfig): Promise<FetchRoundsMeasure> {
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const started = performance.now();
  const heapBefore = heapAfterGc(gc);
  const n = config.peers;
  const tuning = {
    ...BENCH_JOIN_TUNING,
    maxPeers: config.maxPeers,
    ...(config.maxRecordsPerAnswer !== undefined ? { maxRecordsPerAnswer: config.maxRecordsPerAnswer } : {}),
    ...(config.newsPushPerRound !== undefined ? { newsPushPerRound: config.newsPushPerRound } : {}),
    ...(config.newsPushRounds !== undefined ? { newsPushRounds: config.newsPushRounds } : {}),
  };
  const net = new FetchNetwork(config.seed, tuning, 'service', config.loss ?? 0);
  const bootstrap = net.add([], 1);
  for (let i = 1; i < n; i++) net.add([bootstrap.address], 1);
  if (config.start === 'settled') settledStart(net, config.maxPeers);
  else warmStart(net, config.seed, config.maxPeers);
  const memory: FetchRoundsMeasure['memory'][number][] = [];
  const measureMemory = (at: string) => {
    const entries = net.peers.reduce((sum, p) => sum + p.core.table.size, 0);
    const heap = heapAfterGc(gc) - heapBefore;
    const peers = net.peers.length;
    memory.push({
      at,
      perPeerBytes: heap / peers,
      perEntryBytes: heap / Math.max(entries, 1),
      entriesPerPeer: entries / peers,
    });
  };
  measureMemory('warm start');
  const measure = {
    peers: n,
    seed: config.seed,
    maxPeers: net.peers[0]?.core.config.maxPeers ?? config.maxPeers,
    maxRecordsPerAnswer: net.peers[0]?.core.config.maxRecordsPerAnswer ?? 0,
    newsPushPerRound: net.peers[0]?.core.config.newsPushPerRound ?? 0,
    newsPushRounds: net.peers[0]?.core.config.newsPushRounds ?? 0,
    loss: config.loss ?? 0,
    ...(config.joins ? { joins: config.joins } : {}),
    memory,
    warmStartSeconds: (performance.now() - started) / 1000,
    steady: [] as RoundPoint[],
    news: [] as RoundPoint[],
    rssMiB: 0,
    wallSeconds: 0,
  };
  const report = () => {
    measure.rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    measure.wallSeconds = (performance.now() - started) / 1000;
    config.onProgress?.(measure);
  };
  report();
  for (let round = 1; round <= config.steadyRounds; round++) {
    const t = performance.now();
    measure.steady.push(point(net, round, await net.round(), t));
    report();
  }
  measureMemory('steady');

  // The news as fetch-sim.ts makes it: a newcomer through a random peer, a new file on another.
  const random = seededRandom(mix(config.seed, n, 0x4e5));
  const via = net.peers[Math.floor(random.next() * n)] as FetchSimPeer;
  const sharer = net.peers[Math.floor(random.next() * n)] as FetchSimPeer;
  sharer.feed.add({ id: simFileId(config.seed, sharer.index, 1), name: 'new-file.bin', size: 4_096 });
  const newcomer = net.add([via.address], 1);
  const newId = newcomer.core.peerId;
  const churn = seededRandom(mix(config.seed, n, 0x701e));
  const joiners: { peer: FetchSimPeer; round: number }[] = [];
  let crashed = 0;
  for (let round = 1; round <= config.rounds; round++) {
    const t = performance.now();
    if (config.joins && round <= config.joins.rounds) {
      const draw = (rate: number) => {
        const exact = rate * net.live.length;
        return Math.floor(exact) + (churn.next() < exact - Math.floor(exact) ? 1 : 0);
      };
      const crashes = draw(config.joins.crashRate ?? 0);
      const joins = draw(config.joins.rate);
      for (const peer of sample(
        net.live.filter((p) => p !== newcomer),
        crashes,
        churn,
      )) {
        net.kill(peer);
        crashed++;
      }
      const live = net.live;
      for (let i = 0; i < joins; i++) {
        const via = live[Math.floor(churn.next() * live.length)] as FetchSimPeer;
        joiners.push({ peer: net.add([via.address], 1), round });
      }
    }
    const traffic = await net.round();
    let heldBy = 0;
    let wantedBy = 0;
    for (const p of net.peers) {
      if (p === newcomer || p.dead) continue;
      if (p.core.table.get(newId)?.state === 'alive') heldBy++;
      if (p.core.table.mayTake(newId)) wantedBy++;
    }
    let holds = 0;
    newcomer.core.table.forEachPeer((_, state) => (holds += state === 'alive' ? 1 : 0));
    measure.news.push({
      ...point(net, round, traffic, t),
      newcomerHeldBy: heldBy,
      newcomerWantedBy: wantedBy,
      newcomerHolds: holds,
      ...(config.joins ? { joins: joinsPoint(net, joiners, crashed, round) } : {}),
    });
    report();
  }
  measureMemory('end');
  report();
  return measure;
}

/**
 * Every peer restores a uniform random maxPeers of the others (all of them when there are fewer),
 * drawn as fetch-sim.ts draws them (`sample` of the list without the peer itself), from positions.
 */
function warmStart(net: FetchNetwork, seed: number, cap: number): void {
  const n = net.peers.length;
  const records = net.peers.map((p) => p.core.table.selfRecord);
  const positions = Array.from({ length: n - 1 }, (_, k) => k);
  const pick = seededRandom(mix(seed, n, 0x3a4));
  for (const peer of net.peers) {
    const self = peer.index;
    const chosen = cap < n - 1 ? sample(positions, cap, pick) : positions;
    peer.core.restore(chosen.map((k) => records[k < self ? k : k + 1]));
  }
}

/**
 * Every peer restores the maxPeers others of lowest rank under its own table's key (all of them
 * when there are fewer): the sample its table keeps once it has heard of every peer. Each peer
 * ranks every other (N² ranks, sim-rank.ts's cheap ones) but sorts only those below a threshold
 * a few times the cap's expected share of the rank space, and all of them only when fewer than
 * the cap fall below it.
 */
function settledStart(net: FetchNetwork, cap: number): void {
  const n = net.peers.length;
  const prints = net.peers.map((p) => idPrint(p.core.peerId));
  const records = net.peers.map((p) => p.core.table.selfRecord);
  const take = Math.min(cap, n - 1);
  // rank × 2^17 + position, sorted: the order of rank, ties by position, exact below 2^53.
  if (n > 2 ** 17) throw new Error('a settled start ranks at most 131,072 peers');
  const threshold = Math.min(2 ** 32, ((2 * take + 64) / n) * 2 ** 32);
  const keys = new Float64Array(n - 1);
  for (const peer of net.peers) {
    const key = net.sampleKey(peer.index);
    const select = (below: number) => {
      let k = 0;
      for (let j = 0; j < n; j++) {
        if (j === peer.index) continue;
        const rank = rankOfPrint(key, prints[j] as number);
        if (rank < below) keys[k++] = rank * 2 ** 17 + j;
      }
      return k;
    };
    let found = select(threshold);
    if (found < take) found = select(2 ** 32);
    const lowest = keys.subarray(0, found).sort().subarray(0, take);
    peer.core.restore(Array.from(lowest, (k) => records[k % 2 ** 17]));
  }
}

function joinsPoint(
  net: FetchNetwork,
  joiners: readonly { peer: FetchSimPeer; round: number }[],
  crashed: number,
  round: number,
): JoinsPoint {
  const live = net.live;
  const dead = new Set(net.peers.filter((p) => p.dead).map((p) => p.core.peerId));
  let stale = 0;
  let alive = 0;
  for (const p of live)
    p.core.table.forEachPeer((id, state) => {
      if (state !== 'alive') return;
      alive++;
      if (dead.has(id)) stale++;
    });
  const spread = (of: readonly { peer: FetchSimPeer }[]) => {
    let held = 0;
    let wanted = 0;
    for (const { peer: j } of of) {
      const id = j.core.peerId;
      for (const p of live) {
        if (p === j) continue;
        if (p.core.table.get(id)?.state === 'alive') held++;
        if (p.core.table.mayTake(id)) wanted++;
      }
    }
    const per = Math.max(of.length, 1);
    return { held: held / per, wanted: wanted / per };
  };
  const liveJoiners = joiners.filter((j) => !j.peer.dead);
  const older = liveJoiners.filter((j) => round - j.round >= 10);
  const all = spread(liveJoiners);
  const old = spread(older);
  return {
    joined: joiners.length,
    crashed,
    staleAliveFraction: alive === 0 ? 0 : stale / alive,
    joinerHeldBy: all.held,
    joinerWantedBy: all.wanted,
    olderJoiners: older.length,
    olderJoinerHeldBy: old.held,
    olderJoinerWantedBy: old.wanted,
  };
}

function point(net: FetchNetwork, round: number, traffic: RoundTraffic, startedAt: number): RoundPoint {
  const live = net.live;
  const per = Math.max(live.length, 1);
  let pending = 0;
  let withPending = 0;
  let tableFull = 0;
  let sampledOut = 0;
  let withRoom = 0;
  for (const p of live) {
    if (p.core.table.size < p.core.config.maxPeers) withRoom++;
    const status = p.core.admissionStatus();
    pending += status.unverified;
    if (status.unverified > 0) withPending++;
    tableFull += status.tableFull;
    sampledOut += status.sampledOut;
  }
  return {
    round,
    bytesPerPeer: traffic.bytes / per,
    requestsPerPeer: traffic.requests / per,
    probesPerPeer: traffic.probes / per,
    recordsPerPeer: traffic.records / per,
    failures: traffic.failures,
    pendingPerPeer: pending / per,
    peersWithPending: withPending,
    tableFull,
    sampledOut,
    tablesWithRoom: withRoom,
    peak: net.lastRoundPeak,
    wallSeconds: (performance.now() - startedAt) / 1000,
  };
}

export const USAGE =
  'usage: npm run sim -- fetch-rounds --peers N --max-peers M [--records-per-answer R] [--news-push P] [--news-push-rounds R] [--seed X] [--start warm|settled] [--steady-rounds S] [--rounds R] [--loss P] [--joins P [--join-rounds R] [--crashes P]] [--json FILE]';

/** The command's options (scripts/newcomer-trace.ts takes the same). */
export const FETCH_ROUNDS_OPTIONS = {
  peers: { type: 'string', default: '1000' },
  'max-peers': { type: 'string', default: '100' },
  'records-per-answer': { type: 'string' },
  'news-push': { type: 'string' },
  'news-push-rounds': { type: 'string' },
  seed: { type: 'string', default: '1' },
  'steady-rounds': { type: 'string', default: '2' },
  start: { type: 'string', default: 'warm' },
  rounds: { type: 'string', default: '40' },
  loss: { type: 'string', default: '0' },
  joins: { type: 'string' },
  'join-rounds': { type: 'string' },
  crashes: { type: 'string' },
  json: { type: 'string' },
} as const;

/** The command: runs one network, prints a line per round on stderr and a table at the end. */
export async function fetchRoundsMain(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: FETCH_ROUNDS_OPTIONS });
  const count = (name: string, text: string) => {
    const x = Number(text);
    if (!Number.isSafeInteger(x) || x < 0) throw new Error(`--${name} is a count\n${USAGE}`);
    return x;
  };
  const loss = Number(values.loss);
  if (!(loss >= 0 && loss < 1)) throw new Error(`--loss is a probability in [0, 1)\n${USAGE}`);
  const fraction = (name: string, text: string) => {
    const x = Number(text);
    if (!(x >= 0 && x < 1)) throw new Error(`--${name} is a fraction of the live peers in [0, 1)\n${USAGE}`);
    return x;
  };
  const rounds = count('rounds', values.rounds);
  const joins =
    values.joins !== undefined
      ? {
          rate: fraction('joins', values.joins),
          rounds: values['join-rounds'] !== undefined ? count('join-rounds', values['join-rounds']) : rounds,
          ...(values.crashes !== undefined ? { crashRate: fraction('crashes', values.crashes) } : {}),
        }
      : undefined;
  if (joins === undefined && (values['join-rounds'] !== undefined || values.crashes !== undefined))
    throw new Error(`--join-rounds and --crashes go with --joins\n${USAGE}`);
  const perAnswer = values['records-per-answer'];
  const start = values.start;
  if (start !== 'warm' && start !== 'settled') throw new Error(`--start is warm or settled\n${USAGE}`);
  const command = `npm run sim -- fetch-rounds ${args.join(' ')}`.trim();
  const write = (m: FetchRoundsMeasure) => {
    if (values.json)
      writeFileSync(values.json, `${JSON.stringify({ command, node: process.version, ...m }, null, 2)}\n`);
  };
  let shown = 0;
  const m = await runFetchRounds({
    peers: count('peers', values.peers),
    maxPeers: count('max-peers', values['max-peers']),
    ...(perAnswer !== undefined ? { maxRecordsPerAnswer: count('records-per-answer', perAnswer) } : {}),
    ...(values['news-push'] !== undefined ? { newsPushPerRound: count('news-push', values['news-push']) } : {}),
    ...(values['news-push-rounds'] !== undefined
      ? { newsPushRounds: count('news-push-rounds', values['news-push-rounds']) }
      : {}),
    seed: count('seed', values.seed),
    steadyRounds: count('steady-rounds', values['steady-rounds']),
    start,
    rounds,
    loss,
    ...(joins ? { joins } : {}),
    onProgress: (progress) => {
      const rows = [
        ...progress.steady.map((p) => ['steady', p] as const),
        ...progress.news.map((p) => ['news', p] as const),
      ];
      for (const [phase, p] of rows.slice(shown)) console.error(`${phase} ${row(p)} | RSS ${progress.rssMiB} MiB`);
      shown = rows.length;
      write(progress);
    },
  });
  console.log(`\n${command}\n`);
  console.log(
    `warm start ${m.warmStartSeconds.toFixed(1)} s; memory per peer (per entry): ${m.memory.map((x) => `${x.at} ${(x.perPeerBytes / 1024).toFixed(1)} KiB (${Math.round(x.perEntryBytes)} B)`).join(', ')}; RSS ${m.rssMiB} MiB; ${m.wallSeconds.toFixed(0)} s\n`,
  );
  console.log(
    '| phase | round | newcomer held by / wanted by | newcomer holds | KiB per peer | requests / probes / records per peer | busiest peer: requests / KiB asked / KiB served | failed | backlog per peer (peers with one) | refused / sampled out (totals) | joined / crashed | stale alive | joiner held by / wanted by (joined ≥ 10 rounds before: count: held / wanted) | s |',
  );
  console.log(`|${' --- |'.repeat(14)}`);
  for (const p of m.steady) console.log(`| steady ${row(p)} |`);
  for (const p of m.news) console.log(`| news ${row(p)} |`);
  write(m);
}

function row(p: RoundPoint): string {
  const held = p.newcomerHeldBy === undefined ? '–' : `${p.newcomerHeldBy} / ${p.newcomerWantedBy ?? '–'}`;
  const j = p.joins;
  const joins = j
    ? `${j.joined} / ${j.crashed} | ${(100 * j.staleAliveFraction).toFixed(2)} % | ${j.joinerHeldBy.toFixed(1)} / ${j.joinerWantedBy.toFixed(1)} (${j.olderJoiners}: ${j.olderJoinerHeldBy.toFixed(1)} / ${j.olderJoinerWantedBy.toFixed(1)})`
    : '– | – | –';
  return `| ${p.round} | ${held} | ${p.newcomerHolds ?? '–'} | ${(p.bytesPerPeer / 1024).toFixed(1)} | ${p.requestsPerPeer.toFixed(1)} / ${p.probesPerPeer.toFixed(1)} / ${Math.round(p.recordsPerPeer)} | ${p.peak.requests} / ${(p.peak.askedBytes / 1024).toFixed(1)} / ${(p.peak.servedBytes / 1024).toFixed(1)} | ${p.failures} | ${p.pendingPerPeer.toFixed(1)} (${p.peersWithPending}) | ${p.tableFull} / ${p.sampledOut} | ${joins} | ${p.wallSeconds.toFixed(1)}`;
}
