/**
 * Download job queue throughput: N jobs (10,000; BENCH_QUEUE_JOBS to change) published with
 * confirms, pipelined, and consumed with manual acks at the same time, end to end (first publish
 * to last ack). Compared: bare amqplib (confirm channel, callbacks, no awaiting in turn), the
 * RabbitMQ adapter and the embedded SQLite adapter. Median msg/s of 3 runs each, and the ratio
 * adapter / bare amqplib (target ≥ 0.8). Needs RabbitMQ at PEERSHARE_BENCH_AMQP_URL or localhost;
 * without it the two RabbitMQ variants are reported as skipped and only the embedded queue runs.
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
import { check, figure, median, table, type BenchResult } from './_results.ts';

const URL = process.env.PEERSHARE_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const N = Number(process.env.BENCH_QUEUE_JOBS ?? 10_000);
const PREFETCH = 100;
const RUNS = 3;

const body = (i: number) =>
  Buffer.from(JSON.stringify({ fileId: `f${i}`.padEnd(64, '0'), name: `file-${i}.bin`, sources: ['127.0.0.2:7871'] }));

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
        pub.sendToQueue(
          queue,
          body(i),
          {
            persistent: true,
            messageId: randomUUID(),
            headers: { 'x-peershare-key': `k${i}`, 'x-peershare-attempt': 1 },
          },
          (err: Error | null) => (err ? reject(err) : resolve()),
        );
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
  const q = new AmqpJobQueue({
    url: URL,
    prefix: `peershare.bench-${randomUUID().slice(0, 8)}.downloads`,
    logger: silentLogger(),
  });
  return adapter(q, async () => {
    const conn = await amqp.connect(URL);
    const ch = await conn.createChannel();
    for (const name of [q.names.main, q.names.retry, q.names.dead]) await ch.deleteQueue(name);
    await conn.close();
  });
}

async function viaEmbeddedAdapter(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-queue-'));
  const q = new SqliteJobQueue({ file: join(dir, 'download-queue.sqlite'), logger: silentLogger(), pollMs: 50 });
  return adapter(q, async () => rmSync(dir, { recursive: true, force: true }));
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/** Why RabbitMQ cannot be used, or undefined when it answers. */
async function brokerMissing(): Promise<string | undefined> {
  try {
    const conn = await amqp.connect(URL);
    await conn.close();
    return undefined;
  } catch (err) {
    return `RabbitMQ not reachable at ${URL.replace(/\/\/[^@]*@/, '//')}: ${(err as Error).message}`;
  }
}

export async function run(): Promise<BenchResult> {
  const missing = await brokerMissing();
  const results: Record<string, number[]> = { bare: [], amqp: [], embedded: [] };
  // Interleaved, so drift on a shared machine hits every variant alike.
  for (let r = 0; r < RUNS; r++) {
    if (!missing) {
      results.bare!.push(await bare());
      results.amqp!.push(await viaAmqpAdapter());
    }
    results.embedded!.push(await viaEmbeddedAdapter());
  }
  const base = missing ? null : median(results.bare!);
  const labels: Record<string, string> = {
    bare: 'bare amqplib (reference)',
    amqp: 'RabbitMQ adapter',
    embedded: 'embedded queue (SQLite)',
  };
  console.log(
    `queue: ${N} jobs, publish (confirms, pipelined) + consume (manual ack, prefetch ${PREFETCH}), median of ${RUNS}\n`,
  );
  console.log(
    table(
      ['what', 'msg/s (median)', 'runs', 'ratio vs bare amqplib'],
      Object.entries(results).map(([name, rates]) =>
        rates.length === 0
          ? [labels[name]!, `skipped: ${missing}`, '', '']
          : [
              labels[name]!,
              fmt(median(rates)),
              rates.map(fmt).join(', '),
              name === 'bare' || base === null ? '' : (median(rates) / base).toFixed(2),
            ],
      ),
    ),
  );
  const ratio = (name: string) => (base === null ? null : median(results[name]!) / base);
  return {
    name: 'queue',
    what: `${N.toLocaleString('en-US')} download jobs published with confirms and consumed with acks, end to end: the RabbitMQ adapter and the embedded queue against bare amqplib doing the same`,
    how: `Publishes pipelined (confirms), consumed at the same time with manual acks, prefetch ${PREFETCH}; timed from the first publish to the last ack. Bare amqplib uses a confirm channel with callbacks. ${RUNS} runs of each, interleaved; medians.`,
    parameters: { jobs: N, prefetch: PREFETCH, runs: RUNS },
    figures: [
      figure(labels.bare!, 'reference', missing ? null : results.bare!, 'msg/s', missing),
      figure(labels.amqp!, 'ours', missing ? null : results.amqp!, 'msg/s', missing),
      figure(labels.embedded!, 'ours', results.embedded!, 'msg/s'),
      figure('RabbitMQ adapter / bare amqplib', 'ratio', ratio('amqp'), '×'),
      figure('embedded queue / bare amqplib', 'ratio', ratio('embedded'), '×'),
    ],
    checks: [
      check('RabbitMQ adapter / bare amqplib', ratio('amqp'), '×', '>=', 0.8, missing),
      check('embedded queue / bare amqplib', ratio('embedded'), '×', '>=', 0.8, missing),
    ],
  };
}
