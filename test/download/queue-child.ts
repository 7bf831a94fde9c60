/**
 * A consumer in its own process, for the "consumer dies" contract case: it opens the queue
 * described by argv[2], takes jobs without ever settling them, prints `held KEY` for each and
 * waits to be killed with SIGKILL.
 */
import { silentLogger } from '../../src/shared/logging.ts';
import { AmqpJobQueue } from '../../src/download/adapters/amqp/amqp-job-queue.ts';
import { SqliteJobQueue } from '../../src/download/adapters/embedded-queue/sqlite-job-queue.ts';
import type { JobQueue } from '../../src/download/queue-port.ts';

export type ChildSpec =
  | { kind: 'embedded'; file: string; leaseMs: number; prefetch: number }
  | { kind: 'rabbitmq'; url: string; prefix: string; prefetch: number };

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
const logger = silentLogger();
const queue: JobQueue =
  spec.kind === 'embedded'
    ? new SqliteJobQueue({ file: spec.file, logger, leaseMs: spec.leaseMs, pollMs: 50 })
    : new AmqpJobQueue({ url: spec.url, prefix: spec.prefix, logger });
await queue.start();
await queue.consume(async (d) => {
  process.stdout.write(`held ${d.key}\n`);
  await new Promise(() => undefined);
}, spec.prefetch);
process.stdout.write('consuming\n');
