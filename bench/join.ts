/**
 * Join and Fetch at scale over real HTTP (TLS 1.3) on 127.0.81.x addresses, the peers spread over
 * child processes (one per CPU, at most 4; BENCH_JOIN_PROCS to choose; peer i in process i mod
 * P), each process running its share as test/support's fetch net, rounds stepped on every peer at
 * once: (1) N peers joining through one bootstrap (peer 0) — rounds and seconds until every peer
 * knows all; (2) CPU and bytes per round per peer while joining and in steady state, at N = 25,
 * 50 and 100. Bytes are JSON bodies (requests + answers), counted at the transport; CPU is the
 * children's user+system time (all peers share it).
 * BENCH_JOIN_N overrides the sizes, e.g. BENCH_JOIN_N=25,50. It also prints the round trips of the
 * sync requests while joining (request sent to answer in, wall time): the spread the simulator's
 * `timed` delivery draws its delays from (docs/SCALE.md, Fetch, "Checked against the real network").
 */
import type { FetchTransport } from '../src/fetch/ports.ts';
import { DEFAULT_PORTS } from '../src/shared/config.ts';
import { createFetchNet, type FetchNet } from '../test/support/fetch-net.ts';
import { check, figure, type BenchResult, type Check, type Figure } from './_results.ts';
import { forkWorker, serveWorker, workerCount } from './_workers.ts';

const SIZES = (process.env.BENCH_JOIN_N ?? '25,50,100').split(',').map(Number);
const STEADY_ROUNDS = 5;
const TUNING = { fanout: 3, suspectAfterRounds: 5, downAfterRounds: 10 };
const MAX_ROUNDS = 20;
const TARGET_ROUNDS = 10;
/**
 * How long a sync waits for its answer (BENCH_JOIN_TIMEOUT_MS, 5 s as the peers' own default). The
 * N peers share a few event loops, so at 100 peers a round's answers can take seconds on a
 * slow machine and time out, which no network of separate hosts would see: a longer deadline
 * counts the protocol's rounds rather than the loops' queues (docs/SCALE.md, Fetch).
 */
const REQUEST_TIMEOUT_MS = Number(process.env.BENCH_JOIN_TIMEOUT_MS ?? 5_000);
const PROCS = workerCount(process.env.BENCH_JOIN_PROCS, Math.min(...SIZES));
/** A start, a round or a steady phase of every peer of a process takes seconds; this bounds a stuck one. */
const CALL_TIMEOUT_MS = 300_000;
const hostOf = (i: number) => `127.0.${81 + Math.floor(i / 250)}.${(i % 250) + 2}`;
const fetchAddressOf = (i: number) => `${hostOf(i)}:${DEFAULT_PORTS.fetchPort}`;

interface Traffic {
  bytes: number;
  /** Of which the suspicion rumours in answers (what replaced the heard age per live peer). */
  suspects: number;
  /** Round trips of the sync requests answered (ms) in each round, and the requests sent, while `timing`. */
  roundTrips: number[][];
  sent: number;
  timing: boolean;
}

