/**
 * The JobQueue contract against RabbitMQ (a private node of this file, test/support/rabbit-node.ts;
 * fresh queue names per test, deleted afterwards), plus
 * what only a broker can do to us: restarts under load (TEST-PLAN 13), being down when a job is
 * requested (14), and its acknowledgement timeout (20).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/shared/logging.ts';
import { AmqpJobQueue, type AmqpJobQueueOptions } from '../../src/download/adapters/amqp/amqp-job-queue.ts';
import { PeershareError } from '../../src/shared/errors.ts';
import { startStallingProxy } from '../support/stalling-proxy.ts';
import { queueContract, started } from './queue-contract.ts';
import { deleteQueuesOnFinish, privateBroker } from './rabbit.ts';

const broker = privateBroker();

function freshPrefix(): string {
  const prefix = `peershare.test-${randomUUID().slice(0, 8)}.downloads`;
  deleteQueuesOnFinish(prefix, broker.url);
  return prefix;
}

function amqpQueue(prefix: string, o: Partial<AmqpJobQueueOptions> = {}): AmqpJobQueue {
  return new AmqpJobQueue({
    url: broker.url,
    prefix,
    logger: process.env.QDEBUG ? createLogger('debug') : silentLogger(),
    failureDelayMs: 50,
    publishTimeoutMs: 3_000,
    connectTimeoutMs: 3_000,
    ...o,
  });
}

queueContract('rabbitmq (amqplib)', async () => {
  const prefix = freshPrefix();
  return {
    // autoKeepAlive off: the keepAlive case must pass on the handler's own keepAlive() calls.
    open: (o = {}) => amqpQueue(prefix, { ...o, autoKeepAlive: false }),
    childSpec: (prefetch) => ({ kind: 'rabbitmq', url: broker.url, prefix, prefetch }),
    shortAckTimeout: async () => {
      // 3.10 checks the timeout on the channel tick (60 s by default), read when a channel opens.
      await broker.setEnv({ consumer_timeout: 2_000, channel_tick_interval: 500 });
      return 2_000;
    },
  };
});

describe('RabbitMQ adapter, broker faults', () => {
  it(
    'the broker restarted twice with 50 jobs queued and running: all complete, none twice',
    { timeout: 90_000 },
    async () => {
      const prefix = freshPrefix();
      const q = await started(amqpQueue(prefix));
      await Promise.all(Array.from({ length: 50 }, (_, i) => q.publish(`job-${i}`, Buffer.from(`{"n":${i}}`))));
      const completions = new Map<string, number>();
      let deliveries = 0;
      let redelivered = 0;
      await q.consume(async (d) => {
        deliveries++;
        if (d.redelivered) redelivered++;
        // The handler is idempotent by key, as the Download domain is: a finished job is only acked.
        if (!completions.has(d.key)) {
          await new Promise((r) => setTimeout(r, 200));
          completions.set(d.key, (completions.get(d.key) ?? 0) + 1);
        }
        await d.ack().catch(() => undefined);
      }, 3);
      for (const [restart, after] of [
        [1, 5],
        [2, 20],
      ] as const) {
        await expect.poll(() => completions.size, { timeout: 20_000 }).toBeGreaterThanOrEqual(after);
        expect(completions.size, `jobs left when restart ${restart} begins`).toBeLessThan(50);
        await broker.stop();
        await broker.start();
      }
      await expect.poll(() => completions.size, { timeout: 30_000 }).toBe(50);
      expect([...completions.values()].filter((n) => n > 1)).toEqual([]);
      console.log(`restart test: 50 completed, 0 twice, ${deliveries} deliveries, ${redelivered} flagged redelivered`);
      expect(await q.depth()).toBe(0);
    },
  );

  it(
    'the broker down: start() and publish() fail with UNAVAILABLE in bounded time, nothing accepted',
    { timeout: 60_000 },
    async () => {
      const prefix = freshPrefix();
      const q = await started(amqpQueue(prefix, { publishTimeoutMs: 1_500 }));
      await broker.stop();
      const t0 = Date.now();
      const err = await q.publish('a', Buffer.from('{}')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PeershareError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      expect(Date.now() - t0).toBeLessThan(10_000);
      const other = amqpQueue(prefix, { connectTimeoutMs: 1_000 });
      await expect(other.start()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await broker.start();
      // The queue recovers by itself and publishing works again.
      await expect
        .poll(
          () =>
            q.publish('b', Buffer.from('{}')).then(
              () => true,
              () => false,
            ),
          { timeout: 20_000 },
        )
        .toBe(true);
      expect(await q.depth()).toBe(1);
    },
  );

  it(
    'a reconnect attempt the broker never answers is given up and tried again: the queue recovers',
    { timeout: 60_000 },
    async () => {
      const proxy = await startStallingProxy(Number(new URL(broker.url).port));
      const prefix = freshPrefix();
      const q = await started(amqpQueue(prefix, { url: `amqp://guest:guest@127.0.0.1:${proxy.port}` }));
      await q.publish('before', Buffer.from('{}'));
      // The connection drops, and the first reconnect reaches something that accepts and never answers.
      proxy.stall();
      proxy.dropAll();
      await proxy.holding();
      proxy.forward();
      // That attempt must end by its deadline, or recovery waits on it forever.
      await expect
        .poll(
          () =>
            q.publish('after', Buffer.from('{}')).then(
              () => true,
              () => false,
            ),
          { timeout: 30_000 },
        )
        .toBe(true);
      expect(await q.depth()).toBe(2);
    },
  );

  it(
    'without keepAlive the ack timeout closes the channel; the job is still handled once',
    { timeout: 30_000 },
    async () => {
      await broker.setEnv({ consumer_timeout: 2_000, channel_tick_interval: 500 });
      const prefix = freshPrefix();
      const lines: string[] = [];
      const { pino } = await import('pino');
      const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
      const q = await started(amqpQueue(prefix, { logger, autoKeepAlive: false }));
      const calls: string[] = [];
      await q.consume(async (d) => {
        calls.push(d.key);
        if (d.key === 'slow')
          await expect.poll(() => lines.some((l) => l.includes('timed out')), { timeout: 15_000 }).toBe(true);
        await d.ack();
      }, 1);
      await q.publish('slow', Buffer.from('{}'));
      await q.publish('marker', Buffer.from('{}'));
      await expect.poll(() => calls, { timeout: 20_000 }).toContain('marker');
      expect(await q.depth()).toBe(0);
      expect(calls).toEqual(['slow', 'marker']);
    },
  );
});
