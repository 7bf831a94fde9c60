/**
 * The job queue port of the Download service. Download jobs (never file bytes) travel through
 * it from whoever requests a download to the Download service that performs it. Two adapters
 * implement it — RabbitMQ (adapters/amqp) and an embedded durable queue in SQLite
 * (adapters/embedded-queue) — and both pass one contract test suite.
 *
 * Semantics every adapter guarantees:
 * - publish() resolves only once the job is durable (publisher confirm / committed transaction);
 *   when it rejects, the job may or may not have been enqueued (jobs are idempotent by `key`).
 * - A delivery stays owned by its consumer until it calls exactly one of ack, retry or deadLetter;
 *   a consumer that dies (process killed, connection lost) gets its deliveries redelivered.
 * - At most `prefetch` deliveries are outstanding per consumer.
 * - retry() re-delivers the job after `delayMs` with `attempt` + 1; deadLetter() moves it to the
 *   dead-letter store with its reason, where it is never delivered again.
 */

export interface JobDelivery {
  /** The idempotency key the job was published under. */
  readonly key: string;
  /** The raw message body (JSON of a download job); the consumer validates it. */
  readonly body: Buffer;
  /** 1 on first delivery, +1 for every retry(). Redeliveries after a crash keep the attempt. */
  readonly attempt: number;
  /** True when the broker/store knows this job may have been seen before (crash, lost connection). */
  readonly redelivered: boolean;
  /** The job is done (file complete and verified): remove it for good. */
  ack(): Promise<void>;
  /** A transient failure: deliver again after `delayMs`, counting one more attempt. */
  retry(reason: string, delayMs: number): Promise<void>;
  /** The job cannot succeed: move it to the dead-letter store with `reason`. */
  deadLetter(reason: string): Promise<void>;
  /**
   * Keep a long-running delivery alive past the broker's acknowledgement timeout without losing
   * or duplicating it (e.g. republish-then-ack under the same key). Safe to call repeatedly.
   */
  keepAlive(): Promise<void>;
}

export interface DeadLetter {
  body: string;
  reason: string;
  attempts: number;
  at: number;
}

export type JobHandler = (delivery: JobDelivery) => Promise<void>;

export interface JobQueue {
  /** Which adapter this is, for status output: "rabbitmq" or "embedded". */
  readonly kind: 'rabbitmq' | 'embedded';
  /** Connect / open the store and declare the queues. */
  start(): Promise<void>;
  /** Stop consuming, wait for in-flight handlers to settle or be released, close everything. */
  stop(): Promise<void>;
  /** Enqueue a job durably (see the module comment). `key` identifies the job for idempotency. */
  publish(key: string, body: Buffer): Promise<void>;
  /** Start delivering jobs to `handler`, at most `prefetch` at a time. One consumer per queue object. */
  consume(handler: JobHandler, prefetch: number): Promise<void>;
  /** Dead-lettered jobs, newest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** Jobs waiting (not delivered, not dead), for status. */
  depth(): Promise<number>;
}