function counting(traffic: Traffic) {
  return (inner: FetchTransport): FetchTransport => ({
    async sync(address, peerId, request, signal) {
      traffic.bytes += JSON.stringify(request).length;
      const sent = performance.now();
      if (traffic.timing) traffic.sent++;
      const answer = await inner.sync(address, peerId, request, signal);
      if (traffic.timing) traffic.roundTrips.at(-1)?.push(performance.now() - sent);
      traffic.bytes += JSON.stringify(answer.body).length;
      traffic.suspects += JSON.stringify(
        (answer.body as { view?: { suspects?: unknown } }).view?.suspects ?? [],
      ).length;
      return answer;
    },
    announceLeave: (address, peerId, tombstone, signal) => inner.announceLeave(address, peerId, tombstone, signal),
    askDialBack: (address, peerId, port, signal) => inner.askDialBack(address, peerId, port, signal),
    reach: (address, peerId, signal) => inner.reach(address, peerId, signal),
    close: () => inner.close(),
  });
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

// ---------------------------------------------------------------- a worker: some of the peers (child)

type Request =
  | { type: 'start'; n: number; mine: number[]; seed: number }
  | { type: 'ids'; ids: string[] }
  | { type: 'step'; timing: boolean }
  | { type: 'converged' }
  | { type: 'counters' }
  | { type: 'stop' };

/** What a worker counted since the last `counters` request. */
interface Counters {
  bytes: number;
  suspects: number;
  sent: number;
  roundTrips: number[][];
  cpuMs: number;
}

function worker(): void {
  let net: FetchNet | undefined;
  let ids = new Set<string>();
  const traffic: Traffic = { bytes: 0, suspects: 0, roundTrips: [], sent: 0, timing: false };
  let cpu = process.cpuUsage();
  serveWorker<Request>(async (req) => {
    switch (req.type) {
      case 'start': {
        const { mine } = req;
        net = await createFetchNet(mine.length, {
          tuning: TUNING,
          seed: req.seed,
          teardown: false,
          wrapTransport: counting(traffic),
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          hostOf: (k) => hostOf(mine[k]!),
          joinOf: (k) => (mine[k] === 0 ? [] : [fetchAddressOf(0)]),
        });
        return net.peers.map((p) => p.service.status().peerId);
      }
      case 'ids':
        ids = new Set(req.ids);
        return {};
      case 'step':
        traffic.timing = req.timing;
        if (req.timing) traffic.roundTrips.push([]);
        await net!.step();
        return {};
      case 'converged':
        // Every peer here knows every other peer of the whole net as alive.
        return net!.live.every(
          (p) => p.service.peers().filter((q) => q.state === 'alive' && ids.has(q.peerId)).length === ids.size - 1,
        );
      case 'counters': {
        const counted: Counters = { ...traffic, cpuMs: cpuMs(cpu) };
        Object.assign(traffic, { bytes: 0, suspects: 0, roundTrips: [], sent: 0 });
        cpu = process.cpuUsage();
        return counted;
      }
      case 'stop':
        await net?.stop();
        net = undefined;
        return {};
    }
  });
}

if (process.env.BENCH_JOIN_WORKER) worker();

// ---------------------------------------------------------------- the benchmark (parent)

interface Measured {
  n: number;
  /** null: not converged within MAX_ROUNDS. */
  rounds: number | null;
  joinS: number;
  startupS: number;
  joinCpu: number;
  joinBytes: number;
  steadyCpu: number;
  steadyBytes: number;
  steadyS: number;
  suspectShare: number;
  roundTrips: RoundTrips;
}

/**
 * Sync requests while joining: how many were sent and answered, round-trip percentiles (ms), and
 * the standard deviation of their logarithm, over all rounds and within a round (each round trip's
 * logarithm less its round's mean: a round with more requests in flight is slower as a whole).
 */
interface RoundTrips {
  sent: number;
  count: number;
  p10: number;
  p50: number;
  p90: number;
  logSd: number;
  logSdInRound: number;
}

function sd(deviations: readonly number[]): number {
  return Math.sqrt(deviations.reduce((a, d) => a + d * d, 0) / Math.max(deviations.length - 1, 1));
}

function roundTrips(rounds: readonly (readonly number[])[], sent: number): RoundTrips {
  const sorted = rounds.flat().sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const ln = (x: number) => Math.log(Math.max(x, 0.001));
  const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + ln(x), 0) / Math.max(xs.length, 1);
  const all = mean(sorted);
  const inRound = rounds.flatMap((r) => {
    const m = mean(r);
    return r.map((x) => ln(x) - m);
  });
  return {
    sent,
    count: sorted.length,
    p10: at(0.1),
    p50: at(0.5),
    p90: at(0.9),
    logSd: sd(sorted.map((x) => ln(x) - all)),
    logSdInRound: sd(inRound),
  };
}

async function measure(n: number): Promise<Measured> {
  const procs = Math.min(PROCS, n);
  const workers = Array.from({ length: procs }, () => forkWorker<Request>(import.meta.filename, 'BENCH_JOIN_WORKER'));
  const all = <T>(req: Request) => Promise.all(workers.map((w) => w.call<T>(req, CALL_TIMEOUT_MS)));
  /** What every worker counted since the last call, summed. */
  const counted = async (): Promise<Counters> => {
    const each = await all<Counters>({ type: 'counters' });
    return {
      bytes: each.reduce((a, c) => a + c.bytes, 0),
      suspects: each.reduce((a, c) => a + c.suspects, 0),
      sent: each.reduce((a, c) => a + c.sent, 0),
      // Round r of every worker together.
      roundTrips: each[0]!.roundTrips.map((_, r) => each.flatMap((c) => c.roundTrips[r] ?? [])),
      cpuMs: each.reduce((a, c) => a + c.cpuMs, 0),
    };
  };
  try {
    const startedAt = performance.now();
    const ids = await Promise.all(
      workers.map((w, k) =>
        w.call<string[]>(
          {
            type: 'start',
            n,
            mine: Array.from({ length: n }, (_, i) => i).filter((i) => i % procs === k),
            seed: n * 100 + k,
          },
          CALL_TIMEOUT_MS,
        ),
      ),
    );
    await all({ type: 'ids', ids: ids.flat() });
    const startupS = (performance.now() - startedAt) / 1000;
    await counted(); // from here on

    let t = performance.now();
    let rounds = -1;
    for (let r = 1; r <= MAX_ROUNDS && rounds < 0; r++) {
      await all({ type: 'step', timing: true });
      if ((await all<boolean>({ type: 'converged' })).every(Boolean)) rounds = r;
    }
    const joinS = (performance.now() - t) / 1000;
    const joining = await counted();
    const stepped = rounds > 0 ? rounds : MAX_ROUNDS; // -1: not converged within MAX_ROUNDS
    const joinCpu = joining.cpuMs / stepped / n;
    const joinBytes = joining.bytes / stepped / n;

    t = performance.now();
    for (let r = 0; r < STEADY_ROUNDS; r++) await all({ type: 'step', timing: false });
    const steady = await counted();
    const steadyCpu = steady.cpuMs / STEADY_ROUNDS / n;
    const steadyBytes = steady.bytes / STEADY_ROUNDS / n;
    const steadyS = (performance.now() - t) / 1000 / STEADY_ROUNDS;
    const m: Measured = {
      n,
      rounds: rounds > 0 ? rounds : null,
      joinS,
      startupS,
      joinCpu,
      joinBytes,
      steadyCpu,
      steadyBytes,
      steadyS,
      suspectShare: Math.round((100 * steady.suspects) / Math.max(steady.bytes, 1)),
      roundTrips: roundTrips(joining.roundTrips, joining.sent),
    };
    console.log(
      `| ${n} | ${m.rounds ?? `not within ${MAX_ROUNDS}`} | ${joinS.toFixed(1)} | ${startupS.toFixed(1)} | ${joinCpu.toFixed(1)} | ${(joinBytes / 1024).toFixed(1)} | ` +
        `${steadyCpu.toFixed(1)} | ${(steadyBytes / 1024).toFixed(1)} | ${m.suspectShare} | ${steadyS.toFixed(2)} |`,
    );
    return m;
  } finally {
    await Promise.allSettled(workers.map((w) => w.call({ type: 'stop' }, 30_000)));
    for (const w of workers) await w.close();
  }
}

