/**
 * What the Download service has done since it started, counted outside the domain: the bytes
 * each source sent (a ChunkSource wrapper) and the outcomes the DownloadManager reports as events
 * (a job done, failed or paused; a source that failed, was banned for wrong bytes, or refused).
 * The service's /health shows them and GET /metrics reads them.
 */
import type { ChunkSource, RangeSink } from './ports.ts';

export interface DownloadCounters {
  /** Bytes received from each source (peerId@host:port), verified or not. */
  bytesIn: Record<string, number>;
  /** Jobs that ended: done, failed (dead-lettered), paused (disk full), and finishes lost to a crash (downloaded again). */
  jobs: { done: number; failed: number; paused: number; finishLost: number };
  /** Sources that failed a request, sent wrong bytes until banned, or were refused (not the peer named). */
  sources: { failed: number; banned: number; refused: number };
  /** Chunks verified against their hash (and written), and chunks whose bytes did not match. */
  chunks: { verified: number; failed: number };
}

export function newDownloadCounters(): DownloadCounters {
  return {
    bytesIn: {},
    jobs: { done: 0, failed: 0, paused: 0, finishLost: 0 },
    sources: { failed: 0, banned: 0, refused: 0 },
    chunks: { verified: 0, failed: 0 },
  };
}

/** `source`, with every byte it delivers counted in `counters.bytesIn`. */
export function countingChunkSource(source: ChunkSource, counters: DownloadCounters): ChunkSource {
  return {
    manifest: (from, fileId, signal) => source.manifest(from, fileId, signal),
    range: (from, fileId, start, end, signal, sink) =>
      source.range(
        from,
        fileId,
        start,
        end,
        signal,
        countedSink(sink, (bytes) => (counters.bytesIn[from] = (counters.bytesIn[from] ?? 0) + bytes)),
      ),
    close: () => source.close(),
  };
}

/** `sink`, with `count` told the size of every piece it takes and of every read into its memory. */
export function countedSink(sink: RangeSink, count: (bytes: number) => void): RangeSink {
  const target = sink.target;
  const take = (piece: Buffer) => {
    count(piece.length);
    return sink.take(piece);
  };
  if (!target) return { take };
  const landed = (n: number) => {
    count(n);
    return target.landed(n);
  };
  return { take, target: { next: (max) => target.next(max), landed } };
}

/** Count one DownloadManager event (its `type`) in `counters`. */
export function countEvent(counters: DownloadCounters, event: Record<string, unknown>): void {
  switch (event.type) {
    case 'done':
      counters.jobs.done++;
      break;
    case 'dead-letter':
      counters.jobs.failed++;
      break;
    case 'paused':
      counters.jobs.paused++;
      break;
    case 'finish-lost':
      counters.jobs.finishLost++;
      break;
    case 'source-failed':
      counters.sources.failed++;
      break;
    case 'source-banned':
      counters.sources.banned++;
      break;
    case 'source-refused':
      counters.sources.refused++;
      break;
    case 'chunk-failed':
      counters.chunks.failed++;
      break;
  }
}
