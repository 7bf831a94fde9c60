/**
 * One file transfer: stream runs of chunks from every usable source in parallel (the scheduler
 * decides which), verify each chunk's SHA-256 as it streams in, and write it at its offset
 * only once it matched. A chunk that fails verification bans its source for this file and is
 * fetched elsewhere; a request that errors or stalls counts against its source, and the chunks
 * it had already delivered are kept. Chunks live in a fixed pool of buffers while they are
 * received and written, so memory does not grow with the file. Every written chunk is reported
 * at once; every `syncEvery` chunks (and at the end) the partial file is fsync'd and those
 * chunks are reported durable (they survive a crash of the machine; the others are re-checked
 * on disk after a restart).
 */
import { setMaxListeners } from 'node:events';
import { systemClock, type Cancel, type Clock } from '../../shared/clock.ts';
import type { Manifest } from '../../shared/content.ts';
import { chunkBounds, verifyChunk } from '../../shared/content.ts';
import { PeershareError } from '../../shared/errors.ts';
import type { ChunkSource, PartialFile, RangeSink, RangeTarget } from '../ports.ts';
import { Bitfield } from './bitfield.ts';
import { BufferPool } from './buffer-pool.ts';
import { ChunkScheduler, type Run, type SchedulerOptions } from './chunk-scheduler.ts';
import type { Throttle } from '../../shared/throttle.ts';

export interface TransferOptions extends SchedulerOptions {
  /** A request that delivers no byte for this long counts as a failure of its source. */
  requestTimeoutMs: number;
  /** fsync the partial file and mark chunks durable every this many chunks. */
  syncEvery: number;
  /**
   * Chunks that may wait for the disk at once, besides one being received per request. More than
   * libuv's thread pool has threads (4), so a thread that finishes a write finds the next one
   * queued instead of waiting for this thread to hand it over.
   */
  writeDepth: number;
}

// fsync is for machine crashes only: after a process crash, unsynced verified chunks are re-hashed on disk.
export const DEFAULT_TRANSFER_OPTIONS: TransferOptions = {
  slotsPerSource: 2,
  maxRunChunks: 64,
  maxFailures: 3,
  requestTimeoutMs: 30_000,
  syncEvery: 64,
  writeDepth: 8,
};

export type TransferEvent =
  | { type: 'chunk'; index: number; source: string; bytes: number; verified: Buffer; durable: Buffer }
  | {
      type: 'source-failed';
      source: string;
      verdict: string;
      reason: string;
      /** PEER_ID_MISMATCH, PEER_UNVERIFIED: not the peer the source names. */ code?: string;
    }
  | { type: 'source-banned'; source: string; chunk: number }
  /** A chunk whose bytes did not match its hash (nothing of it is kept). */
  | { type: 'chunk-failed'; source: string; index: number }
  | { type: 'checkpoint'; verified: Buffer; durable: Buffer; bytesDone: number };

export interface TransferContext {
  manifest: Manifest;
  sources: readonly string[];
  chunkSource: ChunkSource;
  partial: PartialFile;
  /** Chunks already verified and written by an earlier run (trusted: durable or re-checked). */
  verified: Bitfield;
  signal: AbortSignal;
  onEvent: (event: TransferEvent) => void;
  options?: Partial<TransferOptions>;
  /** The peer's bandwidth cap, shared by all its downloads. */
  throttle?: Throttle;
  /** The requests' silence deadlines (default: the machine's clock). */
  clock?: Clock;
}

export function bytesOf(verified: Bitfield, manifest: Manifest): number {
  let bytes = 0;
  for (const i of verified.members()) {
    const { start, end } = chunkBounds(i, manifest.size, manifest.chunkSize);
    bytes += end - start;
  }
  return bytes;
}

/** Why a request was ended on our side, not by the source: it has nothing left to give us. */
const STOPPED = Symbol('stopped');

/**
 * A request timer that fires after `ms` without progress, and can be held while we are the ones
 * waiting. Arming, once per piece received, only notes the time; the one scheduled check looks
 * again when it comes due and waits out the rest if there was progress meanwhile.
 */
