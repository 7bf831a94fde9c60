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
import type { Manifest } from '../../shared/content.ts';
import { ChunkCheck, chunkBounds } from '../../shared/content.ts';
import { PeershareError } from '../../shared/errors.ts';
import type { ChunkSource, PartialFile } from '../ports.ts';
import { Bitfield } from './bitfield.ts';
import { BufferPool } from './buffer-pool.ts';
import { ChunkScheduler, type Run, type SchedulerOptions } from './chunk-scheduler.ts';
import type { Throttle } from './throttle.ts';

export interface TransferOptions extends SchedulerOptions {
  /** A request that delivers no byte for this long counts as a failure of its source. */
  requestTimeoutMs: number;
  /** fsync the partial file and mark chunks durable every this many chunks. */
  syncEvery: number;
  /** Chunks that may wait for the disk at once, besides one being received per request. */
  writeDepth: number;
}

// fsync is for machine crashes only: after a process crash, unsynced verified chunks are re-hashed on disk.
export const DEFAULT_TRANSFER_OPTIONS: TransferOptions = { slotsPerSource: 2, maxRunChunks: 64, maxFailures: 3, requestTimeoutMs: 30_000, syncEvery: 64, writeDepth: 4 };

export type TransferEvent =
  | { type: 'chunk'; index: number; source: string; bytes: number; verified: Buffer; durable: Buffer }
  | { type: 'source-failed'; source: string; verdict: string; reason: string; /** PEER_ID_MISMATCH, PEER_UNVERIFIED: not the peer the source names. */ code?: string }
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
}

export function bytesOf(verified: Bitfield, manifest: Manifest): number {
  let bytes = 0;
  for (const i of verified.members()) {
    const { start, end } = chunkBounds(i, manifest.size, manifest.chunkSize);
    bytes += end - start;
  }
  return bytes;
}

/** Why a request was ended on our side, not by the source. */
const STOPPED = Symbol('stopped');