export async function run(): Promise<BenchResult> {
  console.log(
    `join: fanout ${TUNING.fanout}; ${PROCS} process${PROCS > 1 ? 'es' : ''} (peer i in process i mod ${PROCS}), one loopback address per peer; rounds stepped on all peers at once\n`,
  );
  console.log(
    '| N | rounds to full knowledge | seconds | start-up of all peers (s) | joining: CPU ms per round per peer | joining: KiB per round per peer | steady: CPU ms per round per peer | steady: KiB per round per peer | steady: % suspicion rumours | steady: s per round for all |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const all: Measured[] = [];
  for (const n of SIZES) all.push(await measure(n));
  console.log(
    '\n| N | joining: sync requests sent / answered | round trip p10 / p50 / p90 (ms) | standard deviation of ln(round trip): all / within a round |',
  );
  console.log('| --- | --- | --- | --- |');
  for (const { n, roundTrips: r } of all)
    console.log(
      `| ${n} | ${r.sent} / ${r.count} | ${r.p10.toFixed(0)} / ${r.p50.toFixed(0)} / ${r.p90.toFixed(0)} | ${r.logSd.toFixed(2)} / ${r.logSdInRound.toFixed(2)} |`,
    );
  const figures: Figure[] = [];
  const checks: Check[] = [];
  for (const m of all) {
    figures.push(
      figure(
        `N=${m.n}: rounds until every peer knows all`,
        'ours',
        m.rounds,
        'rounds',
        m.rounds === null ? `not converged within ${MAX_ROUNDS} rounds` : undefined,
      ),
      figure(`N=${m.n}: seconds until every peer knows all`, 'ours', m.joinS, 's'),
      figure(`N=${m.n}: CPU per round per peer, joining`, 'info', m.joinCpu, 'ms'),
      figure(`N=${m.n}: bytes per round per peer, joining`, 'info', m.joinBytes / 1024, 'KiB'),
      figure(`N=${m.n}: sync round trip while joining, median`, 'info', m.roundTrips.p50, 'ms'),
      figure(`N=${m.n}: sync round trip while joining, sd of its logarithm`, 'info', m.roundTrips.logSd, ''),
      figure(
        `N=${m.n}: sync round trip while joining, sd of its logarithm within a round`,
        'info',
        m.roundTrips.logSdInRound,
        '',
      ),
      figure(`N=${m.n}: CPU per round per peer, steady`, 'ours', m.steadyCpu, 'ms'),
      figure(`N=${m.n}: bytes per round per peer, steady`, 'ours', m.steadyBytes / 1024, 'KiB'),
    );
    // Not converging within MAX_ROUNDS is a miss, not a skip.
    checks.push(
      check(`N=${m.n}: rounds until every peer knows all`, m.rounds ?? MAX_ROUNDS + 1, 'rounds', '<=', TARGET_ROUNDS),
    );
  }
  return {
    name: 'join',
    what: `N peers (${SIZES.join(', ')}) joining through one bootstrap: rounds and seconds until every peer knows all; CPU and bytes per round per peer while joining and in steady state`,
    how: `Real HTTP over TLS 1.3 on 127.0.81.x addresses, the peers spread over ${PROCS} child process${PROCS > 1 ? 'es' : ''} (peer i in process i mod ${PROCS}; each runs its share as test/support/fetch-net.ts), rounds stepped on every peer at once, fanout ${TUNING.fanout}; bytes are the JSON bodies (requests + answers) counted at the transport; CPU is the children's user+system time divided among the peers; steady state is the mean of ${STEADY_ROUNDS} rounds after convergence. One run per N.`,
    parameters: {
      sizes: SIZES.join(','),
      fanout: TUNING.fanout,
      steadyRounds: STEADY_ROUNDS,
      maxRounds: MAX_ROUNDS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      processes: PROCS,
    },
    figures,
    checks,
  };
}