class Watchdog {
  #cancel: Cancel | undefined;
  #armedAt = 0;
  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    private readonly fire: () => void,
  ) {}
  arm(): void {
    this.#armedAt = this.clock.now();
    this.#cancel ??= this.clock.schedule(this.ms, () => this.#due());
  }
  hold(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }
  #due(): void {
    const silent = this.clock.now() - this.#armedAt;
    if (silent < this.ms) {
      this.#cancel = this.clock.schedule(this.ms - silent, () => this.#due());
      return;
    }
    this.#cancel = undefined;
    this.fire();
  }
}

/** "Something changed" for the transfer's loop: a request ended, a write landed, a checkpoint finished. */
class Changes {
  #waiters: Array<() => void> = [];
  /** Wake whoever waits for the next change. */
  happened(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** Run a transfer to completion; rejects with UNAVAILABLE when every source is gone, or the abort reason. */
export async function runTransfer(ctx: TransferContext): Promise<void> {
  setMaxListeners(0, ctx.signal); // one abort listener per request in flight
  await new Transfer(ctx).run();
}

/** What one request's receiver needs from its transfer. */
interface ReceiverHost {
  readonly manifest: Manifest;
  readonly scheduler: ChunkScheduler;
  readonly pool: BufferPool;
  readonly throttle: Throttle | undefined;
  /** A chunk of `run` arrived whole and matched its hash: write it. */
  verified(run: Run, index: number, buffer: Buffer, length: number): void;
  /** A chunk of `run` did not match its hash. */
  corrupted(run: Run, index: number): void;
}

/**
 * One transfer's state and steps. The story: start a request for every run the scheduler hands
 * out; each streams its chunks through a RunReceiver (copy, hash, write when it matches); when a
 * request ends it is judged (finished, failed, banned); wait for the next change and start what
 * can start. It completes when every chunk is verified and written, and stops at the first local
 * failure (our disk, our records), at the abort, or when no source is left with anything to give.
 */
class Transfer implements ReceiverHost {
  readonly manifest: Manifest;
  readonly scheduler: ChunkScheduler;
  readonly pool: BufferPool;
  readonly throttle: Throttle | undefined;
  readonly #ctx: TransferContext;
  readonly #options: TransferOptions;
  /** Chunks on disk, and those of them fsync'd. */
  readonly #written: Bitfield;
  readonly #durable: Bitfield;
  readonly #inFlight = new Map<Run, AbortController>();
  readonly #changes = new Changes();
  /** Chunks handed to the disk and not yet written. */
  #writes = 0;
  #sinceSync = 0;
  #syncing: Promise<void> | undefined;
  /** The first local failure: it ends the transfer. */
  #failure: unknown;

  constructor(ctx: TransferContext) {
    this.#ctx = ctx;
    this.#options = { ...DEFAULT_TRANSFER_OPTIONS, ...ctx.options };
    this.manifest = ctx.manifest;
    this.throttle = ctx.throttle;
    const clock = ctx.clock ?? systemClock;
    this.scheduler = new ChunkScheduler(ctx.verified, this.#options, () => clock.now());
    for (const source of ctx.sources) this.scheduler.addSource(source);
    this.#written = new Bitfield(ctx.verified.size, ctx.verified.toBytes());
    this.#durable = new Bitfield(ctx.verified.size, ctx.verified.toBytes());
    this.pool = new BufferPool(
      ctx.manifest.chunkSize,
      Math.max(1, ctx.sources.length) * this.#options.slotsPerSource + this.#options.writeDepth,
    );
  }

  async run(): Promise<void> {
    while (this.#mayGoOn()) {
      this.#startRequests();
      if (this.#idle()) break; // nothing running and nothing claimable: no source has more to give
      await this.#changes.next();
    }
    await this.#settle();
    this.#throwUnlessComplete();
    await this.#checkpoint();
  }

  #mayGoOn(): boolean {
    return !this.scheduler.done && this.#failure === undefined && !this.#ctx.signal.aborted;
  }

  #idle(): boolean {
    return this.#inFlight.size === 0 && this.#writes === 0;
  }

  #fail(err: unknown): void {
    this.#failure ??= err;
  }

  /** A request for every run the scheduler hands out now. */
  #startRequests(): void {
    for (const source of this.scheduler.sources) {
      for (let run = this.scheduler.claim(source); run; run = this.scheduler.claim(source)) {
        this.#request(run).catch((err: unknown) => this.#fail(err)); // a failed record of its outcome
      }
    }
  }

