/**
 * One job running in the RabbitMQ consumer, and the JobDelivery its handler gets. The job may hold
 * several broker messages over its life (the first delivery, its redelivery after a reconnect,
 * keepAlive() copies): settling the job acks every one of them, after the retry or dead-letter
 * copy is confirmed, so a crash in between duplicates a job but never loses it.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { PeershareError } from '../../../shared/errors.ts';
import type { JobDelivery } from '../../queue-port.ts';
import { H, jobProperties, type JobMessageMeta, type QueueNames } from './topology.ts';

export interface Held {
  ch: Channel;
  msg: ConsumeMessage;
  meta: JobMessageMeta;
  /** When it was delivered to us: the broker's acknowledgement timeout counts from then. */
  at: number;
}

export interface RunningJobDeps {
  names: QueueNames;
  publish(queue: string, body: Buffer, props: Options.Publish): Promise<void>;
  ack(held: Held): void;
  /** These message ids are dealt with: ack them on sight if the broker delivers them again. */
  remember(ids: string[]): void;
  /** The job no longer runs here. */
  finished(): void;
}

/** A bounded set of message ids, oldest forgotten first. */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly cap: number) {}

  add(id: string): void {
    if (!id) return;
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.cap) this.ids.delete(this.ids.values().next().value!);
  }

  has(id: string): boolean {
    return id !== '' && this.ids.has(id);
  }
}

export class RunningJob {
  readonly key: string;
  readonly attempt: number;
  private readonly body: Buffer;
  private readonly firstId: string;
  private held: Held[];
  private readonly copies = new Set<string>();
  private settling = false;
  private done = false;
  private keepAliveChain: Promise<void> = Promise.resolve();

  constructor(
    first: Held,
    private readonly deps: RunningJobDeps,
  ) {
    this.key = first.meta.key;
    this.attempt = first.meta.attempt;
    this.body = first.msg.content;
    this.firstId = first.meta.messageId;
    this.held = [first];
  }

  get settled(): boolean {
    return this.done;
  }

  attach(held: Held): void {
    this.held.push(held);
  }

  oldestHeldAt(): number {
    return Math.min(...this.held.map((h) => h.at));
  }

  delivery(redelivered: boolean): JobDelivery {
    const headers = (attempt: number, extra: Record<string, unknown> = {}) => ({
      [H.key]: this.key,
      [H.attempt]: attempt,
      ...extra,
    });
    return {
      key: this.key,
      body: this.body,
      attempt: this.attempt,
      redelivered,
      ack: () => this.settle(async () => undefined),
      retry: (reason, delayMs) =>
        this.settle(() =>
          this.deps.publish(
            this.deps.names.retry,
            this.body,
            jobProperties(randomUUID(), headers(this.attempt + 1, { [H.reason]: reason }), {
              expiration: String(Math.max(0, Math.round(delayMs))),
            }),
          ),
        ),
      deadLetter: (reason) =>
        this.settle(() =>
          this.deps.publish(
            this.deps.names.dead,
            this.body,
            jobProperties(randomUUID(), headers(this.attempt, { [H.reason]: reason, [H.deadAt]: Date.now() })),
          ),
        ),
      keepAlive: () => this.keepAlive(),
    };
  }

  /** Republishes the job under the same key (confirmed), then acks what we held until now. */
  keepAlive(): Promise<void> {
    const next = this.keepAliveChain.then(async () => {
      if (this.settling || this.done) return;
      const copyId = randomUUID();
      // Registered before publishing: the copy may arrive before its confirm does.
      this.copies.add(copyId);
      const headers = { [H.key]: this.key, [H.attempt]: this.attempt, [H.copyOf]: this.firstId };
      await this.deps.publish(this.deps.names.main, this.body, jobProperties(copyId, headers));
      if (this.settling || this.done) return;
      const acked = this.held.filter((h) => h.meta.messageId !== copyId);
      this.held = this.held.filter((h) => h.meta.messageId === copyId);
      for (const h of acked) this.deps.ack(h);
      this.deps.remember(acked.map((h) => h.meta.messageId));
    });
    this.keepAliveChain = next.catch(() => undefined);
    return next;
  }

  /** Gives the job back without settling it (requeued now where possible, else on reconnect). */
  release(): void {
    if (this.done) return;
    this.done = true;
    for (const h of this.held) {
      try {
        h.ch.nack(h.msg, false, true);
      } catch {
        // The channel is gone: the broker has requeued the message already.
      }
    }
    // Not remembered: the requeued messages and any copy in flight are the job now.
    this.deps.finished();
  }

  private async settle(publishFirst: () => Promise<void>): Promise<void> {
    if (this.settling || this.done) throw new Error(`download job ${this.key} was already settled`);
    this.settling = true;
    try {
      await this.keepAliveChain;
      await publishFirst();
    } catch (err) {
      this.settling = false;
      throw err instanceof PeershareError
        ? err
        : new PeershareError('UNAVAILABLE', 'RabbitMQ is unreachable', { key: this.key }, { cause: err });
    }
    this.done = true;
    for (const h of this.held) this.deps.ack(h);
    this.deps.remember([...this.held.map((h) => h.meta.messageId), ...this.copies]);
    this.deps.finished();
  }
}
