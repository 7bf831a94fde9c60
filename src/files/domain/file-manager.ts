/**
 * The use cases of File Management: add a file (upload or share in place), list, describe,
 * serve manifests and bytes, unshare, and match names for Search; a shared folder is recorded as
 * a collection too (folder-collection.ts). Pure logic over the ports.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { ChunkHasher, isManifestConsistent, toManifest, type Manifest } from '../../shared/content.ts';
import { PeershareError } from '../../shared/errors.ts';
import type {
  BlobStore,
  Catalog,
  ChangeSet,
  CollectionName,
  CollectionSummary,
  DiskStamp,
  FileSummary,
  LocalFiles,
  NameMatch,
  ShareRecord,
} from '../ports.ts';
import { folderCollection, type FolderFile, type LeftOut } from './folder-collection.ts';
import { mediaTypeOf } from './media-types.ts';
import { validateFileName } from '../../shared/names.ts';
import { ShareProgressTracker, type ShareProgress } from './share-progress.ts';
import { sameStamp } from './stamp.ts';
import { matchesAll, parseTerms } from './terms.ts';
import type { RouteTable } from '../../protocol/route-table.ts';
import { routeTableOf, type RoutedName } from './route-table-of.ts';

/**
 * Shared folders a search looks through, newest first: each is one catalog row (a folder shared
 * whole), so a peer has few; names are matched here, not by the full-text index files use.
 */
export const MAX_FOLDERS_SEARCHED = 1_000;

export interface FileManagerOptions {
  chunkSize: number;
  maxUploadBytes: number;
  now?: () => number;
}

export interface SharedEntry {
  id: string;
  name: string;
  path: string;
  size: number;
  /** False when the file was already shared unchanged, so it was not hashed again. */
  hashed: boolean;
}

/** A shared folder, recorded as a collection (docs/PROTOCOL.md §11). */
export interface SharedCollection {
  id: string;
  /** The folder's name. */
  name: string;
  /** Entries in the collection. */
  files: number;
  size: number;
  /** Files shared on their own but left out of the collection, and why. */
  omitted: LeftOut[];
}

export interface ShareResult {
  files: SharedEntry[];
  skipped: Array<{ path: string; code: string; reason: string }>;
  /** Present when a folder was shared and recorded as a collection. */
  collection?: SharedCollection;
}

export interface ShareOptions {
  /** Called when the share is planned, as its bytes are hashed, and as each file ends. */
  onProgress?: (p: ShareProgress) => void;
  /** Aborting stops the share between two reads; files hashed by then stay shared. */
  signal?: AbortSignal;
}

export interface Content {
  stream: Readable;
  size: number;
}

export type FileEvent =
  | { type: 'upload-failed'; name: string; code: string }
  | { type: 'share-stale'; id: string; path: string }
  | { type: 'hashing'; path: string; size: number };

export type { ShareProgress };

export class FileManager {
  /** Emits 'event' with a FileEvent, for logs and tests. */
  readonly events = new EventEmitter<{ event: [FileEvent] }>();
  readonly #catalog: Catalog;
  readonly #blobs: BlobStore;
  readonly #local: LocalFiles;
  readonly #options: Required<FileManagerOptions>;
  /** The route table last built, and the catalog's names version it was built at. */
  #routes: { version: string; table: RouteTable } | undefined;

  constructor(ports: { catalog: Catalog; blobs: BlobStore; local: LocalFiles }, options: FileManagerOptions) {
    this.#catalog = ports.catalog;
    this.#blobs = ports.blobs;
    this.#local = ports.local;
    this.#options = { now: Date.now, ...options };
  }