  /** End the requests still running (endgame duplicates, or a failure elsewhere) and let them and the writes finish. */
  async #settle(): Promise<void> {
    for (const controller of this.#inFlight.values()) controller.abort(STOPPED);
    while (!this.#idle() || this.#syncing) await this.#changes.next();
  }

  #throwUnlessComplete(): void {
    // Rethrown as caught, whatever a step threw (narrowed from unknown, so the rule cannot see that).
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
    if (!this.scheduler.done) {
      const banned = this.scheduler.banned.length > 0 ? ` (${this.scheduler.banned.length} banned for bad data)` : '';
      throw new PeershareError('UNAVAILABLE', `no source could serve the rest of ${this.manifest.id}${banned}`);
    }
  }

  /** Stream one run from its source through a receiver, then judge how the request ended. */
  async #request(run: Run): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.set(run, controller);
    const onAbort = () => controller.abort(this.#ctx.signal.reason);
    this.#ctx.signal.addEventListener('abort', onAbort, { once: true });
    const watchdog = new Watchdog(this.#ctx.clock ?? systemClock, this.#options.requestTimeoutMs, () =>
      controller.abort(new PeershareError('UNAVAILABLE', 'request stalled')),
    );
    const receiver = new RunReceiver(this, run, controller, watchdog);
    try {
      const start = chunkBounds(run.first, this.manifest.size, this.manifest.chunkSize).start;
      const end = chunkBounds(run.first + run.asked - 1, this.manifest.size, this.manifest.chunkSize).end;
      watchdog.arm();
      await this.#ctx.chunkSource.range(run.source, this.manifest.id, start, end - 1, controller.signal, receiver);
      this.scheduler.finish(run);
    } catch (err) {
      this.#judge(run, controller.signal.aborted ? controller.signal.reason : err, err, receiver.corrupt); // our timer or abort, else the source's error
    } finally {
      if (!controller.signal.aborted) controller.abort(STOPPED); // a buffer or the cap may still be awaited
      receiver.release();
      watchdog.hold();
      this.#ctx.signal.removeEventListener('abort', onAbort);
      this.#inFlight.delete(run);
      for (const [other, c] of this.#inFlight) if (other.dead) c.abort(STOPPED); // the source was dropped
      this.#changes.happened();
    }
  }

  /** A request that did not finish: what it says of its source. */
  #judge(run: Run, reason: unknown, err: unknown, corrupt: boolean): void {
    const { source } = run;
    if (reason === STOPPED || err === STOPPED || this.#ctx.signal.aborted || run.dead) {
      this.scheduler.finish(run); // ended on our side
    } else if (corrupt || (err instanceof PeershareError && err.code === 'BAD_SOURCE')) {
      // Wrong bytes, or more or fewer than asked: banned for this file.
      if (this.scheduler.corrupt(run) === 'banned')
        this.#ctx.onEvent({ type: 'source-banned', source, chunk: run.next });
    } else if (isNotThePeer(err)) {
      // The address answered with another peer's certificate, or none that proves an id: never asked again for this file.
      const { message, code } = err as PeershareError;
      if (this.scheduler.corrupt(run) === 'banned')
        this.#ctx.onEvent({ type: 'source-failed', source, verdict: 'dropped', reason: message, code });
    } else {
      // One failure per request, however many chunks it carried; those it delivered are kept.
      const verdict = this.scheduler.failed(run);
      this.#ctx.onEvent({
        type: 'source-failed',
        source,
        verdict,
        reason: (reason as Error)?.message ?? String(reason),
      });
    }
  }

  verified(run: Run, index: number, buffer: Buffer, length: number): void {
    this.scheduler.received(run, index, length);
    this.#write(run.source, index, buffer, length);
    this.#endSpent();
  }

  corrupted(run: Run, index: number): void {
    this.#ctx.onEvent({ type: 'chunk-failed', source: run.source, index });
  }

  /** End the requests with nothing left to give now (endgame duplicates that lost, runs whose tail was stolen). */
  #endSpent(): void {
    for (const [run, controller] of this.#inFlight) {
      if (run.next < run.first + run.asked && this.scheduler.spent(run)) controller.abort(STOPPED);
    }
  }

  /** Write a verified chunk; its buffer goes back to the pool once it is on disk. */
  #write(source: string, index: number, buffer: Buffer, length: number): void {
    this.#writes++;
    this.#ctx.partial
      .write(chunkBounds(index, this.manifest.size, this.manifest.chunkSize).start, buffer.subarray(0, length))
      .then(() => this.#recordWritten(source, index, length))
      .catch((err: unknown) => this.#fail(err)) // our disk or its record (SQLITE_FULL), not the source: stop the whole transfer
      .finally(() => {
        this.pool.release(buffer);
        this.#writes--;
        this.#changes.happened();
      });
  }

  /**
   * Report a chunk on disk (cheap, per chunk: after a process crash the page cache still holds
   * it, so a restart re-checks it on disk instead of fetching it again); every syncEvery chunks, a checkpoint.
   */
  #recordWritten(source: string, index: number, length: number): void {
    this.#written.add(index);
    this.#ctx.onEvent({
      type: 'chunk',
      index,
      source,
      bytes: length,
      verified: this.#written.toBytes(),
      durable: this.#durable.toBytes(),
    });
    if (++this.#sinceSync < this.#options.syncEvery || this.#syncing) return;
    this.#sinceSync = 0;
    this.#syncing = this.#checkpoint()
      .catch((err: unknown) => this.#fail(err))
      .finally(() => {
        this.#syncing = undefined;
        this.#changes.happened();
      });
  }

  /** fsync the partial file: the chunks written before it are durable. */
  async #checkpoint(): Promise<void> {
    const covered = new Bitfield(this.#written.size, this.#written.toBytes());
    await this.#ctx.partial.sync();
    for (const i of covered.members()) this.#durable.add(i);
    this.#ctx.onEvent({
      type: 'checkpoint',
      verified: this.#written.toBytes(),
      durable: this.#durable.toBytes(),
      bytesDone: bytesOf(this.#written, this.manifest),
    });
  }
}

