/**
 * The ports of the Download service besides its job queue (queue-port.ts): where bytes come
 * from, where they go, where progress is kept, and who is told when a file is complete.
 * Adapters: http/ (ChunkSource, the service API), fs/ (DownloadFiles), sqlite/ (DownloadStore),
 * and, in the composition root, the local File Management (LocalRegistry) and Fetch (SourceDirectory).
 */
import type { Manifest } from '../shared/content.ts';

/**
 * Takes the bytes of a range as they arrive. A piece may be a view of a buffer the adapter
 * reuses: it is valid during the call and, when the sink returns a promise, until that promise
 * settles (the stream pauses meanwhile: backpressure). Throwing or rejecting ends the request
 * with that error. An adapter never hands the sink a byte past the range's declared size.
 */
export type RangeSink = (piece: Buffer) => void | Promise<void>;

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
  range(source: string, fileId: string, start: number, end: number, signal: AbortSignal, sink: RangeSink): Promise<void>;
  /** Release pooled connections. */
  close(): void;
}

/** A file being downloaded: written at chunk offsets, in place next to where it will end up. */
export interface PartialFile {
  readonly path: string;
  write(offset: number, data: Uint8Array): Promise<void>;
  read(offset: number, length: number): Promise<Buffer>;
  /** fsync: every write so far is durable. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface DownloadFiles {
  /** Open (creating if needed) the partial file of download `key` for a file of `size` bytes in `dir`. */
  openPartial(dir: string, name: string, key: string, size: number): Promise<PartialFile>;
  /**
   * Move a complete, synced partial file to `dir/name` atomically, never overwriting a different
   * file (a free name such as "name (1).ext" is chosen). Returns the final path.
   */
  finalize(partial: PartialFile, dir: string, name: string): Promise<string>;
  /** Delete the partial file of a cancelled download. */
  removePartial(dir: string, name: string, key: string): Promise<void>;
}

export type DownloadState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

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
  close(): void;
}

/** The local File Management: a completed download becomes a shared file (this peer is now a source). */
export interface LocalRegistry {
  register(path: string, manifest: Manifest): Promise<void>;
}

/** More holders of a file, from Fetch's availability map (optional). */
export interface SourceDirectory {
  /** Base URLs of File Management APIs of live peers that hold `fileId` (empty when unknown or unreachable). */
  sourcesFor(fileId: string): Promise<string[]>;
}
