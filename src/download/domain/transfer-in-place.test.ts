/**
 * The transfer's receiver as a RangeSink with a target: an adapter that reads body bytes straight
 * into the chunk's pool buffer where the receiver lends it (and hands the rest on as pieces), at
 * every alignment of reads to chunk ends; a chunk is hashed once, whole. The adapter here is a
 * stand-in that behaves as RangeClient does with TLS records: it asks for a view before each read,
 * splits a read at the view's end, and hands a piece on when no view is lent.
 */
import { describe, expect, it } from 'vitest';
import { hashBytes, toManifest, type Manifest } from '../../shared/content.ts';
import type { ChunkSource, PartialFile } from '../ports.ts';
import { Bitfield } from './bitfield.ts';
import { runTransfer, type TransferEvent } from './transfer.ts';

const CHUNK = 64;

/** What the stand-in adapter saw of one source. */
interface Reads {
  taken: number;
  landed: number;
  /** Views longer than the bytes the adapter said were still due. */
  tooLong: number;
  /** Chunk indexes (of the range's first byte offset) whose bytes came through take while a view was refused. */
  refusedAt: number[];
}

interface FakeSource {
  /** Bytes per read. */
  read: number;
  /** Body bytes in the same read as the head (handed on as a piece, as RangeClient does). */
  withHead?: number;
  /** Waits before answering a range starting at `start`. */
  before?: (start: number, signal: AbortSignal) => Promise<void>;
}

/** A ChunkSource over `data` that reads like RangeClient, per source. */
function standIn(data: Buffer, sources: Record<string, FakeSource>, reads: Record<string, Reads>): ChunkSource {
  return {
    manifest: () => Promise.reject(new Error('not asked here')),
    close: () => undefined,
    range: async (source, _fileId, start, end, signal, sink) => {
      const { read, withHead = 0, before } = sources[source]!;
      const seen = (reads[source] ??= { taken: 0, landed: 0, tooLong: 0, refusedAt: [] });
      await before?.(start, signal);
      const body = data.subarray(start, end + 1);
      let at = 0;
      const piece = async (bytes: Buffer) => {
        seen.taken += bytes.length;
        at += bytes.length;
        await sink.take(Buffer.from(bytes));
      };
      if (withHead > 0) await piece(body.subarray(0, withHead));
      while (at < body.length) {
        if (signal.aborted) throw signal.reason;
        let record = body.subarray(at, Math.min(at + read, body.length));
        while (record.length > 0) {
          const due = body.length - at;
          const view = sink.target?.next(due);
          if (!view) {
            seen.refusedAt.push(Math.floor((start + at) / CHUNK));
            await piece(record);
            break;
          }
          if (view.length > due) seen.tooLong++;
          const n = Math.min(view.length, record.length);
          record.copy(view, 0, 0, n);
          record = record.subarray(n);
          at += n;
          seen.landed += n;
          await sink.target!.landed(n);
        }
      }
    },
  };
}