  /** Store an uploaded stream under `name`; the same content uploaded twice is one file. */
  async upload(source: AsyncIterable<Uint8Array>, name: string): Promise<{ file: FileSummary; created: boolean }> {
    validateFileName(name);
    const hasher = new ChunkHasher(this.#options.chunkSize);
    let pending;
    try {
      pending = await this.#blobs.receive(source, (data) => hasher.update(data), this.#options.maxUploadBytes);
    } catch (err) {
      this.#emit({ type: 'upload-failed', name, code: err instanceof PeershareError ? err.code : 'INTERNAL' });
      throw err;
    }
    const content = hasher.digest();
    const created = this.#catalog.getFile(content.id) === undefined;
    try {
      await pending.commit(content.id);
    } catch (err) {
      await pending.discard();
      this.#emit({ type: 'upload-failed', name, code: err instanceof PeershareError ? err.code : 'INTERNAL' });
      throw err;
    }
    this.#catalog.addShare({ content, type: mediaTypeOf(name), name, origin: 'stored' }, this.#options.now());
    return { file: this.get(content.id), created };
  }

  /**
   * Share a file or every file under a folder in place (no copy). Unchanged files are not hashed
   * again. The folder is walked first, so that progress can be reported against the bytes there
   * are to hash; a share that is aborted stops between two reads, and the files hashed by then
   * stay shared. A folder shared whole is recorded as a collection of the files shared, replacing
   * the snapshot recorded for that folder before.
   */
  async share(path: string, options: ShareOptions = {}): Promise<ShareResult> {
    const kind = await this.#local.kind(path); // INVALID_PATH before any work
    const result: ShareResult = { files: [], skipped: [] };
    const planned: Array<{
      path: string;
      relative: string;
      name: string;
      stamp: DiskStamp;
      unchanged: ShareRecord | undefined;
    }> = [];
    for await (const entry of this.#local.walk(path)) {
      options.signal?.throwIfAborted();
      if (entry.kind === 'skipped') {
        result.skipped.push({ path: entry.path, code: entry.code, reason: entry.reason });
        continue;
      }
      const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
      try {
        validateFileName(name);
      } catch (err) {
        result.skipped.push({ path: entry.path, code: 'INVALID_NAME', reason: (err as Error).message });
        continue;
      }
      const existing = this.#catalog.shareAtPath(entry.path);
      const unchanged =
        existing && existing.name === name && sameStamp(existing.stamp, entry.stamp) ? existing : undefined;
      planned.push({ path: entry.path, relative: entry.relative, name, stamp: entry.stamp, unchanged });
    }
    const toHash = planned.filter((p) => !p.unchanged);
    const progress = new ShareProgressTracker(
      toHash.length,
      toHash.reduce((sum, p) => sum + p.stamp.size, 0),
      this.#options.chunkSize,
      options.onProgress ?? (() => {}),
    );
    const inFolder: FolderFile[] = [];
    for (const entry of planned) {
      const shared = entry.unchanged
        ? { id: entry.unchanged.fileId, name: entry.name, path: entry.path, size: entry.stamp.size, hashed: false }
        : await this.#shareOne(entry.path, entry.name, entry.stamp, progress, options.signal);
      if (entry.unchanged === undefined) progress.fileDone(entry.path);
      result.files.push(shared);
      inFolder.push({ id: shared.id, path: shared.path, relative: entry.relative, size: shared.size });
    }
    if (kind === 'folder') this.#recordCollection(inFolder, result);
    return result;
  }

  #recordCollection(files: FolderFile[], result: ShareResult): void {
    const made = folderCollection(files);
    if (made.kind === 'none') return;
    if (made.kind === 'refused') {
      result.skipped.push({ path: made.folder, code: made.code, reason: made.reason });
      return;
    }
    const { collection: c, name, folder, omitted } = made;
    const record = { id: c.id, name, folder, encoding: c.encoding, files: c.entries.length, size: c.size };
    this.#catalog.recordCollection(
      record,
      c.entries.map((e) => e.fileId),
      this.#options.now(),
    );
    result.collection = { id: c.id, name, files: c.entries.length, size: c.size, omitted };
  }

  /** The canonical encoding of a collection this peer shares (what a downloader verifies against its id). */
  collection(id: string): Buffer {
    const encoding = this.#catalog.collectionEncoding(id);
    if (!encoding) throw new PeershareError('COLLECTION_NOT_FOUND', `no shared folder has id ${id}`);
    return encoding;
  }

  /** The shared folders this peer has recorded, newest first. */
  listCollections(offset: number, limit: number): { items: CollectionSummary[]; total: number } {
    return this.#catalog.listCollections(offset, limit);
  }

  /**
   * Stop sharing a folder: every file of its collection this peer still shares is unshared (as
   * unshare() does: under every name), and the collection goes with them.
   */
  async unshareCollection(id: string): Promise<{ files: number }> {
    const fileIds = this.#catalog.collectionFileIds(id);
    if (fileIds.length === 0 && !this.#catalog.removeCollection(id))
      throw new PeershareError('COLLECTION_NOT_FOUND', `no shared folder has id ${id}`);
    let files = 0;
    for (const fileId of fileIds) {
      const removed = this.#catalog.removeFile(fileId);
      if (removed.length > 0) files++;
      if (removed.some((s) => s.origin === 'stored')) await this.#blobs.remove(fileId);
    }
    this.#catalog.removeCollection(id);
    return { files };
  }

  async #shareOne(
    path: string,
    name: string,
    stamp: DiskStamp,
    progress: ShareProgressTracker,
    signal: AbortSignal | undefined,
  ): Promise<SharedEntry> {
    this.#emit({ type: 'hashing', path, size: stamp.size });
    const hasher = new ChunkHasher(this.#options.chunkSize);
    for await (const data of await this.#local.read(path, stamp)) {
      signal?.throwIfAborted();
      hasher.update(data as Uint8Array);
      progress.hashed(path, (data as Uint8Array).length);
    }
    const content = hasher.digest();
    if (content.size !== stamp.size || !sameStamp(await this.#local.stamp(path), stamp)) {
      throw new PeershareError('FILE_CHANGED', `${path} changed while it was being hashed; share it again`);
    }
    const existing = this.#catalog.shareAtPath(path);
    if (existing) this.#catalog.removeShare(existing.shareId);
    this.#catalog.addShare(
      { content, type: mediaTypeOf(name), name, origin: 'local', path, stamp },
      this.#options.now(),
    );
    return { id: content.id, name, path, size: content.size, hashed: true };
  }

  /**
   * Share in place a file whose chunks were already verified against `manifest` (a finished
   * download): no second hashing pass. The file on disk must still have the manifest's size.
   */
  async registerVerified(path: string, manifest: Manifest): Promise<SharedEntry> {
    const name = validateFileName(path.slice(path.lastIndexOf('/') + 1));
    if (!isManifestConsistent(manifest))
      throw new PeershareError('BAD_REQUEST', `manifest of ${manifest.id} is inconsistent`);
    const stamp = await this.#local.stamp(path);
    if (stamp.size !== manifest.size)
      throw new PeershareError('FILE_CHANGED', `${path} is not ${manifest.size} bytes long`);
    const existing = this.#catalog.shareAtPath(path);
    if (existing) this.#catalog.removeShare(existing.shareId);
    const content = {
      id: manifest.id,
      size: manifest.size,
      chunkSize: manifest.chunkSize,
      chunkHashes: Buffer.from(manifest.chunks.join(''), 'hex'),
    };
    this.#catalog.addShare(
      { content, type: mediaTypeOf(name), name, origin: 'local', path, stamp },
      this.#options.now(),
    );
    return { id: manifest.id, name, path, size: manifest.size, hashed: false };
  }

  list(query: string | undefined, offset: number, limit: number): { items: FileSummary[]; total: number } {
    return this.#catalog.list({ terms: query ? parseTerms(query) : [], offset, limit });
  }

  /** Count bytes of a file's content sent to another peer into its upload total. */
  countUploaded(id: string, bytes: number): void {
    if (bytes > 0) this.#catalog.addUploaded(id, bytes);
  }

  /** The file with this id, or undefined when it is not shared. */
  find(id: string): FileSummary | undefined {
    return this.#catalog.describe(id);
  }

  get(id: string): FileSummary {
    const file = this.#catalog.describe(id);
    if (!file) throw new PeershareError('FILE_NOT_FOUND', `no shared file has id ${id}`);
    return file;
  }

  manifest(id: string): Manifest {
    const file = this.#catalog.getFile(id);
    if (!file) throw new PeershareError('FILE_NOT_FOUND', `no shared file has id ${id}`);
    const name = this.#catalog.describe(id)?.name ?? id;
    return toManifest(file, name);
  }

  /**
   * Open bytes [start, end] of a file. Stored copies are tried first, then local shares; a local
   * share whose file changed on disk is dropped from the catalog (it is no longer this content).
   */
  async open(id: string, start: number, end: number): Promise<Content> {
    const file = this.#catalog.getFile(id);
    if (!file) throw new PeershareError('FILE_NOT_FOUND', `no shared file has id ${id}`);
    let changed: PeershareError | undefined;
    for (const share of this.#catalog.sharesOf(id)) {
      try {
        const stream = await this.#openShare(share, start, end);
        return { stream, size: file.size };
      } catch (err) {
        if (!(err instanceof PeershareError) || err.code !== 'FILE_CHANGED') throw err;
        changed = err;
        this.#catalog.removeShare(share.shareId);
        this.#emit({ type: 'share-stale', id, path: share.path ?? '' });
      }
    }
    throw changed ?? new PeershareError('FILE_NOT_FOUND', `no shared file has id ${id}`);
  }

  #openShare(share: ShareRecord, start: number, end: number): Promise<Readable> {
    if (share.origin === 'stored') return this.#blobs.read(share.fileId, start, end);
    return this.#local.read(share.path!, share.stamp!, start, end);
  }

  /** Stop sharing a file under every name; an uploaded copy is deleted, files shared in place are left alone. */
  async unshare(id: string): Promise<void> {
    const removed = this.#catalog.removeFile(id);
    if (removed.length === 0) throw new PeershareError('FILE_NOT_FOUND', `no shared file has id ${id}`);
    if (removed.some((s) => s.origin === 'stored')) await this.#blobs.remove(id);
  }

  /**
   * The Search query port: (file, name) pairs whose name matches every term, then the shared
   * folders whose name does (only folders whose every file is still shared: the rest could not
   * be downloaded whole).
   */
  match(query: string | readonly string[], limit: number): NameMatch[] {
    const terms = parseTerms(query);
    if (terms.length === 0) return [];
    const files = this.#catalog.match(terms, limit);
    if (files.length >= limit) return files;
    const named = this.#catalog
      .collectionNames(undefined, MAX_FOLDERS_SEARCHED)
      .filter((c) => matchesAll(c.name, terms));
    return [...files, ...this.#folderMatches(named, limit - files.length)];
  }

  /** Each folder once per (collection, name), if complete, as a search answer. */
  #folderMatches(folders: readonly CollectionName[], limit: number): NameMatch[] {
    const found = new Map<string, NameMatch>();
    for (const c of folders) {
      if (found.size === limit) break;
      const key = `${c.id}/${c.name}`;
      if (found.has(key) || !this.#catalog.collectionComplete(c.folder)) continue;
      found.set(key, { id: c.id, name: c.name, size: c.size, folder: { files: c.files } });
    }
    return [...found.values()];
  }

  /** The change feed Fetch lists to other peers: shares added and files removed since `cursor`. */
  changesSince(cursor: string | undefined, limit = 10_000): ChangeSet {
    return this.#catalog.changesSince(cursor, limit);
  }

  /** The Search query port, exact form: every name a file id is shared under, else the shared folder a collection id names (empty when neither). */
  lookup(id: string): NameMatch[] {
    const file = this.#catalog.describe(id);
    if (file) return file.names.map((name) => ({ id, name, size: file.size }));
    return this.#folderMatches(this.#catalog.collectionNames(id, MAX_FOLDERS_SEARCHED), MAX_FOLDERS_SEARCHED);
  }

  /**
   * The Search routing port (feature "qrp"): the query routing table of everything match and
   * lookup may answer with — every shared name and file id, every shared folder's name and
   * collection id (route-table-of.ts). Rebuilt only when the catalog's names changed, so it is
   * cheap to ask often; the same object until then, which callers must not change.
   */
  routeTable(): RouteTable {
    // Read before the names: a change in between is in the table, and only makes the next call rebuild.
    const version = this.#catalog.namesVersion();
    if (this.#routes?.version !== version) this.#routes = { version, table: routeTableOf(this.#routedNames()) };
    return this.#routes.table;
  }

  /** Every shared (file id, name), and every folder whose files are all still shared (what #folderMatches answers with). */
  *#routedNames(): Iterable<RoutedName> {
    yield* this.#catalog.shareNames();
    const page = MAX_FOLDERS_SEARCHED;
    for (let offset = 0; ; offset += page) {
      const { items } = this.#catalog.listCollections(offset, page);
      for (const c of items) if (c.complete) yield { id: c.id, name: c.name };
      if (items.length < page) return;
    }
  }

  #emit(event: FileEvent): void {
    this.events.emit('event', event);
  }
}
