/**
 * Test helpers for RabbitMQ. Tests that stop, restart or reconfigure the broker do it to a
 * private node of their file (privateBroker(), test/support/rabbit-node.ts), never to the
 * machine's shared broker at RABBIT_URL, which plain queue tests may use as it is.
 */
import amqp from 'amqplib';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import { startRabbitNode, type RabbitNode } from '../support/rabbit-node.ts';

/** The shared broker: only for tests that publish and consume. */
export const RABBIT_URL = process.env.PEERSHARE_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Bound on booting a private node (an Erlang VM and the rabbit app) on a loaded machine. */
const NODE_START_TIMEOUT_MS = 180_000;
/** Bound on the broker accepting AMQP connections once its app reports started. */
const BROKER_ANSWER_TIMEOUT_MS = 30_000;

async function brokerAnswers(url: string): Promise<boolean> {
  try {
    const c = await amqp.connect(url);
    await c.close();
    return true;
  } catch {
    return false;
  }
}

export interface PrivateBroker {
  /** amqp URL of this file's node (read it inside a test or hook). */
  readonly url: string;
  /** Stops the rabbit application (connections drop, the port closes); started again when the test ends. */
  stop(): Promise<void>;
  /** Starts the rabbit application and resolves once it accepts AMQP connections. */
  start(): Promise<void>;
  /**
   * Sets `rabbit` application settings for the current test and restores their values when it ends.
   */
  setEnv(settings: Record<string, number>): Promise<void>;
}

/**
 * A RabbitMQ node of this test file's own, started before its tests and stopped (its folder
 * removed) after them, also when they fail. Restarting it touches nothing else.
 */
export function privateBroker(): PrivateBroker {
  let node: RabbitNode | undefined;
  const current = (): RabbitNode => {
    if (!node) throw new Error('the private RabbitMQ node is not running (use it inside a test or hook)');
    return node;
  };
  beforeAll(async () => {
    const t0 = Date.now();
    node = await startRabbitNode();
    if (process.env.PEERSHARE_TEST_TIMINGS)
      console.log(`private RabbitMQ node ${node.name} started in ${Date.now() - t0} ms`);
  }, NODE_START_TIMEOUT_MS);
  afterAll(async () => {
    await node?.stop();
  }, NODE_START_TIMEOUT_MS);

  const rabbit = async (fn: 'start' | 'stop') => {
    // rabbit:start/0 and rabbit:stop/0 are what rabbitmqctl start_app and stop_app call.
    const reply = await current().eval(`rpc:call(Node, rabbit, ${fn}, [])`);
    if (reply !== '{ok,ok}') throw new Error(`rabbit:${fn}() on the private node answered ${reply}`);
  };
  const start = async () => {
    const n = current();
    await rabbit('start');
    await expect.poll(() => brokerAnswers(n.url), { timeout: BROKER_ANSWER_TIMEOUT_MS, interval: 200 }).toBe(true);
  };
  return {
    get url() {
      return current().url;
    },
    async stop() {
      const n = current();
      // Registered before stopping, so a failing test still leaves the node running for the next one.
      onTestFinished(async () => {
        if (!(await brokerAnswers(n.url))) await start();
      }, NODE_START_TIMEOUT_MS);
      await rabbit('stop');
    },
    start,
    async setEnv(settings) {
      const n = current();
      const keys = Object.keys(settings);
      const gets = keys.map((k) => `application:get_env(rabbit, ${k})`).join(', ');
      const sets = keys.map((k) => `application:set_env(rabbit, ${k}, ${settings[k]})`).join(', ');
      const before = await n.eval(`rpc:call(Node, erlang, apply, [fun() -> Old = [${gets}], ${sets}, Old end, []])`);
      const values = [...before.matchAll(/\{ok,(\d+)\}|undefined/g)].map((m) => m[1]);
      onTestFinished(async () => {
        const restore = keys.map((k, i) =>
          values[i] ? `application:set_env(rabbit, ${k}, ${values[i]})` : `application:unset_env(rabbit, ${k})`,
        );
        await n.eval(`rpc:call(Node, erlang, apply, [fun() -> ${restore.join(', ')} end, []])`);
      });
    },
  };
}

const queuesOf = (prefix: string) => [prefix, `${prefix}.retry`, `${prefix}.dead`];

/** Deletes the queues of `prefix` (a download queue, its retry and dead-letter queues). */
export async function deleteQueues(prefix: string, url = RABBIT_URL): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const q of queuesOf(prefix)) await ch.deleteQueue(q);
  } finally {
    await conn.close();
  }
}

/** Deletes the queues of `prefix` when the current test ends. */
export function deleteQueuesOnFinish(prefix: string, url = RABBIT_URL): void {
  onTestFinished(() => deleteQueues(prefix, url));
}

/** Which queues of these prefixes exist on the broker. */
export async function queuesLeft(prefixes: readonly string[], url = RABBIT_URL): Promise<string[]> {
  const conn = await amqp.connect(url);
  const left: string[] = [];
  try {
    for (const q of prefixes.flatMap(queuesOf)) {
      // A passive declare of a missing queue closes its channel with 404: one channel per check.
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      const found = await ch.checkQueue(q).then(
        () => true,
        () => false,
      );
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
