/**
 * What a download looks like to its followers (every command's answer, the list, the live
 * events): its record, and while it runs its rate, time left and sources, each with what it
 * delivered in this run. One function makes it, so every view says the same.
 */
import type { DownloadRecord } from '../ports.ts';
import type { RateMeter } from './rate-meter.ts';

export interface Progress {
  key: string;
  fileId: string;
  name: string;
  state: DownloadRecord['state'];
  bytesDone: number;
  size?: number;
  rate: number;
  etaSeconds?: number;
  sources: string[];
  /** While it runs: what each source delivered in this run (verified bytes) and its rate now. */
  perSource?: SourceProgress[];
  finalPath?: string;
  /** Done, but the file is no longer at finalPath (deleted or moved): asked for again, it is downloaded anew. Set by the list. */
  gone?: true;
  error?: string;
}

export interface SourceProgress {
  source: string;
  /** Verified bytes written from this source since the download (re)started. */
  bytes: number;
  /** Bytes per second over the last seconds. */
  rate: number;
}

/** A download running in this process. */
export interface Active {
  controller: AbortController;
  done: Promise<void>;
  meter: RateMeter;
  sources: Set<string>;
  /** Bytes and rate per source, for every source that delivered a chunk in this run. */
  bySource: Map<string, { bytes: number; meter: RateMeter }>;
}

/** `record` as its followers see it, with `active`'s live figures while it runs. */
export function toProgress(record: DownloadRecord, active: Active | undefined, now: number): Progress {
  const remaining = (record.size ?? 0) - record.bytesDone;
  const eta = active && remaining > 0 ? active.meter.eta(remaining, now) : undefined;
  return {
    key: record.key,
    fileId: record.fileId,
    name: record.name,
    state: record.state,
    bytesDone: record.bytesDone,
    ...(record.size !== undefined ? { size: record.size } : {}),
    rate: active?.meter.rate(now) ?? 0,
    ...(eta !== undefined ? { etaSeconds: eta } : {}),
    sources: active ? [...active.sources] : [],
    ...(active ? { perSource: perSource(active, now) } : {}),
    ...(record.finalPath ? { finalPath: record.finalPath } : {}),
    ...(record.error ? { error: record.error } : {}),
  };
}

function perSource(active: Active, now: number): SourceProgress[] {
  return [...active.bySource]
    .map(([source, { bytes, meter }]) => ({ source, bytes, rate: meter.rate(now) }))
    .sort((a, b) => b.bytes - a.bytes);
}
