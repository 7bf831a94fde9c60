/**
 * The RabbitMQ JobQueue: durable queues, persistent messages, pipelined publisher confirms,
 * manual acks, prefetch, retry through a TTL queue and a dead-letter queue (topology.ts), and
 * automatic recovery after a broker restart (amqp-link.ts).
 *
 * In-process deduplication keeps a job from running twice in this consumer: a message whose key
 * is already running here (a broker redelivery after a reconnect, a keepAlive() copy, a second
 * publish) is attached to the running delivery and settled with it, and a redelivered message we
 * already settled (the ack was lost with the connection) is acked on arrival. Jobs are still
 * idempotent by key for the cases this cannot see (another process, a crash).
 *
 * keepAlive() publishes a copy of the job (same key and body) with confirm, then acks the
 * messages held so far, so the broker's acknowledgement timeout starts again with the copy.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { PeershareError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logging.ts';
import type { DeadLetter, JobDelivery, JobHandler, JobQueue } from '../../queue-port.ts';
import { AmqpLink } from './amqp-link.ts';
import {
  H,
  declareTopology,
  jobProperties,
  queueNames,
  readMeta,
  type JobMessageMeta,
  type QueueNames,
} from './topology.ts';
import { RunningJob, SeenIds, type Held } from './running-job.ts';

export interface AmqpJobQueueOptions {
  /** amqp://user:pass@host:port/vhost */
  url: string;
  /** Queue name prefix, unique per peer: e.g. `peershare.<peerId>.downloads`. */
  prefix: string;
  logger: Logger;
  /** Bound on publish(): waiting for a connection plus the confirm. */
  publishTimeoutMs?: number;
  /** Bound on start() reaching the broker. */
  connectTimeoutMs?: number;
  /** The broker's consumer_timeout; messages held longer than a third of it are refreshed. */
  ackTimeoutMs?: number;
  /** Refresh running deliveries automatically (keepAlive) before the ack timeout; default true. */
  autoKeepAlive?: boolean;
  stopGraceMs?: number;
  /** A handler that throws is retried after this delay, and dead-lettered after maxFailures. */
  failureDelayMs?: number;
  maxFailures?: number;
}

