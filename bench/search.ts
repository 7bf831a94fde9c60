/**
 * search: flood search among 100 real Search services (BENCH_SEARCH_PEERS), each on its own
 * loopback address (127.0.80.2 …) with the default ports, linked over TLS 1.3 in a seeded random
 * overlay of degree 8; TTL 7 (BENCH_SEARCH_TTL: every peer's largest TTL too, as the searchTtl
 * setting would be). Query routing as a peer runs it by default (searchRouteLevels, 4 levels;
 * BENCH_SEARCH_ROUTE_LEVELS=0 for the plain flood): the searches start once the route tables have
 * settled (no table received for 3 s), so the last hops go only where a table matches. The peers
 * are spread over child processes, one per CPU and at most 4 (BENCH_SEARCH_PROCS to choose; peer
 * i lives in process i mod P), so that hop latencies measure the protocol rather than one event
 * loop running a hundred peers; this process only directs them over IPC. On the 2-core machine of docs/PERFORMANCE.md, 2 processes gave the lowest
 * last-hit p99 (1 process: every hop queues behind 99 other peers' work; 4: more event loops than
 * cores, so hops wait for a core).
 *
 * Twenty known peers (seeded) hold a "target" file and every peer holds 20 other files. Each
 * search starts at a random peer and runs to its deadline (500 ms, BENCH_SEARCH_DEADLINE_MS),
 * so the flood has died out before the counters are read. Reported: recall (holders found / holders), Query messages per
 * search (written to links, summed over every peer) against the flood bound (each query crosses
 * each link at most once each way: 2 × links), and the time from the start of a search to its
 * first and last remote hit, measured at the searching peer (p50, p99). BENCH_SEARCHES changes
 * the number of searches (default 100). The machine's 1-minute load average is sampled every
 * second while the searches run (min, median, max), since the hop latencies are mostly CPU queueing.
 * Each peer dials half its links (test/support/topology.ts dialsOf), so the graph is built whole
 * under the link manager's outbound slots. BENCH_SEARCH_TABLE_BITS_LOG2 sets the smallest own route
 * table (16, as File Management's); BENCH_SEARCH_LOG=LEVEL prints the peers' logs (JSON lines);
 * BENCH_PROFILE=DIR writes CPU profiles of the peers' processes.
 */
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { ROUTE_TABLE_OWN_MIN_BITS_LOG2 } from '../src/protocol/route-table.ts';
import { createSearchService, type SearchService } from '../src/search/service.ts';
import { DEFAULT_PORTS } from '../src/shared/config.ts';
import { SEARCH_DEFAULTS } from '../src/shared/defaults.ts';
import { memorySigner } from '../src/shared/keys.ts';
import { createLogger, silentLogger } from '../src/shared/logging.ts';
import { PeerTls } from '../src/shared/peer-tls.ts';
import { MemoryIndex } from '../test/support/memory-index.ts';
import { dialsOf, edgesOf, neighboursOf, seededRandom } from '../test/support/topology.ts';
import { check, figure, fmt, median, percentile, table, type BenchResult } from './_results.ts';
import { forkWorker, serveWorker, workerCount } from './_workers.ts';

const PEERS = Number(process.env.BENCH_SEARCH_PEERS ?? 100);
/** One process per CPU, at most 4: more event loops than cores only adds run-queue waits to every hop. */
const PROCS = workerCount(process.env.BENCH_SEARCH_PROCS, PEERS);
const DEGREE = 8;
const TTL = Number(process.env.BENCH_SEARCH_TTL ?? SEARCH_DEFAULTS.maxTtl);
const ROUTE_LEVELS = Number(process.env.BENCH_SEARCH_ROUTE_LEVELS ?? SEARCH_DEFAULTS.routeLevels);
/** The smallest own route table, log2 of its bits (as File Management sizes them: 16). */
const TABLE_MIN_LOG2 = Number(process.env.BENCH_SEARCH_TABLE_BITS_LOG2 ?? ROUTE_TABLE_OWN_MIN_BITS_LOG2);
/** Route tables have settled once no peer received one for this long (updates go at most once a second per link). */
const TABLES_QUIET_MS = 3_000;
const HOLDERS = Math.min(20, PEERS);
const FILES_PER_PEER = 20;
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 100);
/** Hits later than a search's deadline are not counted: on a loaded machine recall measures the queueing too. */
const DEADLINE_MS = Number(process.env.BENCH_SEARCH_DEADLINE_MS ?? 500);
const LAST_HIT_P99_TARGET_MS = 200;
/** BENCH_PROFILE=DIR: CPU profiles of the peers' processes land in DIR (node --cpu-prof). */
const PROFILE_ARGS = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];

