/**
 * The embedded JobQueue (the default): a durable queue in a SQLite file in the peer's data
 * directory. It survives restarts and works across processes on one machine: consumers claim
 * jobs with a lease that is renewed while the handler runs, so the job of a killed consumer is
 * handed out again once its lease runs out. New jobs are found by polling (other processes) and
 * by an in-process wake-up on publish. Writes are group-committed: the publishes and settlements
 * made in the same tick share one transaction, and each resolves when it has committed.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import { PeershareError } from '../../../shared/errors.ts';
import { openError } from '../../../shared/fs-errors.ts';
import type { Logger } from '../../../shared/logging.ts';
import type { DeadLetter, JobDelivery, JobHandler, JobQueue } from '../../queue-port.ts';
import { JobStore, type ClaimedJob } from './job-store.ts';

export interface SqliteJobQueueOptions {
  /** The SQLite file, e.g. `<dataDir>/download-queue.sqlite`. */
  file: string;
  logger: Logger;
  /** How long a claim lasts without renewal; the handler's claim is renewed every third of it. */
  leaseMs?: number;
  /** How often to look for jobs published by other processes or whose retry delay is over. */
  pollMs?: number;
  /** How long stop() waits for running handlers before releasing their jobs. */
  stopGraceMs?: number;
  /** A handler that throws is retried after this delay... */
  failureDelayMs?: number;
  /** ...and dead-lettered once a job has failed this many times. */
  maxFailures?: number;
  /** false: synchronous=NORMAL (faster, may lose the last commits on power loss). */
  durable?: boolean;
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Wakes consumers in this process on publish, per database file. */
const wakeups = new EventEmitter().setMaxListeners(0);

interface Running {
  job: ClaimedJob;
  token: string;
  settled: boolean;
}