export class AmqpJobQueue implements JobQueue {
  readonly kind = 'rabbitmq' as const;
  readonly names: QueueNames;
  private readonly link: AmqpLink;
  private readonly log: Logger;
  private handler: JobHandler | undefined;
  private prefetch = 1;
  private consumer: Channel | undefined;
  private readonly running = new Map<string, RunningJob>();
  private readonly backlog: Held[] = [];
  private readonly seen = new SeenIds(20_000);
  private sweeper: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: AmqpJobQueueOptions) {
    this.names = queueNames(options.prefix);
    this.log = options.logger;
    this.link = new AmqpLink({
      url: options.url,
      logger: options.logger,
      publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      onConnect: async (model, ch) => {
        await declareTopology(ch, this.names);
        if (this.handler) await this.openConsumer(model);
      },
    });
  }

  async start(): Promise<void> {
    await this.link.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.handler = undefined;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    const tag = consumer && (consumer as Channel & { consumerTag?: string }).consumerTag;
    if (tag)
      await Promise.resolve()
        .then(() => consumer.cancel(tag))
        .catch(() => undefined);
    const deadline = Date.now() + (this.options.stopGraceMs ?? 2_000);
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Whatever is still unacked goes back to the queue when the connection closes.
    await this.link.stop();
    this.backlog.length = 0;
  }

  async publish(key: string, body: Buffer): Promise<void> {
    if (this.stopping)
      throw new PeershareError('UNAVAILABLE', 'the download queue is not running', { kind: this.kind });
    await this.link.publish(this.names.main, body, jobProperties(randomUUID(), { [H.key]: key, [H.attempt]: 1 }));
  }

  async consume(handler: JobHandler, prefetch: number): Promise<void> {
    if (this.handler) throw new Error('consume() was already called on this queue');
    this.handler = handler;
    this.prefetch = Math.max(1, prefetch);
    const model = this.link.current;
    if (model) await this.openConsumer(model);
    const refreshAfter = (this.options.ackTimeoutMs ?? 1_800_000) / 3;
    this.sweeper = setInterval(() => this.refreshHeld(refreshAfter), Math.max(50, refreshAfter / 4));
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const model = this.requireModel();
    // AMQP cannot peek: take the messages without ack and close the channel, which requeues them.
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    const found: DeadLetter[] = [];
    try {
      for (let i = 0; i < 10_000; i++) {
        const msg = await ch.get(this.names.dead, { noAck: false });
        if (!msg) break;
        const h = msg.properties.headers ?? {};
        found.push({
          body: msg.content.toString('utf8'),
          reason: String(h[H.reason] ?? ''),
          attempts: Number(h[H.attempt] ?? 1),
          at: Number(h[H.deadAt] ?? 0),
        });
      }
    } finally {
      await ch.close().catch(() => undefined);
    }
    return found.reverse().slice(0, limit);
  }

  async depth(): Promise<number> {
    const ch = await this.requireModel().createChannel();
    ch.on('error', () => undefined);
    try {
      const [main, retry] = [await ch.checkQueue(this.names.main), await ch.checkQueue(this.names.retry)];
      return main.messageCount + retry.messageCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private requireModel(): ChannelModel {
    const model = this.link.current;
    if (!model) throw new PeershareError('UNAVAILABLE', 'RabbitMQ is unreachable', { kind: this.kind });
    return model;
  }

  private async openConsumer(model: ChannelModel): Promise<void> {
    if (this.consumer && this.link.current === model) return;
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.log.warn({ err }, 'rabbitmq consumer channel error'));
    ch.on('close', () => {
      if (this.consumer !== ch) return;
      this.consumer = undefined;
      // Messages buffered on a closed channel are back in the queue already.
      this.dropBacklogOf(ch);
      // The broker closed this channel alone (e.g. the ack timeout): consume again on the connection.
      setTimeout(() => {
        const current = this.link.current;
        if (current === model && this.handler && !this.consumer)
          void this.openConsumer(model).catch((err: unknown) =>
            this.log.warn({ err }, 'rabbitmq: reopening the consumer failed'),
          );
      }, 100);
    });
    await ch.prefetch(this.prefetch);
    const ok = await ch.consume(this.names.main, (msg) => this.onMessage(ch, msg), { noAck: false });
    (ch as Channel & { consumerTag?: string }).consumerTag = ok.consumerTag;
    this.consumer = ch;
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (!msg) {
      this.log.warn({ queue: this.names.main }, 'rabbitmq cancelled the download consumer (queue deleted?)');
      return;
    }
    const held: Held = { ch, msg, meta: readMeta(msg), at: Date.now() };
    if (this.seen.has(held.meta.messageId)) {
      // Settled here already; the broker never got the ack (connection lost) or it is a late copy.
      this.ackHeld(held);
      return;
    }
    const job = this.running.get(held.meta.key);
    if (job) {
      job.attach(held);
      return;
    }
    if (this.running.size >= this.prefetch) this.backlog.push(held);
    else this.dispatch(held);
  }

  private dispatch(held: Held): void {
    const handler = this.handler;
    if (!handler) return;
    const job = new RunningJob(held, {
      publish: (queue, body, props) => this.link.publish(queue, body, props),
      ack: (h) => this.ackHeld(h),
      names: this.names,
      remember: (ids) => {
        for (const id of ids) this.seen.add(id);
      },
      finished: () => this.onFinished(held.meta.key),
    });
    this.running.set(held.meta.key, job);
    const delivery: JobDelivery = job.delivery(held.msg.fields.redelivered || held.meta.copyOf !== undefined);
    Promise.resolve()
      .then(() => handler(delivery))
      .catch(async (err: unknown) => {
        if (job.settled) return;
        this.log.warn({ err, key: job.key, attempt: job.attempt }, 'download job handler failed');
        const reason = `handler failed: ${err instanceof Error ? err.message : String(err)}`;
        if (job.attempt >= (this.options.maxFailures ?? 10)) await delivery.deadLetter(reason);
        else await delivery.retry(reason, this.options.failureDelayMs ?? 1_000);
      })
      .catch((err: unknown) => {
        // Could not settle (broker down): give the job back; it is redelivered after recovery.
        this.log.error({ err, key: job.key }, 'download queue: settling a failed job failed; releasing it');
        job.release();
      });
  }

  private onFinished(key: string): void {
    this.running.delete(key);
    while (this.running.size < this.prefetch && this.backlog.length > 0) {
      const next = this.backlog.shift()!;
      if (next.ch !== this.consumer) continue;
      this.onMessage(next.ch, next.msg);
    }
  }

  /** Acks if the channel that delivered the message is still open; otherwise the broker requeued it. */
  private ackHeld(held: Held): void {
    try {
      held.ch.ack(held.msg);
    } catch {
      this.seen.add(held.meta.messageId);
    }
  }

  private dropBacklogOf(ch: Channel): void {
    for (let i = this.backlog.length - 1; i >= 0; i--) if (this.backlog[i]!.ch === ch) this.backlog.splice(i, 1);
  }

  /** Keeps every message held longer than `after` from hitting the broker's ack timeout. */
  private refreshHeld(after: number): void {
    const old = Date.now() - after;
    if (this.options.autoKeepAlive !== false) {
      for (const job of this.running.values())
        if (job.oldestHeldAt() < old)
          void job.keepAlive().catch((err: unknown) => this.log.warn({ err, key: job.key }, 'keepAlive failed'));
    }
    // Waiting in our backlog (not started): move it to the tail of the queue, as a fresh delivery.
    const stale = this.backlog.filter((h) => h.at < old);
    for (const held of stale) {
      this.backlog.splice(this.backlog.indexOf(held), 1);
      void this.requeueToTail(held, held.meta);
    }
  }

  private async requeueToTail(held: Held, meta: JobMessageMeta): Promise<void> {
    try {
      const headers = { ...(held.msg.properties.headers ?? {}), [H.key]: meta.key, [H.attempt]: meta.attempt };
      await this.link.publish(this.names.main, held.msg.content, jobProperties(randomUUID(), headers));
      this.ackHeld(held);
    } catch (err) {
      this.backlog.push(held);
      this.log.warn({ err, key: meta.key }, 'download queue: could not requeue a waiting job');
    }
  }
}