const hostOf = (i: number) => `127.0.${80 + Math.floor(i / 250)}.${(i % 250) + 2}`;
const addressOf = (i: number) => `${hostOf(i)}:${DEFAULT_PORTS.searchPort}`;

// ---------------------------------------------------------------- the messages between the two sides

interface Setup {
  /** The peers this process runs. */
  mine: number[];
  /** Graph neighbours of every peer. */
  adjacent: number[][];
  /** The neighbours each peer dials (the others dial it): half its links, as its outbound slots allow. */
  dials: number[][];
  holders: number[];
}
type Request =
  | { type: 'start'; setup: Setup }
  | { type: 'linked' }
  | { type: 'search'; origin: number }
  | { type: 'counters' }
  | { type: 'stop' };
interface Hit {
  hops: number;
  holder: string;
  /** ms from the start of the search to its arrival at the searching peer. */
  ms: number;
}
interface Counters {
  queriesSent: number;
  /** Queries handled (matched and forwarded): once per query per peer reached. */
  queriesAccepted: number;
  /** Ready links, counted at both ends (2 × links when the overlay is whole). */
  linkEnds: number;
  /** This process's CPU time so far, ms. */
  cpuMs: number;
  /** Route tables received, and query copies a table kept from a link. */
  routeTablesReceived: number;
  queriesNotRouted: number;
  /** Route table bytes written to links (whole tables and patches, deflated). */
  routeTableBytes: number;
}

// ---------------------------------------------------------------- a worker: some of the peers (child)

async function worker(): Promise<void> {
  const peers = new Map<number, SearchService>();
  let setup: Setup | undefined;
  const handle = async (req: Request): Promise<unknown> => {
    switch (req.type) {
      case 'start': {
        setup = req.setup;
        const { adjacent, dials, holders } = setup;
        for (const i of setup.mine) {
          const index = new MemoryIndex(TABLE_MIN_LOG2);
          for (let f = 0; f < FILES_PER_PEER; f++) index.add(`file ${i}-${f} other.bin`);
          if (holders.includes(i)) index.add(`target at ${i}.iso`);
          // Each peer dials only its half of its links (dialsOf): its inbound half is capped at
          // maxLinks minus the outbound slots, so with the degree at the link limit, peers that
          // dialled at random left pairs with full inbound halves refusing each other, redialling
          // (a TLS handshake each time) through every search.
          const candidates = dials[i]!.map((j) => ({ searchAddress: addressOf(j) }));
          const identity = memorySigner();
          const tls = new PeerTls(identity);
          await tls.ready();
          peers.set(
            i,
            createSearchService({
              index,
              neighbours: { candidates: () => candidates },
              logger: process.env.BENCH_SEARCH_LOG
                ? createLogger(process.env.BENCH_SEARCH_LOG, { peer: i })
                : silentLogger(),
              identity,
              tls,
              host: hostOf(i),
              port: DEFAULT_PORTS.searchPort,
              apiPort: DEFAULT_PORTS.searchApiPort,
              filesAddress: () => `http://${hostOf(i)}:${DEFAULT_PORTS.filesPort}`,
              maxLinks: Math.max(8, ...adjacent.map((a) => a.length)),
              maxTtl: TTL,
              routeLevels: ROUTE_LEVELS,
              timeoutMs: 1_000,
              maintainIntervalMs: 200,
              backoff: { baseMs: 50, maxMs: 1_000 },
            }),
          );
        }
        await Promise.all([...peers.values()].map((p) => p.start()));
        return {};
      }
      case 'linked':
        // Every peer has exactly one ready link to each graph neighbour, and no dial in flight.
        await Promise.all(
          [...peers].map(async ([i, p]) => {
            const want = setup!.adjacent[i]!.map(addressOf).sort().join();
            const have = () =>
              p.links
                .list()
                .map((l) => l.searchAddress)
                .sort()
                .join();
            while (have() !== want || p.links.pending > 0) await once(p.links.events, 'change');
          }),
        );
        return {};
      case 'search': {
        const hits: Hit[] = [];
        const t0 = performance.now();
        const search = peers.get(req.origin)!.engine.search({ terms: ['target'], ttl: TTL, timeoutMs: DEADLINE_MS });
        search.onHit((h) => hits.push({ hops: h.hops, holder: h.holderPeerId, ms: performance.now() - t0 }));
        await search.done;
        return { hits };
      }
      case 'counters': {
        const cpu = process.cpuUsage();
        const all = [...peers.values()];
        return {
          queriesSent: all.reduce((sum, p) => sum + p.engine.counters.queriesSent, 0),
          queriesAccepted: all.reduce((sum, p) => sum + p.engine.counters.queriesAccepted, 0),
          linkEnds: all.reduce((sum, p) => sum + p.links.ids().length, 0),
          cpuMs: (cpu.user + cpu.system) / 1000,
          routeTablesReceived: all.reduce((sum, p) => sum + p.engine.counters.routeTablesReceived, 0),
          queriesNotRouted: all.reduce((sum, p) => sum + p.engine.counters.queriesNotRouted, 0),
          routeTableBytes: all.reduce((sum, p) => sum + p.links.counters.routeTables.bytesSent, 0),
        } satisfies Counters;
      }
      case 'stop':
        await Promise.all([...peers.values()].map((p) => p.stop()));
        return {};
    }
  };
  serveWorker(handle);
}

