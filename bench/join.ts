/**
 * Join and Fetch at scale, in this process over real HTTP on 127.x addresses (test/support's
 * fetch net, rounds stepped on every peer at once): (1) 100 peers joining through one bootstrap —
 * rounds and seconds until every peer knows all; (2) CPU and bytes per round per peer while
 * joining and in steady state, at N = 25, 50 and 100. Bytes are JSON bodies (requests + answers),
 * counted at the transport; CPU is this process's user+system time (all peers share it).
 * BENCH_JOIN_N overrides the sizes, e.g. BENCH_JOIN_N=25,50.
 */
import type { FetchTransport } from '../src/fetch/ports.ts';
import { converged, createFetchNet } from '../test/support/fetch-net.ts';

const SIZES = (process.env.BENCH_JOIN_N ?? '25,50,100').split(',').map(Number);
const STEADY_ROUNDS = 5;
const TUNING = { fanout: 3, suspectAfterRounds: 5, downAfterRounds: 10 };

interface Traffic {
  bytes: number;
  /** Of which the suspicion rumours in answers (what replaced the heard age per live peer). */
  suspects: number;
}

function counting(traffic: Traffic) {
  return (inner: FetchTransport): FetchTransport => ({
    async sync(address, request, signal) {
      traffic.bytes += JSON.stringify(request).length;
      const answer = await inner.sync(address, request, signal);
      traffic.bytes += JSON.stringify(answer).length;
      traffic.suspects += JSON.stringify((answer as { view?: { suspects?: unknown } }).view?.suspects ?? []).length;
      return answer;
    },
    announceLeave: (address, tombstone, signal) => inner.announceLeave(address, tombstone, signal),
    close: () => inner.close(),
  });
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function measure(n: number): Promise<void> {
  const traffic: Traffic = { bytes: 0, suspects: 0 };
  const startedAt = performance.now();
  const net = await createFetchNet(n, { tuning: TUNING, seed: n, teardown: false, wrapTransport: counting(traffic) });
  const startupS = (performance.now() - startedAt) / 1000;
  try {
    let cpu = process.cpuUsage();
    let t = performance.now();
    traffic.bytes = 0;
    const rounds = await net.stepUntil(() => converged(net), 20);
    const joinS = (performance.now() - t) / 1000;
    const joinCpu = cpuMs(cpu) / Math.max(rounds, 1) / n;
    const joinBytes = traffic.bytes / Math.max(rounds, 1) / n;

    cpu = process.cpuUsage();
    t = performance.now();
    traffic.bytes = 0;
    traffic.suspects = 0;
    for (let r = 0; r < STEADY_ROUNDS; r++) await net.step();
    const steadyCpu = cpuMs(cpu) / STEADY_ROUNDS / n;
    const steadyBytes = traffic.bytes / STEADY_ROUNDS / n;
    const steadyS = (performance.now() - t) / 1000 / STEADY_ROUNDS;
    console.log(
      `N=${String(n).padStart(3)}: full knowledge after ${rounds} rounds, ${joinS.toFixed(1)} s (start-up of all peers ${startupS.toFixed(1)} s) | ` +
        `joining: ${joinCpu.toFixed(1)} ms CPU, ${(joinBytes / 1024).toFixed(1)} KiB per round per peer | ` +
        `steady: ${steadyCpu.toFixed(1)} ms CPU, ${(steadyBytes / 1024).toFixed(1)} KiB per round per peer (${Math.round((100 * traffic.suspects) / Math.max(traffic.bytes, 1))}% suspicion rumours), ${steadyS.toFixed(2)} s per round for all`,
    );
  } finally {
    await net.stop();
  }
}

export async function run(): Promise<void> {
  console.log(`fanout ${TUNING.fanout}; one process, one loopback address per peer; rounds stepped on all peers at once`);
  for (const n of SIZES) await measure(n);
}
