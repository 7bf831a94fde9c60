/**
 * One file transfer: fetch chunks from every usable source in parallel (the scheduler decides
 * which), verify each chunk's SHA-256 before writing it at its offset, and record progress.
 * A chunk that fails verification bans its source for this file and is fetched elsewhere; a
 * request that errors or stalls counts against its source. Every verified chunk is reported at
 * once; every `syncEvery` chunks (and at the end) the partial file is fsync'd and those chunks are reported durable
 * (they survive a crash of the machine; the others are re-checked on disk after a restart).
 */
import { setMaxListeners } from 'node:events';
import type { Manifest } from '../../shared/content.ts';
import { chunkBounds, verifyChunk } from '../../shared/content.ts';
import { PeershareError } from '../../shared/errors.ts';
import type { ChunkSource, PartialFile } from '../ports.ts';
import { Bitfield } from './bitfield.ts';
import { ChunkScheduler, type SchedulerOptions } from './chunk-scheduler.ts';
import { UNLIMITED, type Throttle } from './throttle.ts';

export interface TransferOptions extends SchedulerOptions {
  /** Consecutive chunks fetched in one range request (fewer, larger requests cost less per byte). */
  runChunks: number;
  /** A request with no complete answer in this time counts as a failure of its source. */
  requestTimeoutMs: number;
  /** fsync the partial file and mark chunks durable every this many chunks. */
  syncEvery: number;
}

// fsync is for machine crashes only: after a process crash, unsynced verified chunks are re-hashed on disk.
export const DEFAULT_TRANSFER_OPTIONS: TransferOptions = { slotsPerSource: 8, runChunks: 4, maxFailures: 3, requestTimeoutMs: 30_000, syncEvery: 1024 };

export type TransferEvent =
  | { type: 'chunk'; index: number; source: string; bytes: number; verified: Buffer; durable: Buffer }
  | { type: 'source-failed'; source: string; verdict: string; reason: string }
  | { type: 'source-banned'; source: string; chunk: number }
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

