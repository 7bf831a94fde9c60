/**
 * The RabbitMQ topology of one peer's download queue, all on the default exchange:
 * - `<prefix>`        the jobs (durable, classic);
 * - `<prefix>.retry`  jobs waiting out a retry delay: each message carries its own TTL
 *                     (`expiration`) and, when it expires, is dead-lettered back to `<prefix>`;
 * - `<prefix>.dead`   jobs that cannot succeed, each with its reason in a header; nothing consumes it.
 * A per-message TTL only expires at the head of the retry queue, so a short delay queued behind a
 * long one waits for it: acceptable for download backoff, where delays are similar.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, Options } from 'amqplib';

export interface QueueNames {
  main: string;
  retry: string;
  dead: string;
}

export function queueNames(prefix: string): QueueNames {
  return { main: prefix, retry: `${prefix}.retry`, dead: `${prefix}.dead` };
}

/** Message headers (AMQP field table) the adapter reads and writes. */
export const H = {
  key: 'x-peershare-key',
  attempt: 'x-peershare-attempt',
  reason: 'x-peershare-reason',
  deadAt: 'x-peershare-dead-at',
  /** Set on a keepAlive() copy: the messageId of the delivery it keeps alive. */
  copyOf: 'x-peershare-copy-of',
} as const;

export async function declareTopology(ch: Channel, names: QueueNames): Promise<void> {
  await ch.assertQueue(names.main, { durable: true });
  await ch.assertQueue(names.retry, {
    durable: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.main },
  });
  await ch.assertQueue(names.dead, { durable: true });
}

export interface JobMessageMeta {
  key: string;
  attempt: number;
  messageId: string;
  copyOf: string | undefined;
}

export function readMeta(msg: ConsumeMessage): JobMessageMeta {
  const headers = msg.properties.headers ?? {};
  const attempt = Number(headers[H.attempt]);
  const messageId = typeof msg.properties.messageId === 'string' ? msg.properties.messageId : '';
  // A message from a foreign publisher may carry neither: give it a key of its own, so that
  // unrelated messages are never merged into one job.
  const key =
    typeof headers[H.key] === 'string' ? (headers[H.key] as string) : messageId || `anonymous-${randomUUID()}`;
  const copyOf = typeof headers[H.copyOf] === 'string' ? (headers[H.copyOf] as string) : undefined;
  return { key, attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1, messageId, copyOf };
}

export function jobProperties(
  messageId: string,
  headers: Record<string, unknown>,
  extra: Options.Publish = {},
): Options.Publish {
  return {
    persistent: true,
    messageId,
    contentType: 'application/json',
    timestamp: Math.floor(Date.now() / 1000),
    headers,
    ...extra,
  };
}
