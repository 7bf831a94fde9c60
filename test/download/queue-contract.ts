/**
 * The JobQueue contract (src/download/queue-port.ts), one suite for every adapter. Each test gets
 * a fresh harness: its own queue names or database, removed when the test ends.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Logger } from '../../src/shared/logging.ts';
import type { JobDelivery, JobQueue } from '../../src/download/queue-port.ts';
import type { ChildSpec } from './queue-child.ts';

export interface QueueHarness {
  /** A new queue object on this test's store. Started queues are stopped when the test ends. */
  open(options?: { logger?: Logger; ackTimeoutMs?: number }): JobQueue;
  /** What a child process needs to open the same store (see queue-child.ts). */
  childSpec(prefetch: number): ChildSpec;
  /**
   * Makes the store's delivery timeout (embedded lease, RabbitMQ consumer_timeout) short for
   * queues opened from now on, and returns it; undone when the test ends.
   */
  shortAckTimeout(): Promise<number>;
}

const CHILD = fileURLToPath(new URL('./queue-child.ts', import.meta.url));

export async function started(q: JobQueue): Promise<JobQueue> {
  await q.start();
  onTestFinished(() => q.stop());
  return q;
}

const job = (n: number | string) => Buffer.from(JSON.stringify({ fileId: `f${n}` }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How long a poll waits for deliveries and settlements. expect.poll's 1 s default is a
 * wall-clock bet a loaded machine loses; a poll ends as soon as it holds, so this costs nothing.
 */
const WAIT = { timeout: 20_000 };

/** A handler that records every delivery and settles it with `settle` (ack by default). */
function recorder(settle: (d: JobDelivery) => Promise<void> = (d) => d.ack()) {
  const seen: JobDelivery[] = [];
  const settled: string[] = [];
  const handler = async (d: JobDelivery) => {
    seen.push(d);
    await settle(d);
    settled.push(d.key);
  };
  return { seen, settled, handler, keys: () => seen.map((d) => d.key) };
}

/** Starts a consumer in a child process holding `n` jobs unsettled; resolves with its kill(). */
async function holdInChild(spec: ChildSpec, n: number): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let held = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('held ') && ++held === n) break;
  }
  return async () => {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  };
}

