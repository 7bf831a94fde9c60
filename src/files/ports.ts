/**
 * The ports of the File Management service: what its domain needs from the outside world.
 * Adapters: sqlite/ (Catalog), fs/ (BlobStore, LocalFiles).
 */
import type { Readable } from 'node:stream';
import type { HashedContent } from '../shared/content.ts';

/** How a file was shared: uploaded into the store, or registered in place on the local disk. */
export type Origin = 'stored' | 'local';

/** Identity of a file on disk at the time it was hashed; any difference means it changed. */
export interface DiskStamp {
  size: number;
  mtimeNs: string;
  ino: string;
  dev: string;
}

export interface FileRecord {
  id: string;
  size: number;
  chunkSize: number;
  chunkHashes: Buffer;
  type: string;
  addedAt: number;
}

export interface ShareRecord {
  shareId: number;
  fileId: string;
  name: string;
  origin: Origin;
  /** Absolute path of a local share; undefined for stored files. */
  path?: string;
  stamp?: DiskStamp;
  addedAt: number;
}

/** A file with every name it is shared under. */
export interface FileSummary {
  id: string;
  name: string;
  names: string[];
  size: number;
  chunkSize: number;
  type: string;
  addedAt: number;
  /** Bytes of its content sent to other peers, all time (kept in the catalog). */
  uploaded: number;
  origins: Origin[];
  paths: string[];
}

export interface NewShare {
  content: HashedContent;
  type: string;
  name: string;
  origin: Origin;
  path?: string;
  stamp?: DiskStamp;
}

export interface ListQuery {
  terms: string[];
  offset: number;
  limit: number;
}

/** A (file, name) pair that matched a search. */
export interface NameMatch {
  id: string;
  name: string;
  size: number;
  /** Only in search answers (FileManager.match and lookup): the match is a shared folder, `id` its collection id, `size` its files' sum. */
  folder?: { files: number };
}

/** A shared folder as a search finds it: the collection a folder is recorded under, by its name. */
export interface CollectionName {
  id: string;
  name: string;
  /** The folder's absolute real path (one snapshot each). */
  folder: string;
  files: number;
  size: number;
}

/** What changed in the catalog since a cursor: the feed Fetch lists to other peers. */
export interface ChangeSet {
  /** Opaque; pass it back to get only later changes. */
  cursor: string;
  /** True when `added` is the whole list (unknown, stale or foreign cursor), not a delta. */
  reset: boolean;
  /** (file, name) pairs shared since the cursor. */
  added: NameMatch[];
  /** Files no longer shared at all. */
  removed: string[];
}

/** A shared folder's snapshot to record (shared/collection.ts). */
export interface NewCollection {
  id: string;
  /** The folder's own name (a label: not part of the id). */
  name: string;
  /** The folder's absolute real path: one snapshot is kept per folder. */
  folder: string;
  /** The canonical encoding the id is computed from. */
  encoding: Buffer;
  files: number;
  size: number;
}

/** A recorded collection, as this peer's user sees it. */
export interface CollectionSummary {
  id: string;
  name: string;
  folder: string;
  files: number;
  size: number;
  addedAt: number;
  /** Whether this peer still shares every file in it. */
  complete: boolean;
}