export class SqliteJobQueue implements JobQueue {
  readonly kind = 'embedded' as const;
  private readonly file: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private store: JobStore | undefined;
  private handler: JobHandler | undefined;
  private prefetch = 0;
  private readonly running = new Set<Running>();
  private readonly settledWaiters = new Set<() => void>();
  private pending: Array<{ op: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private readonly wake = () => this.fill();

  constructor(private readonly options: SqliteJobQueueOptions) {
    this.file = resolvePath(options.file);
    this.leaseMs = options.leaseMs ?? 60_000;
    this.pollMs = options.pollMs ?? 250;
  }

  async start(): Promise<void> {
    try {
      this.store = new JobStore(this.file, this.options.durable ?? true);
    } catch (err) {
      throw openError(err, this.file); // one line naming the file and why (DISK_FULL when its disk is full)
    }
    // Consumers share this file only on this machine, and a claim's token names its process: the
    // jobs of a process that is gone (killed, crashed) are handed out again now, not when their
    // lease runs out. (A reused pid only delays this until the lease expires.)
    for (const { id, token } of this.store.claimedJobs()) {
      if (!processAlive(Number(token.split(':')[0]))) this.store.release(id, token);
    }
  }

  async stop(): Promise<void> {
    const store = this.store;
    if (!store) return;
    this.handler = undefined;
    clearInterval(this.pollTimer);
    clearInterval(this.renewTimer);
    this.pollTimer = this.renewTimer = undefined;
    wakeups.off(this.file, this.wake);
    this.flush();
    await this.waitForHandlers(this.options.stopGraceMs ?? 2_000);
    // Jobs still running are handed back now rather than when their lease would run out.
    for (const r of this.running) if (!r.settled) store.release(r.job.id, r.token);
    this.running.clear();
    this.flush();
    this.store = undefined;
    store.close();
  }

  async publish(key: string, body: Buffer): Promise<void> {
    await this.write((store) => store.insert({ key, body }, Date.now()));
    wakeups.emit(this.file);
  }

  /** Queues a write for the next group commit. */
  private write<T>(op: (store: JobStore) => T): Promise<T> {
    const store = this.store;
    if (!store) return Promise.reject(this.unavailable());
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op: () => op(store), resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async consume(handler: JobHandler, prefetch: number): Promise<void> {
    if (!this.store) throw this.unavailable();
    if (this.handler) throw new Error('consume() was already called on this queue');
    this.handler = handler;
    this.prefetch = Math.max(1, prefetch);
    wakeups.on(this.file, this.wake);
    this.pollTimer = setInterval(this.wake, this.pollMs);
    this.renewTimer = setInterval(() => this.renew(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.fill();
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.live().deadLetters(limit);
  }

  async depth(): Promise<number> {
    return this.live().depth();
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const failed = (cause: unknown) =>
      new PeershareError(
        'UNAVAILABLE',
        'the download queue could not write to its database',
        { file: this.file },
        { cause },
      );
    let results;
    try {
      if (!this.store) throw this.unavailable();
      results = this.store.batch(batch.map((p) => p.op));
    } catch (err) {
      for (const p of batch) p.reject(err instanceof PeershareError ? err : failed(err));
      return;
    }
    results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.value) : batch[i]!.reject(failed(r.error))));
  }

  /** Claims as many jobs as there are free slots and starts their handlers. */
  private fill(): void {
    const store = this.store;
    if (!store || !this.handler) return;
    const free = this.prefetch - this.running.size;
    if (free <= 0) return;
    const token = `${process.pid}:${randomUUID()}`;
    const now = Date.now();
    let jobs: ClaimedJob[];
    try {
      jobs = store.claim(token, now + this.leaseMs, now, free);
    } catch (err) {
      this.options.logger.warn({ err }, 'download queue: claiming jobs failed; will poll again');
      return;
    }
    for (const job of jobs) this.run({ job, token, settled: false });
  }

  private run(r: Running): void {
    this.running.add(r);
    const delivery = this.delivery(r);
    const handler = this.handler!;
    Promise.resolve()
      .then(() => handler(delivery))
      .catch(async (err: unknown) => {
        if (r.settled || !this.store) return;
        this.options.logger.warn({ err, key: r.job.key, attempt: r.job.attempt }, 'download job handler failed');
        const reason = `handler failed: ${err instanceof Error ? err.message : String(err)}`;
        if (r.job.attempt >= (this.options.maxFailures ?? 10)) await delivery.deadLetter(reason);
        else await delivery.retry(reason, this.options.failureDelayMs ?? 1_000);
      })
      .catch((err: unknown) =>
        this.options.logger.error({ err, key: r.job.key }, 'download queue: settling a failed job failed'),
      )
      .finally(() => {
        // A handler that returned without settling keeps its claim until stop() releases it.
        if (r.settled) this.running.delete(r);
        for (const w of this.settledWaiters) w();
        setImmediate(this.wake);
      });
  }

  private delivery(r: Running): JobDelivery {
    let settling = false;
    const settle = async (what: string, op: (store: JobStore) => boolean): Promise<void> => {
      if (r.settled || settling) throw new Error(`download job ${r.job.key} was already settled`);
      settling = true;
      let owned: boolean;
      try {
        owned = await this.write(op);
      } catch (err) {
        settling = false;
        throw err;
      }
      r.settled = true;
      this.running.delete(r);
      for (const w of this.settledWaiters) w();
      // Not owned: our lease ran out and another consumer has the job now; it will settle it.
      if (!owned) this.options.logger.warn({ key: r.job.key, what }, 'download queue: claim lost before settling');
      setImmediate(this.wake);
    };
    return {
      key: r.job.key,
      body: r.job.body,
      attempt: r.job.attempt,
      redelivered: r.job.redelivered !== 0,
      ack: () => settle('ack', (s) => s.ack(r.job.id, r.token)),
      retry: (reason, delayMs) =>
        settle('retry', (s) => s.retry(r.job.id, r.token, Date.now() + Math.max(0, delayMs), reason)),
      deadLetter: (reason) => settle('deadLetter', (s) => s.bury(r.job.id, r.token, reason, Date.now())),
      keepAlive: async () => {
        if (!r.settled) this.live().renew(r.token, Date.now() + this.leaseMs);
      },
    };
  }

  private renew(): void {
    const store = this.store;
    if (!store) return;
    const until = Date.now() + this.leaseMs;
    const tokens = new Set([...this.running].filter((r) => !r.settled).map((r) => r.token));
    try {
      for (const token of tokens) store.renew(token, until);
    } catch (err) {
      this.options.logger.warn({ err }, 'download queue: renewing leases failed');
    }
  }

  private waitForHandlers(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if ([...this.running].every((r) => r.settled)) done();
      };
      const timer = setTimeout(() => done(), graceMs);
      const done = () => {
        clearTimeout(timer);
        this.settledWaiters.delete(check);
        resolve();
      };
      this.settledWaiters.add(check);
      check();
    });
  }

  private live(): JobStore {
    if (!this.store) throw this.unavailable();
    return this.store;
  }

  private unavailable(): PeershareError {
    return new PeershareError('UNAVAILABLE', 'the download queue is not running', { kind: this.kind });
  }
}