/** A request timer that fires after `ms` without progress, and can be held while we are the ones waiting. */
class Watchdog {
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly fire: () => void,
  ) {}
  arm(): void {
    if (this.#timer) this.#timer.refresh();
    else this.#timer = setTimeout(this.fire, this.ms);
  }
  hold(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Run a transfer to completion; rejects with UNAVAILABLE when every source is gone, or the abort reason. */
export async function runTransfer(ctx: TransferContext): Promise<void> {
  const options = { ...DEFAULT_TRANSFER_OPTIONS, ...ctx.options };
  setMaxListeners(0, ctx.signal); // one abort listener per request in flight
  const { manifest, partial } = ctx;
  const scheduler = new ChunkScheduler(ctx.verified, options);
  for (const source of ctx.sources) scheduler.addSource(source);
  const written = new Bitfield(ctx.verified.size, ctx.verified.toBytes());
  const durable = new Bitfield(ctx.verified.size, ctx.verified.toBytes());
  const pool = new BufferPool(manifest.chunkSize, Math.max(1, ctx.sources.length) * options.slotsPerSource + options.writeDepth);
  const inFlight = new Map<Run, AbortController>();
  let writes = 0; // chunks handed to the disk and not yet written
  let sinceSync = 0;
  let syncing: Promise<void> | undefined;
  let failure: unknown;
  let wake: () => void = () => undefined;

  const checkpoint = async () => {
    const covered = new Bitfield(written.size, written.toBytes());
    await partial.sync();
    for (const i of covered.members()) durable.add(i);
    ctx.onEvent({ type: 'checkpoint', verified: written.toBytes(), durable: durable.toBytes(), bytesDone: bytesOf(written, manifest) });
  };

  /** Write a verified chunk; its buffer goes back to the pool once it is on disk. */
  const write = (source: string, index: number, buffer: Buffer, length: number) => {
    writes++;
    partial.write(chunkBounds(index, manifest.size, manifest.chunkSize).start, buffer.subarray(0, length)).then(
      () => {
        written.add(index);
        try {
          // Recorded per chunk (cheap): after a process crash the page cache still holds these chunks,
          // so a restart re-checks them on disk instead of fetching them again.
          ctx.onEvent({ type: 'chunk', index, source, bytes: length, verified: written.toBytes(), durable: durable.toBytes() });
        } catch (err) {
          failure ??= err; // recording progress failed (a full disk): stop the transfer, never the process
          return;
        }
        if (++sinceSync >= options.syncEvery && !syncing) {
          sinceSync = 0;
          syncing = checkpoint()
            .catch((err: unknown) => void (failure ??= err))
            .finally(() => {
              syncing = undefined;
              wake();
            });
        }
      },
    ).catch((err: unknown) => void (failure ??= err)) // our disk or its record (SQLITE_FULL), not the source: stop the whole transfer
    .finally(() => {
      pool.release(buffer);
      writes--;
      wake();
    });
  };

  /** Requests with nothing left to give now (endgame duplicates that lost, runs whose tail was stolen) are ended. */
  const endSpent = () => {
    for (const [run, controller] of inFlight) {
      if (run.next < run.first + run.asked && scheduler.spent(run)) controller.abort(STOPPED);
    }
  };

  /** Stream one run from its source, verifying and writing each chunk as it completes. */
  const fetchRun = async (run: Run) => {
    const { source } = run;
    const controller = new AbortController();
    inFlight.set(run, controller);
    const onAbort = () => controller.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const watchdog = new Watchdog(options.requestTimeoutMs, () => controller.abort(new PeershareError('UNAVAILABLE', 'request stalled')));
    let check: ChunkCheck | undefined;
    let buffer: Buffer | undefined;
    let filled = 0;
    let corrupt = false;

    /** Take the next piece of the answer: copy it into the chunk's buffer while hashing it. */
    const sink = (piece: Buffer): void | Promise<void> => {
      watchdog.arm();
      let offset = 0;
      while (offset < piece.length) {
        const index = run.next;
        if (run.dead || index >= run.end) throw STOPPED; // dropped, or the rest was stolen
        check ??= new ChunkCheck(manifest, index);
        const skip = scheduler.verified.has(index); // won elsewhere: count the bytes, keep none
        if (!skip && !buffer) {
          buffer = pool.tryAcquire();
          if (!buffer) {
            watchdog.hold(); // we are waiting for the disk, not the source
            const rest = piece.subarray(offset);
            return pool.acquire(controller.signal).then((b) => {
              if (controller.signal.aborted) {
                pool.release(b); // the request ended while we waited
                throw controller.signal.reason;
              }
              buffer = b;
              return sink(rest);
            });
          }
        }
        const take = Math.min(check.length - filled, piece.length - offset);
        const part = piece.subarray(offset, offset + take);
        offset += take;
        if (!skip) {
          buffer!.set(part, filled);
          check.update(part);
        }
        filled += take;
        if (filled < check.length) continue;
        // The chunk is complete.
        const length = check.length;
        if (skip || scheduler.verified.has(index)) {
          scheduler.skipped(run, index);
          if (buffer) pool.release(buffer);
        } else if (!check.matches()) {
          corrupt = true;
          ctx.onEvent({ type: 'chunk-failed', source, index });
          if (buffer) pool.release(buffer);
          buffer = undefined;
          throw new PeershareError('BAD_SOURCE', `chunk ${index} does not match its hash`);
        } else {
          scheduler.received(run, index, length);
          write(source, index, buffer!, length);
          endSpent();
        }
        buffer = undefined;
        check = undefined;
        filled = 0;
      }
      if (ctx.throttle) {
        watchdog.hold(); // the cap holds us back, not the source
        return ctx.throttle.take(piece.length, controller.signal).then(() => watchdog.arm());
      }
    };

    try {
      const start = chunkBounds(run.first, manifest.size, manifest.chunkSize).start;
      const end = chunkBounds(run.first + run.asked - 1, manifest.size, manifest.chunkSize).end;
      watchdog.arm();
      await ctx.chunkSource.range(source, manifest.id, start, end - 1, controller.signal, sink);
      scheduler.finish(run);
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err; // our stall timer, or the source's error
      if (reason === STOPPED || err === STOPPED || ctx.signal.aborted || run.dead) {
        scheduler.finish(run);
      } else if (corrupt || (err instanceof PeershareError && err.code === 'BAD_SOURCE')) {
        // Wrong bytes, or more or fewer than asked: banned for this file.
        if (scheduler.corrupt(run) === 'banned') ctx.onEvent({ type: 'source-banned', source, chunk: run.next });
      } else if (isNotThePeer(err)) {
        // The address answered with another peer's certificate, or none that proves an id: never asked again for this file.
        if (scheduler.corrupt(run) === 'banned') ctx.onEvent({ type: 'source-failed', source, verdict: 'dropped', reason: (err as PeershareError).message, code: (err as PeershareError).code });
      } else {
        // One failure per request, however many chunks it carried; those it delivered are kept.
        const verdict = scheduler.failed(run);
        ctx.onEvent({ type: 'source-failed', source, verdict, reason: (reason as Error)?.message ?? String(reason) });
      }
    } finally {
      if (!controller.signal.aborted) controller.abort(STOPPED); // a buffer or the cap may still be awaited
      if (buffer) pool.release(buffer);
      watchdog.hold();
      ctx.signal.removeEventListener('abort', onAbort);
      inFlight.delete(run);
      for (const [other, c] of inFlight) if (other.dead) c.abort(STOPPED); // the source was dropped
      wake();
    }
  };

  while (!scheduler.done && failure === undefined && !ctx.signal.aborted) {
    for (const source of scheduler.sources) {
      for (let run = scheduler.claim(source); run; run = scheduler.claim(source)) fetchRun(run).catch((err: unknown) => void (failure ??= err)); // a failed record of its outcome
    }
    if (inFlight.size === 0 && writes === 0) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  // Let requests still running (endgame duplicates, a failure elsewhere) and writes settle before returning.
  for (const controller of inFlight.values()) controller.abort(STOPPED);
  while (inFlight.size > 0 || writes > 0 || syncing) await new Promise<void>((resolve) => (wake = resolve));

  if (failure !== undefined) throw failure;
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (!scheduler.done) {
    const banned = scheduler.banned.length > 0 ? ` (${scheduler.banned.length} banned for bad data)` : '';
    throw new PeershareError('UNAVAILABLE', `no source could serve the rest of ${manifest.id}${banned}`);
  }
  await checkpoint();
}

/** Whether a source failed because it is not the peer its address names (TLS identity). */
export function isNotThePeer(err: unknown): boolean {
  return err instanceof PeershareError && (err.code === 'PEER_ID_MISMATCH' || err.code === 'PEER_UNVERIFIED');
}