/** Run a transfer to completion; rejects with UNAVAILABLE when every source is gone, or the abort reason. */
export async function runTransfer(ctx: TransferContext): Promise<void> {
  const options = { ...DEFAULT_TRANSFER_OPTIONS, ...ctx.options };
  setMaxListeners(0, ctx.signal); // one abort listener per request in flight
  const { manifest, partial } = ctx;
  const scheduler = new ChunkScheduler(ctx.verified, options);
  for (const source of ctx.sources) scheduler.addSource(source);
  const durable = new Bitfield(ctx.verified.size, ctx.verified.toBytes());
  const inFlight = new Map<string, AbortController>(); // `${source}#${chunk}` → its request
  let sinceSync = 0;
  let failure: unknown;
  let wake: () => void = () => undefined;

  const checkpoint = async () => {
    await partial.sync();
    for (const i of ctx.verified.members()) durable.add(i);
    sinceSync = 0;
    ctx.onEvent({ type: 'checkpoint', verified: ctx.verified.toBytes(), durable: durable.toBytes(), bytesDone: bytesOf(ctx.verified, manifest) });
  };

  /** Requests that carry only this chunk (endgame duplicates): cancelled once another copy wins. */
  const loneRequests = new Map<number, Set<string>>();

  /** Accept one chunk of a response; false when the source sent bad bytes (then banned). */
  const accept = async (source: string, index: number, data: Buffer): Promise<boolean> => {
    if (!verifyChunk(manifest, index, data)) {
      if (scheduler.corrupt(source, index) === 'banned') ctx.onEvent({ type: 'source-banned', source, chunk: index });
      return false;
    }
    if (ctx.verified.has(index)) {
      scheduler.cancelled(source, index); // another source won the endgame race
      return true;
    }
    try {
      await partial.write(chunkBounds(index, manifest.size, manifest.chunkSize).start, data);
    } catch (err) {
      scheduler.cancelled(source, index);
      failure ??= err; // our disk, not the source: stop the whole transfer
      return true;
    }
    scheduler.succeeded(source, index, data.length);
    for (const id of loneRequests.get(index) ?? []) inFlight.get(id)?.abort('duplicate');
    // Recorded per chunk (cheap): after a process crash the page cache still holds these chunks,
    // so a restart re-checks them on disk instead of fetching them again.
    ctx.onEvent({ type: 'chunk', index, source, bytes: data.length, verified: ctx.verified.toBytes(), durable: durable.toBytes() });
    if (++sinceSync >= options.syncEvery) await checkpoint().catch((err: unknown) => (failure ??= err));
    return true;
  };

  /** Fetch consecutive chunks `run` from one source in one range request. */
  const fetchRun = async (source: string, run: number[]) => {
    const first = run[0]!;
    const id = `${source}#${first}`;
    const controller = new AbortController();
    inFlight.set(id, controller);
    if (run.length === 1) loneRequests.set(first, (loneRequests.get(first) ?? new Set()).add(id));
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => controller.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let settled = 0; // chunks of the run already handed back to the scheduler
    try {
      const start = chunkBounds(first, manifest.size, manifest.chunkSize).start;
      const end = chunkBounds(run[run.length - 1]!, manifest.size, manifest.chunkSize).end;
      await (ctx.throttle ?? UNLIMITED).take(end - start, controller.signal);
      // The stall timer starts once the bandwidth cap lets the request go.
      timer = setTimeout(() => controller.abort(new PeershareError('UNAVAILABLE', 'request stalled')), options.requestTimeoutMs);
      const data = await ctx.chunkSource.range(source, manifest.id, start, end - 1, controller.signal);
      for (const index of run) {
        const bounds = chunkBounds(index, manifest.size, manifest.chunkSize);
        const ok = await accept(source, index, data.subarray(bounds.start - start, bounds.end - start));
        settled++;
        if (!ok) break;
      }
    } catch (err) {
      const index = run[settled];
      if (index !== undefined) {
        settled++;
        if (controller.signal.reason === 'duplicate' || scheduler.verified.has(index) || ctx.signal.aborted) {
          scheduler.cancelled(source, index);
        } else if (err instanceof PeershareError && err.code === 'BAD_SOURCE') {
          // More or fewer bytes than asked: as bad as wrong bytes.
          if (scheduler.corrupt(source, index) === 'banned') ctx.onEvent({ type: 'source-banned', source, chunk: index });
        } else {
          // One failure per request, however many chunks it carried.
          const verdict = scheduler.failed(source, index);
          const cause = controller.signal.aborted ? controller.signal.reason : err; // our stall timer, or the source's error
          ctx.onEvent({ type: 'source-failed', source, verdict, reason: (cause as Error)?.message ?? String(cause) });
        }
      }
    } finally {
      for (const index of run.slice(settled)) scheduler.cancelled(source, index); // back to the pool
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      inFlight.delete(id);
      loneRequests.get(first)?.delete(id);
      wake();
    }
  };

  while (!scheduler.done && failure === undefined && !ctx.signal.aborted) {
    for (const source of scheduler.sources) {
      for (let index = scheduler.next(source); index !== undefined; index = scheduler.next(source)) {
        const run = [index];
        while (run.length < options.runChunks && scheduler.extend(source, index + run.length)) run.push(index + run.length);
        void fetchRun(source, run);
      }
    }
    if (inFlight.size === 0) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  // Let requests still running (endgame duplicates, a failure elsewhere) settle before returning.
  for (const controller of inFlight.values()) controller.abort('duplicate');
  while (inFlight.size > 0) await new Promise<void>((resolve) => (wake = resolve));

  if (failure !== undefined) throw failure;
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (!scheduler.done) {
    const banned = scheduler.banned.length > 0 ? ` (${scheduler.banned.length} banned for bad data)` : '';
    throw new PeershareError('UNAVAILABLE', `no source could serve the rest of ${manifest.id}${banned}`);
  }
  await checkpoint();
}
