/**
 * The ports of the Download service besides its job queue (queue-port.ts): where bytes come
 * from, where they go, where progress is kept, and who is told when a file is complete.
 * Adapters: http/ (ChunkSource, the service API), fs/ (DownloadFiles), sqlite/ (DownloadStore),
 * and, in the composition root, the local File Management (LocalRegistry) and Fetch (SourceDirectory).
 */
import type { Manifest } from '../shared/content.ts';

/**
 * Takes the bytes of a range as they arrive, in order. An adapter either hands it pieces to copy
 * (`take`), or, where it can and the sink offers one, reads body bytes straight into the sink's
 * own memory (`target`) and only says how many landed; one range may mix both. An adapter never
 * hands the sink, nor reads into its memory, a byte past the range's declared size.
 */
export interface RangeSink {
  /**
   * Take the next piece. It may be a view of a buffer the adapter reuses: valid during the call
   * and, when a promise is returned, until it settles (no more bytes are read meanwhile:
   * backpressure). Throwing or rejecting ends the request with that error.
   */
  take(piece: Buffer): void | Promise<void>;
  /** Where the adapter may read the next body bytes itself, if the sink offers it (optional). */
  readonly target?: RangeTarget;
}

/**
 * The sink's memory, lent for reading into (the copy a `take` makes, saved). The adapter asks for a
 * view before a read, reads at most that many bytes into its start, and reports them with
 * `landed` before asking again; a view is never written after the request ends.
 */
export interface RangeTarget {
  /**
   * A view of at most `max` bytes (the range's bytes still due) for the next read, owned by the
   * sink until the request ends; undefined when the next bytes must come through `take` (no
   * memory free yet, or none wanted for them).
   */
  next(max: number): Uint8Array | undefined;
  /**
   * `n` bytes (at most the view's length) were read into the start of the view `next` last
   * returned. Returns and throws as `take` does.
   */
  landed(n: number): void | Promise<void>;
}

/** A remote File Management API, by base URL. */
export interface ChunkSource {
  /**
   * The manifest of `fileId` at `source`, unverified (the caller checks it). Rejects, ending the
   * request, when the signal is aborted: the caller's signal carries the step's deadline.
   */
  manifest(source: string, fileId: string, signal: AbortSignal): Promise<Manifest>;
  /**
   * Stream bytes [start, end] (inclusive) of `fileId` into `sink` as they arrive, in order.
   * Resolves once all of them were taken; rejects with BAD_SOURCE if the source declares or
   * sends more bytes than asked, or another length, with UNAVAILABLE if it fails or closes the
   * connection early (a crashed source is not a lying one), with the signal's reason when
   * aborted, and with the sink's error when the sink throws (ending the request).
   */
  range(
    source: string,
    fileId: string,
    start: number,
    end: number,
    signal: AbortSignal,
    sink: RangeSink,
  ): Promise<void>;
  /** Release pooled connections. */
  close(): void;
}

/** A file on the local disk, read back to check it against its manifest. */
export interface ReadableFile {
  readonly path: string;
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** A file being downloaded: written at chunk offsets, in place next to where it will end up. */
export interface PartialFile extends ReadableFile {
  write(offset: number, data: Uint8Array): Promise<void>;
  /** fsync: every write so far is durable. */
  sync(): Promise<void>;
}

export interface OpenedPartial {
  partial: PartialFile;
  /** True when no partial file existed and an empty one was made: none of its chunks may be trusted. */
  created: boolean;
}

/**
 * The files of downloads on the local disk. Finishing a download is three steps the Download
 * service records between: place (a second name), then dropPartial (the partial's name goes).
 * Writes fail with DISK_FULL rather than eat the last free bytes of the disk (a reserve kept for
 * the peer's own records), and partial files have short names of their own, whatever the file's name.
 */
export interface DownloadFiles {
  /** Open, creating it if needed, the partial file of download `key` for a file of `size` bytes in `dir`. */
  openPartial(dir: string, name: string, key: string, size: number): Promise<OpenedPartial>;
  /** The existing partial file of download `key`, never creating one; undefined when there is none. */
  findPartial(dir: string, name: string, key: string): Promise<PartialFile | undefined>;
  /** A finished file opened for reading; undefined when it does not exist. */
  openFinished(path: string): Promise<ReadableFile | undefined>;
  /**
   * Give a complete partial file (synced first) a name in `dir`: `name`, or a free "name (n).ext",
   * shortened to fit the file-system's limit, never replacing another file. `claim` is called with
   * each name before it is tried, so a crash leaves it on record; when `claimed` already is this
   * same file (a crash after the link), that name is kept. Returns the final path.
   */
  place(
    partial: PartialFile,
    dir: string,
    name: string,
    claimed: string | undefined,
    claim: (path: string) => void,
  ): Promise<string>;
  /** Remove the partial file's own name once it was placed (the final name keeps the bytes). */
  dropPartial(partial: PartialFile): Promise<void>;
  /** Delete the partial file of a cancelled or failed download, if there is one. */
  removePartial(dir: string, name: string, key: string): Promise<void>;
}

/**
 * `finalizing`: every chunk is verified and synced and the record holds the manifest; the file is
 * being given its final name and shared. After a crash it is finished from the disk alone.
 */
export type DownloadState = 'queued' | 'running' | 'paused' | 'finalizing' | 'done' | 'failed' | 'cancelled';

export const DOWNLOAD_STATES: readonly DownloadState[] = [
  'queued',
  'running',
  'paused',
  'finalizing',
  'done',
  'failed',
  'cancelled',
];

export interface DownloadRecord {
  key: string;
  fileId: string;
  name: string;
  outDir: string;
  sources: string[];
  state: DownloadState;
  size?: number;
  chunkSize?: number;
  /** Chunks verified and written (maybe not yet fsync'd). */
  verified?: Buffer;
  /** Chunks known to be on disk (fsync'd after being verified). */
  durable?: Buffer;
  bytesDone: number;
  /** The manifest, kept from the moment the download is finalizing (to finish it after a crash). */
  manifest?: Manifest;
  /** The final path (while finalizing: the name claimed, which may not exist yet). */
  finalPath?: string;
  error?: string;
  createdAt: number;
  updatedAt: number;
}

/** Durable state of every download (SQLite). */
export interface DownloadStore {
  get(key: string): DownloadRecord | undefined;
  /** Insert or replace a whole record. */
  put(record: DownloadRecord): void;
  /** Record chunk progress (cheap; called per chunk). */
  progress(key: string, verified: Buffer, durable: Buffer, bytesDone: number, now: number): void;
  /** Downloads, newest first. */
  list(limit: number): DownloadRecord[];
  /** Delete the records in any of `states`; returns their keys. */
  forget(states: readonly DownloadRecord['state'][]): string[];
  close(): void;
}

/** The local File Management: a completed download becomes a shared file (this peer is now a source). */
export interface LocalRegistry {
  register(path: string, manifest: Manifest): Promise<void>;
  /** Where this peer already shares `fileId` (local paths; empty for an uploaded copy), or undefined when it does not. */
  sharedAt(fileId: string): Promise<string[] | undefined>;
}

/** More holders of a file, from Fetch's availability map (optional). */
export interface SourceDirectory {
  /** Base URLs of File Management APIs of live peers that hold `fileId` (empty when unknown or unreachable). */
  sourcesFor(fileId: string): Promise<string[]>;
}