/**
 * The sink of one request: the answer's bytes fill the current chunk's pool buffer, read straight
 * into it by the adapter where it can (`target`) or copied from the pieces it hands on (`take`);
 * a complete chunk is hashed once, whole, and handed on if it matched (or dropped if another
 * request won it meanwhile: its bytes are counted, none kept). A run that lost its source or its
 * tail ends the request.
 */
class RunReceiver implements RangeSink {
  /** A chunk of this request failed its hash: the source sent wrong bytes. */
  corrupt = false;
  readonly target: RangeTarget = {
    next: (max) => this.#next(max),
    landed: (n) => this.#landed(n),
  };
  /** The chunk being received (`run.next`): its length (0 before its first byte), bytes so far, and whether they are kept. */
  #length = 0;
  #filled = 0;
  #keep = false;
  /** Where a kept chunk's bytes go (a pool buffer, once one was free). */
  #buffer: Buffer | undefined;

  constructor(
    private readonly host: ReceiverHost,
    private readonly run: Run,
    private readonly controller: AbortController,
    private readonly watchdog: Watchdog,
  ) {}

  /** Take the next piece of the answer. A promise: wait for it before the next piece (a buffer, or the bandwidth cap). */
  take(piece: Buffer): void | Promise<void> {
    this.watchdog.arm();
    let offset = 0;
    while (offset < piece.length) {
      if (!this.#inRun()) return void this.controller.abort(STOPPED); // dropped, or the rest was stolen
      if (this.#keep && !this.#buffer) {
        this.#buffer = this.host.pool.tryAcquire();
        if (!this.#buffer) return this.#waitForBuffer(piece.subarray(offset));
      }
      const take = Math.min(this.#length - this.#filled, piece.length - offset);
      if (this.#keep) piece.copy(this.#buffer!, this.#filled, offset, offset + take);
      offset += take;
      this.#filled += take;
      if (this.#filled === this.#length) this.#chunkComplete();
    }
    return this.#throttled(piece.length);
  }

  /** Where the adapter may read the chunk's next bytes: its buffer at the fill offset, up to the chunk's end. */
  #next(max: number): Uint8Array | undefined {
    if (!this.#inRun() || !this.#keep) return undefined; // `take` stops the run, or counts bytes not kept
    this.#buffer ??= this.host.pool.tryAcquire();
    if (!this.#buffer) return undefined; // `take` waits for one
    return this.#buffer.subarray(this.#filled, this.#filled + Math.min(max, this.#length - this.#filled));
  }

  /** `n` bytes were read into the view #next gave. */
  #landed(n: number): void | Promise<void> {
    this.watchdog.arm();
    if (!this.#inRun()) return void this.controller.abort(STOPPED);
    if (n > this.#length - this.#filled) throw new RangeError(`${n} bytes landed past chunk ${this.run.next}`);
    this.#filled += n;
    if (this.#filled === this.#length) this.#chunkComplete();
    return this.#throttled(n);
  }

  /**
   * Whether the run still wants bytes (it was not dropped and its tail not stolen); starts the
   * next chunk when the last one is complete, and stops keeping one that was won elsewhere.
   */
  #inRun(): boolean {
    const index = this.run.next;
    if (this.run.dead || index >= this.run.end) return false;
    if (this.#length === 0) {
      const { start, end } = chunkBounds(index, this.host.manifest.size, this.host.manifest.chunkSize);
      this.#length = end - start;
      this.#keep = true;
    }
    if (this.#keep && this.host.scheduler.verified.has(index)) this.#keep = false; // won elsewhere: count the bytes, keep none
    return true;
  }

  /** Under a bandwidth cap, wait until `bytes` may move on. */
  #throttled(bytes: number): void | Promise<void> {
    const throttle = this.host.throttle;
    if (!throttle?.capped) return;
    this.watchdog.hold(); // the cap holds us back, not the source
    return throttle.take(bytes, this.controller.signal).then(() => this.watchdog.arm());
  }

  /** Every buffer is waiting for the disk: take the rest of `piece` once one is free. */
  #waitForBuffer(rest: Buffer): Promise<void> {
    this.watchdog.hold(); // we are waiting for the disk, not the source
    return this.host.pool.acquire(this.controller.signal).then((buffer) => {
      if (this.controller.signal.aborted) {
        this.host.pool.release(buffer); // the request ended while we waited
        throw this.controller.signal.reason;
      }
      this.#buffer = buffer;
      return this.take(rest);
    });
  }

  /** The chunk is all there: hash it, whole, and hand it on if it matched. */
  #chunkComplete(): void {
    const { scheduler, pool, manifest } = this.host;
    const index = this.run.next;
    const buffer = this.#buffer;
    const keep = this.#keep;
    const length = this.#length;
    this.#buffer = undefined;
    this.#length = 0;
    this.#filled = 0;
    if (!keep || scheduler.verified.has(index)) {
      scheduler.skipped(this.run, index);
      if (buffer) pool.release(buffer);
    } else if (!verifyChunk(manifest, index, buffer!.subarray(0, length))) {
      this.corrupt = true;
      this.host.corrupted(this.run, index);
      pool.release(buffer!);
      throw new PeershareError('BAD_SOURCE', `chunk ${index} does not match its hash`);
    } else {
      this.host.verified(this.run, index, buffer!, length);
    }
  }

  /** The request is over: a buffer still held goes back to the pool. */
  release(): void {
    if (this.#buffer) this.host.pool.release(this.#buffer);
    this.#buffer = undefined;
  }
}

/** Whether a source failed because it is not the peer its address names (TLS identity). */
export function isNotThePeer(err: unknown): boolean {
  return err instanceof PeershareError && (err.code === 'PEER_ID_MISMATCH' || err.code === 'PEER_UNVERIFIED');
}
