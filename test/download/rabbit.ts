/**
 * Test helpers for the local RabbitMQ: rabbitmqctl, broker restarts that are always undone, and
 * queue clean-up. Every helper that stops the broker registers the restart first, so a failing
 * test still leaves RabbitMQ running.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { expect, onTestFinished } from 'vitest';

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

/** Deletes the queues of `prefix` when the current test ends. */
export function deleteQueuesOnFinish(prefix: string): void {
  onTestFinished(async () => {
    const conn = await amqp.connect(RABBIT_URL);
    try {
      const ch = await conn.createChannel();
      for (const q of [prefix, `${prefix}.retry`, `${prefix}.dead`]) await ch.deleteQueue(q);
    } finally {
      await conn.close();
    }
  });
}