export function queueContract(name: string, makeHarness: () => Promise<QueueHarness>): void {
  describe(`JobQueue contract: ${name}`, () => {
    it('acked jobs are gone for good, also after a restart', async () => {
      const h = await makeHarness();
      const q1 = await started(h.open());
      const r1 = recorder();
      await q1.publish('a', job('a'));
      await q1.consume(r1.handler, 2);
      await expect.poll(() => r1.settled, WAIT).toEqual(['a']);
      expect(r1.seen[0]).toMatchObject({ key: 'a', attempt: 1, redelivered: false });
      expect(JSON.parse(r1.seen[0]!.body.toString())).toEqual({ fileId: 'fa' });
      await q1.stop();

      const q2 = await started(h.open());
      const r2 = recorder();
      await q2.consume(r2.handler, 2);
      await q2.publish('marker', job('m'));
      await expect.poll(() => r2.settled, WAIT).toEqual(['marker']);
      expect(r2.keys()).toEqual(['marker']);
      expect(await q2.depth()).toBe(0);
    });

    it('jobs of a consumer killed without settling are redelivered, flagged, same attempt', async () => {
      const h = await makeHarness();
      const q = await started(h.open());
      for (const k of ['a', 'b']) await q.publish(k, job(k));
      const kill = await holdInChild(h.childSpec(2), 2);
      await kill();
      const r = recorder();
      await q.consume(r.handler, 2);
      await expect.poll(() => [...r.settled].sort(), WAIT).toEqual(['a', 'b']);
      expect(r.seen.map((d) => [d.key, d.attempt, d.redelivered]).sort()).toEqual([
        ['a', 1, true],
        ['b', 1, true],
      ]);
    });

    it('retry() redelivers after the delay with attempt + 1', async () => {
      const h = await makeHarness();
      const q = await started(h.open());
      const at: number[] = [];
      const r = recorder(async (d) => {
        at.push(Date.now());
        await (d.attempt === 1 ? d.retry('source busy', 300) : d.ack());
      });
      await q.publish('a', job('a'));
      await q.consume(r.handler, 1);
      await expect.poll(() => r.settled, WAIT).toEqual(['a', 'a']);
      expect(r.seen.map((d) => [d.attempt, d.redelivered])).toEqual([
        [1, false],
        [2, false],
      ]);
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(250);
      expect(await q.depth()).toBe(0);
    });

    it('dead-letters after N failures with its reason, and never delivers it again', async () => {
      const h = await makeHarness();
      const q = await started(h.open());
      const r = recorder((d) =>
        d.key === 'marker'
          ? d.ack()
          : d.attempt < 3
            ? d.retry('source unreachable', 20)
            : d.deadLetter(`no source after ${d.attempt} attempts`),
      );
      await q.publish('a', job('a'));
      await q.consume(r.handler, 1);
      await expect.poll(() => q.deadLetters(10), WAIT).toHaveLength(1);
      const [dead] = await q.deadLetters(10);
      expect(dead).toMatchObject({ reason: 'no source after 3 attempts', attempts: 3, body: job('a').toString() });
      expect(dead!.at).toBeGreaterThan(0);
      await q.publish('marker', job('m'));
      await expect.poll(() => r.settled.at(-1), WAIT).toBe('marker');
      expect(r.keys()).toEqual(['a', 'a', 'a', 'marker']);
      expect(await q.depth()).toBe(0);
    });

    it('malformed jobs are dead-lettered, a throwing handler is retried, the consumer keeps running', async () => {
      const h = await makeHarness();
      const q = await started(h.open());
      const handled: string[] = [];
      await q.consume(async (d) => {
        let parsed: { fileId?: unknown };
        try {
          parsed = JSON.parse(d.body.toString()) as { fileId?: unknown };
        } catch (err) {
          return d.deadLetter(`malformed job: ${(err as Error).message}`);
        }
        if (parsed.fileId === 'fboom' && d.attempt === 1) throw new Error('boom');
        handled.push(`${d.key}@${d.attempt}`);
        await d.ack();
      }, 2);
      await q.publish('bad', Buffer.from('{not json'));
      await q.publish('boom', job('boom'));
      for (const k of ['x', 'y']) await q.publish(k, job(k));
      await expect.poll(() => [...handled].sort(), WAIT).toEqual(['boom@2', 'x@1', 'y@1']);
      const dead = await q.deadLetters(10);
      expect(dead).toHaveLength(1);
      expect(dead[0]!.reason).toMatch(/^malformed job: /);
      expect(dead[0]!.body).toBe('{not json');
    });

    it('published jobs survive a restart of the queue object', async () => {
      const h = await makeHarness();
      const q1 = await started(h.open());
      for (const k of ['a', 'b', 'c']) await q1.publish(k, job(k));
      expect(await q1.depth()).toBe(3);
      await q1.stop();
      const q2 = await started(h.open());
      const r = recorder();
      await q2.consume(r.handler, 3);
      await expect.poll(() => [...r.settled].sort(), WAIT).toEqual(['a', 'b', 'c']);
    });

    it('never more than `prefetch` deliveries in the handler at once', async () => {
      const h = await makeHarness();
      const q = await started(h.open());
      for (let i = 0; i < 8; i++) await q.publish(`k${i}`, job(i));
      const parked: Array<() => void> = [];
      let active = 0;
      let max = 0;
      let done = 0;
      await q.consume(async (d) => {
        max = Math.max(max, ++active);
        await new Promise<void>((r) => parked.push(r));
        active--;
        await d.ack();
        done++;
      }, 3);
      for (const expected of [3, 3, 2]) {
        await expect.poll(() => parked.length, WAIT).toBe(expected);
        await sleep(150); // room for an over-delivery to show up
        expect(active).toBe(expected);
        parked.splice(0).forEach((release) => release());
      }
      await expect.poll(() => done, WAIT).toBe(8);
      expect(max).toBe(3);
    });

    it('publishing a key that is waiting or running again is one job', async () => {
      const h = await makeHarness();
      const q = await started(h.open());
      await q.publish('a', job('a'));
      await q.publish('a', job('a'));
      await q.publish('b', job('b'));
      const r = recorder();
      await q.consume(r.handler, 4);
      await expect.poll(() => [...r.settled].sort(), WAIT).toEqual(['a', 'b']);
      await q.publish('marker', job('m'));
      await expect.poll(() => r.settled, WAIT).toContain('marker');
      expect(r.keys().filter((k) => k === 'a')).toHaveLength(1);
      expect(await q.depth()).toBe(0);
    });

    it('keepAlive() keeps a delivery longer than the ack timeout from being lost or duplicated', async () => {
      const h = await makeHarness();
      const timeout = await h.shortAckTimeout();
      const q = await started(h.open({ ackTimeoutMs: timeout }));
      const r = recorder(async (d) => {
        const until = Date.now() + timeout * 1.6;
        while (d.key === 'long' && Date.now() < until) {
          await d.keepAlive();
          await sleep(timeout / 4);
        }
        await d.ack();
      });
      await q.publish('long', job('long'));
      await q.consume(r.handler, 1);
      await expect.poll(() => r.settled, { timeout: timeout * 4 }).toEqual(['long']);
      await q.publish('marker', job('m'));
      await expect.poll(() => r.settled, WAIT).toEqual(['long', 'marker']);
      expect(r.keys()).toEqual(['long', 'marker']);
      await q.stop();
      const q2 = await started(h.open());
      const r2 = recorder();
      await q2.consume(r2.handler, 2);
      await q2.publish('marker2', job('m2'));
      await expect.poll(() => r2.settled, WAIT).toEqual(['marker2']);
      expect(r2.keys()).toEqual(['marker2']);
    });
  });
}
