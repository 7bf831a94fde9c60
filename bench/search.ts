/**
 * Flood search on one machine: 50 Search services (one process, each on its own 127.x address,
 * real TCP), a random overlay of degree 8, TTL 7. Twenty peers hold a "target" file, every peer
 * holds 20 other files. Each round, a random peer searches for the target; the round runs to its
 * deadline so the flood has died out before the counters are read. Reports recall, Query
 * messages per search against the flood bound (2 × links), and time to first and last hit.
 * BENCH_SEARCHES changes the number of searches (default 60).
 */
import { createTestnet } from '../test/support/testnet.ts';
import { seededRandom } from '../test/support/topology.ts';

const PEERS = 50;
const DEGREE = 8;
const HOLDERS = 20;
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 60);
const DEADLINE_MS = 400;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function run(): Promise<void> {
  const startedAt = performance.now();
  const net = await createTestnet(PEERS, { kind: 'random', degree: DEGREE, seed: 42 }, { teardown: false, maxTtl: 7 });
  console.log(`${PEERS} peers, ${net.edges.length} links, linked in ${Math.round(performance.now() - startedAt)} ms`);
  const random = seededRandom(7);
  try {
    for (const p of net.peers) for (let f = 0; f < 20; f++) p.index.add(`file ${p.n}-${f} other.bin`);
    const holders = new Set<number>();
    while (holders.size < HOLDERS) holders.add(Math.floor(random() * PEERS));
    for (const h of holders) net.peers[h]!.index.add(`target at ${h}.iso`);

    const bound = 2 * net.edges.length;
    const recall: number[] = [];
    const messages: number[] = [];
    const first: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const origin = Math.floor(random() * PEERS);
      const sentBefore = net.peers.reduce((sum, p) => sum + p.service.engine.counters.queriesSent, 0);
      const t0 = performance.now();
      const times: number[] = [];
      const search = net.peers[origin]!.service.engine.search({ terms: ['target'], ttl: 7, timeoutMs: DEADLINE_MS });
      search.onHit(() => times.push(performance.now() - t0));
      await search.done;
      const sent = net.peers.reduce((sum, p) => sum + p.service.engine.counters.queriesSent, 0) - sentBefore;
      // The origin's own copy (hops 0) is found without the network; recall counts every holder.
      const remote = search.hits.filter((h) => h.hops > 0);
      recall.push(search.hits.length / HOLDERS);
      messages.push(sent);
      if (remote.length > 0) {
        first.push(times[search.hits.indexOf(remote[0]!)]!);
        last.push(times[search.hits.indexOf(remote.at(-1)!)]!);
      }
    }
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.log(`searches: ${SEARCHES}, holders: ${HOLDERS}, TTL 7, deadline ${DEADLINE_MS} ms`);
    console.log(`recall: min ${(Math.min(...recall) * 100).toFixed(1)}%, mean ${((recall.reduce((a, b) => a + b, 0) / recall.length) * 100).toFixed(1)}%`);
    console.log(`Query messages per search: mean ${(messages.reduce((a, b) => a + b, 0) / messages.length).toFixed(1)}, max ${Math.max(...messages)}, flood bound ${bound}`);
    console.log(`time to first remote hit: p50 ${ms(percentile(first, 50))}, p99 ${ms(percentile(first, 99))}`);
    console.log(`time to last hit:         p50 ${ms(percentile(last, 50))}, p99 ${ms(percentile(last, 99))}`);
  } finally {
    await net.stop();
  }
}
