/**
 * Download job queue throughput: N jobs (10,000; BENCH_QUEUE_JOBS to change) published with
 * confirms, pipelined, and consumed with manual acks at the same time, end to end (first publish
 * to last ack). Compared: bare amqplib (confirm channel, callbacks, no awaiting in turn), the
 * RabbitMQ adapter and the embedded SQLite adapter. Median msg/s of 3 runs each, and the ratio
 * adapter / bare amqplib (target ≥ 0.8). Needs RabbitMQ at PEERSHARE_BENCH_AMQP_URL or localhost.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { AmqpJobQueue } from '../src/download/adapters/amqp/amqp-job-queue.ts';
import { SqliteJobQueue } from '../src/download/adapters/embedded-queue/sqlite-job-queue.ts';
import type { JobQueue } from '../src/download/queue-port.ts';
import { silentLogger } from '../src/shared/logging.ts';

const URL = process.env.PEERSHARE_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const N = Number(process.env.BENCH_QUEUE_JOBS ?? 10_000);
const PREFETCH = 100;
const RUNS = 3;

const body = (i: number) => Buffer.from(JSON.stringify({ fileId: `f${i}`.padEnd(64, '0'), name: `file-${i}.bin`, sources: ['127.0.0.2:7871'] }));

/** Bare amqplib, the best case: returns msg/s. */
async function bare(): Promise<number> {
  const conn = await amqp.connect(URL);
  const pub = await conn.createConfirmChannel();
  const sub = await conn.createChannel();
  const queue = `peershare.bench-${randomUUID().slice(0, 8)}.bare`;
  await pub.assertQueue(queue, { durable: true });
  await sub.prefetch(PREFETCH);
  let acked = 0;
  const t0 = performance.now();
  const consumed = new Promise<void>((resolve) => {
    void sub.consume(queue, (msg) => {
      if (!msg) return;
      sub.ack(msg);
      if (++acked === N) resolve();
    });
  });
  const confirms: Array<Promise<void>> = [];
  for (let i = 0; i < N; i++) {
    confirms.push(
      new Promise((resolve, reject) => {
        pub.sendToQueue(queue, body(i), { persistent: true, messageId: randomUUID(), headers: { 'x-peershare-key': `k${i}`, 'x-peershare-attempt': 1 } }, (err: unknown) => (err ? reject(err) : resolve()));
      }),
    );
  }
  await Promise.all([...confirms, consumed]);
  const rate = N / ((performance.now() - t0) / 1000);
  await pub.deleteQueue(queue);
  await conn.close();
  return rate;
}

/** Any JobQueue adapter, same workload: returns msg/s. */
async function adapter(queue: JobQueue, cleanup: () => Promise<void>): Promise<number> {
  await queue.start();
  let acked = 0;
  let done!: () => void;
  const consumed = new Promise<void>((r) => (done = r));
  await queue.consume(async (d) => {
    await d.ack();
    if (++acked === N) done();
  }, PREFETCH);
  const t0 = performance.now();
  await Promise.all([...Array.from({ length: N }, (_, i) => queue.publish(`k${i}`, body(i))), consumed]);
  const rate = N / ((performance.now() - t0) / 1000);
  await cleanup();
  await queue.stop();
  return rate;
}

async function viaAmqpAdapter(): Promise<number> {
  const q = new AmqpJobQueue({ url: URL, prefix: `peershare.bench-${randomUUID().slice(0, 8)}.downloads`, logger: silentLogger() });
  return adapter(q, async () => {
    const conn = await amqp.connect(URL);
    const ch = await conn.createChannel();
    for (const name of Object.values(q.names)) await ch.deleteQueue(name);
    await conn.close();
  });
}

async function viaEmbeddedAdapter(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-queue-'));
  const q = new SqliteJobQueue({ file: join(dir, 'download-queue.sqlite'), logger: silentLogger(), pollMs: 50 });
  return adapter(q, async () => rmSync(dir, { recursive: true, force: true }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => `${Math.round(x).toLocaleString('en-US')} msg/s`;

export async function run(): Promise<void> {
  const results: Record<string, number[]> = { bare: [], amqp: [], embedded: [] };
  // Interleaved, so drift on a shared machine hits every variant alike.
  for (let r = 0; r < RUNS; r++) {
    results.bare!.push(await bare());
    results.amqp!.push(await viaAmqpAdapter());
    results.embedded!.push(await viaEmbeddedAdapter());
  }
  const base = median(results.bare!);
  console.log(`${N} jobs, publish (confirms, pipelined) + consume (manual ack, prefetch ${PREFETCH}), median of ${RUNS}:`);
  for (const [name, rates] of Object.entries(results)) {
    const ratio = name === 'bare' ? '' : `  ratio vs bare amqplib ${(median(rates) / base).toFixed(2)}`;
    console.log(`  ${name.padEnd(9)} ${fmt(median(rates)).padStart(14)}  (runs: ${rates.map(fmt).join(', ')})${ratio}`);
  }
}