if (process.env.BENCH_SEARCH_WORKER) await worker();

// ---------------------------------------------------------------- the benchmark (parent)

export async function run(): Promise<BenchResult> {
  const edges = edgesOf(PEERS, { kind: 'random', degree: DEGREE, seed: 42 });
  const adjacent = neighboursOf(PEERS, edges);
  const dials = dialsOf(PEERS, edges);
  const random = seededRandom(7);
  const holders = new Set<number>();
  while (holders.size < HOLDERS) holders.add(Math.floor(random() * PEERS));

  const workers = Array.from({ length: PROCS }, () =>
    forkWorker<Request>(import.meta.filename, 'BENCH_SEARCH_WORKER', PROFILE_ARGS),
  );
  const counters = async () => {
    const all = await Promise.all(workers.map((w) => w.call<Counters>({ type: 'counters' })));
    return {
      queriesSent: all.reduce((s, c) => s + c.queriesSent, 0),
      queriesAccepted: all.reduce((s, c) => s + c.queriesAccepted, 0),
      linkEnds: all.reduce((s, c) => s + c.linkEnds, 0),
      cpuMs: all.reduce((s, c) => s + c.cpuMs, 0),
      routeTablesReceived: all.reduce((s, c) => s + c.routeTablesReceived, 0),
      queriesNotRouted: all.reduce((s, c) => s + c.queriesNotRouted, 0),
      routeTableBytes: all.reduce((s, c) => s + c.routeTableBytes, 0),
    };
  };
  try {
    const t0 = performance.now();
    await Promise.all(
      workers.map((w, k) =>
        w.call({
          type: 'start',
          setup: { mine: [...adjacent.keys()].filter((i) => i % PROCS === k), adjacent, dials, holders: [...holders] },
        }),
      ),
    );
    await Promise.all(workers.map((w) => w.call({ type: 'linked' }, 120_000)));
    const linkedMs = performance.now() - t0;
    // Routing: wait until the tables stop moving, so that the searches meet the settled tables a
    // running network has (until a neighbour's tables arrive, a peer floods to it).
    let tables = (await counters()).routeTablesReceived;
    for (let quietSince = performance.now(); ROUTE_LEVELS > 0 && performance.now() - quietSince < TABLES_QUIET_MS;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = (await counters()).routeTablesReceived;
      if (now !== tables) quietSince = performance.now();
      tables = now;
    }
    const settledMs = performance.now() - t0;
    const tableBytesSettled = (await counters()).routeTableBytes;
    const load: number[] = [loadavg()[0]!];
    const sampler = setInterval(() => load.push(loadavg()[0]!), 1_000);

    const bound = 2 * edges.length;
    const recall: number[] = [];
    const messages: number[] = [];
    const reached: number[] = [];
    const first: number[] = [];
    const last: number[] = [];
    const cpuPerSearch: number[] = [];
    const notRouted: number[] = [];
    let fewestLinkEnds = 2 * edges.length;
    for (let s = 0; s < SEARCHES; s++) {
      const origin = Math.floor(random() * PEERS);
      const before = await counters();
      const { hits } = await workers[origin % PROCS]!.call<{ hits: Hit[] }>({ type: 'search', origin });
      const after = await counters();
      fewestLinkEnds = Math.min(fewestLinkEnds, before.linkEnds, after.linkEnds);
      messages.push(after.queriesSent - before.queriesSent);
      reached.push(after.queriesAccepted - before.queriesAccepted);
      cpuPerSearch.push(after.cpuMs - before.cpuMs);
      notRouted.push(after.queriesNotRouted - before.queriesNotRouted);
      // The origin's own copy (hops 0) is found without the network; recall counts every holder.
      recall.push((100 * new Set(hits.map((h) => h.holder)).size) / HOLDERS);
      const remote = hits.filter((h) => h.hops > 0).map((h) => h.ms);
      if (remote.length > 0) {
        first.push(Math.min(...remote));
        last.push(Math.max(...remote));
      }
    }

    clearInterval(sampler);
    load.push(loadavg()[0]!);
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const figures = [
      figure('recall, lowest of all searches', 'ours', Math.min(...recall), '%'),
      figure('recall, mean', 'info', meanOf(recall), '%'),
      figure('Query messages per search, mean', 'ours', meanOf(messages), 'messages'),
      figure('Query messages per search, most', 'ours', Math.max(...messages), 'messages'),
      figure('flood bound (2 × links)', 'reference', bound, 'messages'),
      figure('query copies a route table kept from a link, per search, mean', 'info', meanOf(notRouted), 'copies'),
      figure(
        `peers that handled the query, fewest of all searches (of ${PEERS - 1} besides the origin)`,
        'info',
        Math.min(...reached),
        'peers',
      ),
      figure('first remote hit, p50', 'ours', percentile(first, 50), 'ms'),
      figure('first remote hit, p99', 'ours', percentile(first, 99), 'ms'),
      figure('last hit, p50', 'ours', percentile(last, 50), 'ms'),
      figure('last hit, p99', 'ours', percentile(last, 99), 'ms'),
      figure('CPU per search, all processes', 'info', median(cpuPerSearch), 'ms'),
      figure(
        `ready links, fewest seen before or after a search (counted at both ends; ${2 * edges.length} when whole)`,
        'info',
        fewestLinkEnds,
        'link ends',
      ),
      figure('overlay linked in', 'info', linkedMs, 'ms'),
      figure('route tables settled in (from the start)', 'info', settledMs, 'ms'),
      figure(
        'route table bytes sent per peer until settled (to its 8 links)',
        'info',
        tableBytesSettled / PEERS / 1024,
        'KiB',
      ),
      figure('load average (1 min) during the searches, lowest', 'info', Math.min(...load), ''),
      figure('load average (1 min) during the searches, median', 'info', median(load), ''),
      figure('load average (1 min) during the searches, highest', 'info', Math.max(...load), ''),
    ];
    console.log(
      `search: ${PEERS} peers in ${PROCS} process${PROCS > 1 ? 'es' : ''}, ${edges.length} links (random, degree ${DEGREE}), TTL ${TTL}, ${ROUTE_LEVELS > 0 ? `${ROUTE_LEVELS} route levels, own tables of at least 2^${TABLE_MIN_LOG2} bits` : 'plain flood (no route tables)'}; ${SEARCHES} searches for a file ${HOLDERS} peers hold, deadline ${DEADLINE_MS} ms\n`,
    );
    console.log(
      table(
        ['what', 'figure'],
        figures.map((f) => [f.label, fmt(f.value, f.unit)]),
      ),
    );
    return {
      name: 'search',
      what: `search among ${PEERS} peers (random overlay of degree ${DEGREE}, TTL ${TTL}, ${ROUTE_LEVELS > 0 ? `query routing with ${ROUTE_LEVELS} levels` : 'plain flood'}) for a file ${HOLDERS} known peers hold: recall, Query messages per search against the flood bound, time to first and last hit`,
      how: `${PEERS} real Search services, each on its own loopback address (127.0.80.x) with real TCP links, spread over ${PROCS} child process${PROCS > 1 ? 'es' : ''} (peer i in process i mod ${PROCS}); every peer holds ${FILES_PER_PEER} other files; ${ROUTE_LEVELS > 0 ? `${ROUTE_LEVELS} levels of route table, the searches started once no table had arrived for ${TABLES_QUIET_MS / 1000} s; ` : ''}${SEARCHES} searches from seeded random peers, each run to its ${DEADLINE_MS} ms deadline; messages are Query frames written to links, summed over all peers; hit times measured at the searching peer; percentiles over searches (nearest rank).`,
      parameters: {
        peers: PEERS,
        processes: PROCS,
        degree: DEGREE,
        links: edges.length,
        ttl: TTL,
        routeLevels: ROUTE_LEVELS,
        holders: HOLDERS,
        searches: SEARCHES,
        deadlineMs: DEADLINE_MS,
      },
      figures,
      checks: [
        check('recall (lowest of all searches)', Math.min(...recall), '%', '>=', 100),
        check('Query messages per search (most)', Math.max(...messages), 'messages', '<=', bound),
        check('time to last hit, p99', percentile(last, 99), 'ms', '<', LAST_HIT_P99_TARGET_MS),
      ],
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.call({ type: 'stop' }, 30_000)));
    for (const w of workers) await w.close();
  }
}
