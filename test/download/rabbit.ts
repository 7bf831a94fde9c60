/**
 * Test helpers for the local RabbitMQ: rabbitmqctl, broker restarts that are always undone, and
 * queue clean-up. Every helper that stops the broker registers the restart first, so a failing
 * test still leaves RabbitMQ running.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';

export const RABBIT_URL = process.env.PEERSHARE_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const run = promisify(execFile);

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

async function brokerAnswers(): Promise<boolean> {
  try {
    const c = await amqp.connect(RABBIT_URL);
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the broker accepts AMQP connections again. */
export async function waitForBroker(): Promise<void> {
  await rabbitmqctl('await_startup');
  await expect.poll(brokerAnswers, { timeout: 30_000, interval: 200 }).toBe(true);
}

/** Makes sure the broker is started again when the current test ends, whatever happened. */
export function restoreBrokerOnFinish(): void {
  onTestFinished(async () => {
    if (await brokerAnswers()) return;
    await rabbitmqctl('start_app');
    await waitForBroker();
  }, 60_000);
}

export async function stopBroker(): Promise<void> {
  await rabbitmqctl('stop_app');
}

export async function startBroker(): Promise<void> {
  await rabbitmqctl('start_app');
  await waitForBroker();
}

/**
 * Sets `rabbit` application settings for the current test and restores their values afterwards
 * (one rabbitmqctl call each way: every call boots an Erlang VM, ~1 s).
 */
export async function setRabbitEnv(settings: Record<string, number>): Promise<void> {
  const keys = Object.keys(settings);
  const gets = keys.map((k) => `application:get_env(rabbit, ${k})`).join(', ');
  const sets = keys.map((k) => `application:set_env(rabbit, ${k}, ${settings[k]})`).join(', ');
  const before = (await rabbitmqctl('eval', `Old = [${gets}], ${sets}, Old.`)).replace(/\s/g, '');
  const values = [...before.matchAll(/\{ok,(\d+)\}|undefined/g)].map((m) => m[1]);
  onTestFinished(async () => {
    const restore = keys.map((k, i) => (values[i] ? `application:set_env(rabbit, ${k}, ${values[i]})` : `application:unset_env(rabbit, ${k})`));
    await rabbitmqctl('eval', `${restore.join(', ')}.`);
  });
}

const queuesOf = (prefix: string) => [prefix, `${prefix}.retry`, `${prefix}.dead`];

/** Deletes the queues of `prefix` (a download queue, its retry and dead-letter queues). */
export async function deleteQueues(prefix: string): Promise<void> {
  const conn = await amqp.connect(RABBIT_URL);
  try {
    const ch = await conn.createChannel();
    for (const q of queuesOf(prefix)) await ch.deleteQueue(q);
  } finally {
    await conn.close();
  }
}

/** Deletes the queues of `prefix` when the current test ends. */
export function deleteQueuesOnFinish(prefix: string): void {
  onTestFinished(() => deleteQueues(prefix));
}

/** Which queues of these prefixes exist on the broker. */
export async function queuesLeft(prefixes: readonly string[]): Promise<string[]> {
  const conn = await amqp.connect(RABBIT_URL);
  const left: string[] = [];
  try {
    for (const q of prefixes.flatMap(queuesOf)) {
      // A passive declare of a missing queue closes its channel with 404: one channel per check.
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      const found = await ch.checkQueue(q).then(() => true, () => false);
      if (found) {
        left.push(q);
        await ch.close();
      }
    }
  } finally {
    await conn.close();
  }
  return left;
}

const LOCK_DIR = join(tmpdir(), 'peershare-test-rabbitmq.lock');

function holderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8'));
  } catch {
    // Taken a moment ago and its pid not written yet, unless the lock is old.
    try {
      return Date.now() - statSync(LOCK_DIR).mtimeMs < 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Hold the broker for this test file: test files that use RabbitMQ run one at a time across
 * vitest's workers, because some stop the broker or lower its broker-wide acknowledgement
 * timeout, which would break any other file using it at that moment. A lock left by a dead
 * process is taken over.
 */
export function holdBrokerForThisFile(): void {
  beforeAll(async () => {
    for (;;) {
      try {
        mkdirSync(LOCK_DIR);
        writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!holderAlive()) rmSync(LOCK_DIR, { recursive: true, force: true });
        else await new Promise((resolve) => setTimeout(resolve, 100)); // another file holds the broker
      }
    }
  }, 600_000);
  afterAll(() => {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  });
}