/** A partial file in memory; `gate`, when given, holds every write until it resolves. */
function memoryPartial(size: number, gate?: Promise<void>): PartialFile & { bytes: Buffer; writes: number[] } {
  const bytes = Buffer.alloc(size);
  const writes: number[] = [];
  return {
    path: 'memory',
    bytes,
    writes,
    read: () => Promise.resolve(Buffer.alloc(0)),
    write: async (offset, chunk) => {
      await gate;
      Buffer.from(chunk).copy(bytes, offset);
      writes.push(offset / CHUNK);
    },
    sync: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

function file(chunks: number, extra = 0): { data: Buffer; manifest: Manifest } {
  const data = Buffer.alloc(chunks * CHUNK + extra);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
  return { data, manifest: toManifest(hashBytes(data, CHUNK), 'f') };
}

async function transfer(
  manifest: Manifest,
  chunkSource: ChunkSource,
  partial: PartialFile,
  sources: string[],
  options: Record<string, number> = {},
  onEvent: (e: TransferEvent) => void = () => undefined,
): Promise<void> {
  await runTransfer({
    manifest,
    sources,
    chunkSource,
    partial,
    verified: new Bitfield(manifest.chunks.length),
    signal: new AbortController().signal,
    onEvent,
    options: { slotsPerSource: 1, ...options },
  });
}

describe('the transfer reading straight into its pool buffers', () => {
  it.each([
    ['reads that end exactly at chunk ends', { read: CHUNK }],
    ['reads that straddle chunk ends', { read: 48 }],
    ['reads longer than a chunk', { read: 150 }],
    ['the head and the first body bytes in one read, then straddling reads', { read: 40, withHead: 10 }],
  ])('writes exactly the file, almost all of it read in place: %s', async (_name, source) => {
    const { data, manifest } = file(6, 17); // a short last chunk
    const reads: Record<string, Reads> = {};
    const partial = memoryPartial(data.length);
    await transfer(manifest, standIn(data, { a: source }, reads), partial, ['a']);
    expect(partial.bytes.equals(data)).toBe(true);
    expect(reads.a!.tooLong).toBe(0);
    expect(reads.a!.taken + reads.a!.landed).toBe(data.length);
    expect(reads.a!.landed).toBeGreaterThan(data.length / 2);
    expect(reads.a!.taken).toBe('withHead' in source ? source.withHead : 0);
  });

  it('bans a source whose bytes read in place do not match, and keeps none of them', async () => {
    const { data, manifest } = file(4);
    const bad = Buffer.from(data);
    bad[CHUNK + 5] = bad[CHUNK + 5]! ^ 1; // chunk 1 corrupted at the liar
    const reads: Record<string, Reads> = {};
    const partial = memoryPartial(data.length);
    const events: TransferEvent[] = [];
    const chunks: ChunkSource = {
      ...standIn(data, { good: { read: 48 } }, reads),
      range: (source, fileId, start, end, signal, sink) =>
        standIn(source === 'liar' ? bad : data, { [source]: { read: 48 } }, reads).range(
          source,
          fileId,
          start,
          end,
          signal,
          sink,
        ),
    };
    await transfer(manifest, chunks, partial, ['liar', 'good'], { maxRunChunks: 2 }, (e) => events.push(e));
    expect(partial.bytes.equals(data)).toBe(true);
    expect(events).toContainEqual({ type: 'chunk-failed', source: 'liar', index: 1 });
    expect(reads.liar!.landed).toBeGreaterThan(0);
  });

  it('hands bytes on as pieces while no pool buffer is free, and reads in place again once one is', async () => {
    const { data, manifest } = file(8);
    let openWrites!: () => void;
    const writesHeld = new Promise<void>((resolve) => (openWrites = resolve));
    const partial = memoryPartial(data.length, writesHeld);
    const reads: Record<string, Reads> = {};
    const done = transfer(manifest, standIn(data, { a: { read: 32 } }, reads), partial, ['a'], {
      writeDepth: 1, // a pool of two buffers: both wait for the disk after two chunks
      maxRunChunks: 8,
    });
    // Let the request run into the empty pool before the disk answers.
    for (let i = 0; i < 20 && (reads.a?.refusedAt.length ?? 0) === 0; i++)
      await new Promise((resolve) => setImmediate(resolve));
    expect(reads.a!.refusedAt).toContain(2);
    openWrites();
    await done;
    expect(partial.bytes.equals(data)).toBe(true);
    expect(reads.a!.landed).toBeGreaterThan(data.length / 2); // in place again after the wait
  });

  it('counts, and keeps none of, the bytes of a chunk another request won meanwhile', async () => {
    const { data, manifest } = file(4);
    let wonElsewhere!: () => void;
    const chunk0Verified = new Promise<void>((resolve) => (wonElsewhere = resolve));
    const neverAnswers = (signal: AbortSignal) =>
      new Promise<void>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
      );
    const reads: Record<string, Reads> = {};
    const sources: Record<string, FakeSource> = {
      // Chunks 0 and 1, once chunk 0 came from b.
      a: { read: 24, before: () => chunk0Verified },
      // Chunks 2 and 3 at once; then, the endgame, duplicates of chunk 0 (answered) and chunk 1 (never).
      b: { read: 24, before: (start, signal) => (start === CHUNK ? neverAnswers(signal) : Promise.resolve()) },
    };
    const partial = memoryPartial(data.length);
    const events: TransferEvent[] = [];
    await transfer(manifest, standIn(data, sources, reads), partial, ['a', 'b'], { maxRunChunks: 2 }, (e) => {
      events.push(e);
      if (e.type === 'chunk' && e.index === 0) wonElsewhere();
    });
    expect(partial.bytes.equals(data)).toBe(true);
    const from = (e: TransferEvent) => (e.type === 'chunk' ? [`${e.index}@${e.source}`] : []);
    expect(events.flatMap(from).sort()).toEqual(['0@b', '1@a', '2@b', '3@b']);
    expect(partial.writes.sort()).toEqual([0, 1, 2, 3]); // chunk 0 once: a's copy was not kept
    expect(reads.a!.refusedAt).toEqual([0, 0, 0]); // no memory lent for the chunk not wanted: 64 bytes in 3 reads
    expect(reads.a!.landed).toBe(CHUNK - 8); // chunk 1 in place, but for the 8 bytes that shared a read with chunk 0
  });
});