/** The catalog of shared files (SQLite). */
export interface Catalog {
  /** Add a share; the file row is created if this content is new. Idempotent. */
  addShare(share: NewShare, now: number): ShareRecord;
  /** The file with this id, if shared. */
  getFile(id: string): FileRecord | undefined;
  /** Count `bytes` of file `id`'s content as sent to another peer (nothing when it is no longer shared). */
  addUploaded(id: string, bytes: number): void;
  /** The summary (names, origins) of one file. */
  describe(id: string): FileSummary | undefined;
  /** Every share of a file, stored ones first. */
  sharesOf(id: string): ShareRecord[];
  /** The local share at this absolute path, if any. */
  shareAtPath(path: string): ShareRecord | undefined;
  /** Remove one share; the file row goes when its last share goes. Returns the file id if it went. */
  removeShare(shareId: number): string | undefined;
  /** Remove a file and all its shares; returns the removed shares. */
  removeFile(id: string): ShareRecord[];
  /** Files, newest first, optionally filtered by terms (every term a token prefix of some name). */
  list(query: ListQuery): { items: FileSummary[]; total: number };
  /** (file, name) pairs whose name matches every term, at most `limit`. */
  match(terms: string[], limit: number): NameMatch[];
  /**
   * Changes whenever a share or a recorded folder is added or removed, whichever process made the
   * change (Search running alone reads the catalog File Management writes): what to rebuild by.
   */
  namesVersion(): string;
  /** Every (file id, name) pair shared, each once. */
  shareNames(): Array<{ id: string; name: string }>;
  /** Shares added and files removed since `cursor`, at most `limit` entries (else the whole list, reset). */
  changesSince(cursor: string | undefined, limit: number): ChangeSet;
  /**
   * Record a folder's snapshot, replacing the one recorded for that folder before. It lists the
   * distinct `fileIds` in it: the collection goes when the last of those files stops being shared.
   */
  recordCollection(collection: NewCollection, fileIds: readonly string[], now: number): void;
  /** The canonical encoding of a recorded collection. */
  collectionEncoding(id: string): Buffer | undefined;
  /** Recorded collections, newest first. */
  listCollections(offset: number, limit: number): { items: CollectionSummary[]; total: number };
  /** The ids of the files of collection `id` this peer still shares. */
  collectionFileIds(id: string): string[];
  /** The folders recorded under collection `id`, or (no id) every recorded folder newest first; at most `limit`. */
  collectionNames(id: string | undefined, limit: number): CollectionName[];
  /** Whether this peer still shares every file of the collection recorded for `folder`. */
  collectionComplete(folder: string): boolean;
  /** Forget every folder's record of collection `id`; false when there was none. */
  removeCollection(id: string): boolean;
  close(): void;
}

/** A temporary upload being written; commit() moves it into the store under its id. */
export interface PendingBlob {
  commit(id: string): Promise<void>;
  discard(): Promise<void>;
}

/** Content-addressed storage of uploaded files. */
export interface BlobStore {
  /** Remove temporary files a crash may have left behind. */
  recover(): Promise<void>;
  /** Stream `source` into a temp file (fsync'd), calling `tap` on every piece; fails with PAYLOAD_TOO_LARGE past maxBytes. */
  receive(source: AsyncIterable<Uint8Array>, tap: (data: Uint8Array) => void, maxBytes: number): Promise<PendingBlob>;
  /** Read bytes [start, end] (inclusive) of a stored file. */
  read(id: string, start: number, end: number): Promise<Readable>;
  remove(id: string): Promise<void>;
}

export type LocalEntry =
  /** `relative`: its path under the folder walked, segments joined by '/' (a file named directly: its name). */
  | { kind: 'file'; path: string; relative: string; stamp: DiskStamp }
  | { kind: 'skipped'; path: string; code: 'PATH_OUTSIDE_SHARE' | 'INVALID_PATH' | 'INVALID_NAME'; reason: string };

/** The local disk, for files shared in place. */
export interface LocalFiles {
  /** What is at `path`: a regular file, a folder, or neither (INVALID_PATH). */
  kind(path: string): Promise<'file' | 'folder'>;
  /** The current disk stamp of a regular file. */
  stamp(path: string): Promise<DiskStamp>;
  /** Every regular file under a folder (or the file itself); symlinks leading outside are skipped with a reason. */
  walk(path: string): AsyncIterable<LocalEntry>;
  /** The bytes of a file, failing with FILE_CHANGED if it no longer matches `stamp`. */
  read(path: string, stamp: DiskStamp, start?: number, end?: number): Promise<Readable>;
}
