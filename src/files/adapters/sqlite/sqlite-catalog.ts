/**
 * The Catalog in SQLite (better-sqlite3, WAL). `files` holds one row per content id with its
 * chunk hashes; `shares` one row per name a file is shared under (uploaded, or a local path);
 * `shares_fts` indexes the folded name tokens so term queries stay fast on large catalogs.
 * `collections` holds one snapshot per shared folder (its canonical encoding), and
 * `collection_files` the distinct files in it: a file's row going takes its links with it, and a
 * collection goes with its last file (a trigger), so no collection outlives all its files.
 * A catalog made before collections gets both tables, empty, at open (CREATE … IF NOT EXISTS).
 */
import Database from 'better-sqlite3';
import type {
  Catalog,
  ChangeSet,
  CollectionName,
  CollectionSummary,
  DiskStamp,
  FileRecord,
  FileSummary,
  ListQuery,
  NameMatch,
  NewCollection,
  NewShare,
  Origin,
  ShareRecord,
} from '../../ports.ts';
import { tokenize } from '../../domain/terms.ts';
import { fsError } from '../../../shared/fs-errors.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  id TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL,
  chunk_hashes BLOB NOT NULL,
  type TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  uploaded INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS shares (
  share_id INTEGER PRIMARY KEY,
  file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  tokens TEXT NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('stored', 'local')),
  path TEXT,
  size INTEGER,
  mtime_ns TEXT,
  ino TEXT,
  dev TEXT,
  added_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS shares_by_path ON shares(path) WHERE path IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS shares_stored_name ON shares(file_id, name) WHERE origin = 'stored';
CREATE INDEX IF NOT EXISTS shares_by_file ON shares(file_id);
CREATE INDEX IF NOT EXISTS files_by_added ON files(added_at DESC, id);
CREATE VIRTUAL TABLE IF NOT EXISTS shares_fts USING fts5(tokens, content='shares', content_rowid='share_id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS shares_ai AFTER INSERT ON shares BEGIN
  INSERT INTO shares_fts(rowid, tokens) VALUES (new.share_id, new.tokens);
END;
CREATE TRIGGER IF NOT EXISTS shares_ad AFTER DELETE ON shares BEGIN
  INSERT INTO shares_fts(shares_fts, rowid, tokens) VALUES ('delete', old.share_id, old.tokens);
END;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', lower(hex(randomblob(8))));
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op TEXT NOT NULL CHECK (op IN ('add', 'remove')),
  file_id TEXT NOT NULL,
  name TEXT,
  size INTEGER
) STRICT;
CREATE TRIGGER IF NOT EXISTS changes_on_share AFTER INSERT ON shares BEGIN
  INSERT INTO changes (op, file_id, name, size) SELECT 'add', new.file_id, new.name, f.size FROM files f WHERE f.id = new.file_id;
END;
CREATE TRIGGER IF NOT EXISTS changes_on_file_removed AFTER DELETE ON files BEGIN
  INSERT INTO changes (op, file_id) VALUES ('remove', old.id);
END;
CREATE TABLE IF NOT EXISTS collections (
  folder TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  files INTEGER NOT NULL,
  size INTEGER NOT NULL,
  distinct_files INTEGER NOT NULL,
  encoding BLOB NOT NULL,
  added_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS collections_by_id ON collections(id);
CREATE INDEX IF NOT EXISTS collections_by_added ON collections(added_at DESC, folder);
CREATE TABLE IF NOT EXISTS collection_files (
  folder TEXT NOT NULL REFERENCES collections(folder) ON DELETE CASCADE,
  file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  PRIMARY KEY (folder, file_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS collection_files_by_file ON collection_files(file_id);
CREATE TRIGGER IF NOT EXISTS collection_gone_with_its_last_file AFTER DELETE ON collection_files BEGIN
  DELETE FROM collections WHERE folder = old.folder AND NOT EXISTS (SELECT 1 FROM collection_files WHERE folder = old.folder);
END;
${namesVersionTriggers()}
`;

/**
 * A counter in meta that every change to what a search can find (a share or a recorded folder
 * added or removed; a file removed takes its shares) moves on: namesVersion(), read by whichever
 * process asks, since Search alone reads this catalog beside File Management.
 */
function namesVersionTriggers(): string {
  const bump = `UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'names_version';`;
  const on = (table: string, op: string) =>
    `CREATE TRIGGER IF NOT EXISTS names_version_${table}_${op.toLowerCase()} AFTER ${op} ON ${table} BEGIN ${bump} END;`;
  return [
    `INSERT OR IGNORE INTO meta (key, value) VALUES ('names_version', '0');`,
    on('shares', 'INSERT'),
    on('shares', 'DELETE'),
    on('collections', 'INSERT'),
    on('collections', 'DELETE'),
  ].join('\n');
}

/** How many change rows are kept; a cursor older than that gets the whole list again. */
const CHANGES_KEPT = 100_000;

interface ShareRow {
  share_id: number;
  file_id: string;
  name: string;
  origin: Origin;
  path: string | null;
  size: number | null;
  mtime_ns: string | null;
  ino: string | null;
  dev: string | null;
  added_at: number;
}

interface SummaryRow {
  id: string;
  size: number;
  chunk_size: number;
  type: string;
  added_at: number;
  uploaded: number;
  names: string;
  origins: string;
  paths: string;
}

/** FTS5 query requiring every (already folded, alphanumeric) term as a token prefix. */
function ftsQuery(terms: string[]): string {
  return terms.map((t) => `"${t.replace(/"/g, '""')}"*`).join(' AND ');
}

function toShare(row: ShareRow): ShareRecord {
  const stamp: DiskStamp | undefined =
    row.path !== null ? { size: row.size!, mtimeNs: row.mtime_ns!, ino: row.ino!, dev: row.dev! } : undefined;
  return {
    shareId: row.share_id,
    fileId: row.file_id,
    name: row.name,
    origin: row.origin,
    ...(row.path !== null ? { path: row.path, stamp } : {}),
    addedAt: row.added_at,
  };
}

function toSummary(row: SummaryRow): FileSummary {
  const names = JSON.parse(row.names) as string[];
  return {
    id: row.id,
    name: names[0] ?? row.id,
    names,
    size: row.size,
    chunkSize: row.chunk_size,
    type: row.type,
    addedAt: row.added_at,
    uploaded: row.uploaded,
    origins: [...new Set(JSON.parse(row.origins) as Origin[])],
    paths: (JSON.parse(row.paths) as Array<string | null>).filter((p): p is string => p !== null),
  };
}

const SUMMARY_SELECT = `
  SELECT f.id, f.size, f.chunk_size, f.type, f.added_at, f.uploaded,
         json_group_array(s.name ORDER BY s.share_id) AS names,
         json_group_array(s.origin ORDER BY s.share_id) AS origins,
         json_group_array(s.path ORDER BY s.share_id) AS paths
  FROM files f JOIN shares s ON s.file_id = f.id`;

export class SqliteCatalog implements Catalog {
  readonly #db: Database.Database;
  readonly #stmts;
  readonly #epoch: string;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    // Catalogs made before upload totals were kept: the column, every total 0.
    if (
      !(this.#db.prepare(`SELECT name FROM pragma_table_info('files')`).all() as Array<{ name: string }>).some(
        (c) => c.name === 'uploaded',
      )
    ) {
      this.#db.exec(`ALTER TABLE files ADD COLUMN uploaded INTEGER NOT NULL DEFAULT 0`);
    }
    const db = this.#db;
    this.#epoch = (db.prepare(`SELECT value FROM meta WHERE key = 'epoch'`).get() as { value: string }).value;
    db.prepare(`DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?`).run(CHANGES_KEPT);
    this.#stmts = {
      insertFile: db.prepare(
        `INSERT OR IGNORE INTO files (id, size, chunk_size, chunk_hashes, type, added_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertShare: db.prepare(
        `INSERT INTO shares (file_id, name, tokens, origin, path, size, mtime_ns, ino, dev, added_at)
         VALUES (@fileId, @name, @tokens, @origin, @path, @size, @mtimeNs, @ino, @dev, @addedAt)
         ON CONFLICT DO NOTHING RETURNING *`,
      ),
      storedShare: db.prepare(`SELECT * FROM shares WHERE file_id = ? AND name = ? AND origin = 'stored'`),
      getFile: db.prepare(`SELECT * FROM files WHERE id = ?`),
      addUploaded: db.prepare(`UPDATE files SET uploaded = uploaded + ? WHERE id = ?`),
      describe: db.prepare(`${SUMMARY_SELECT} WHERE f.id = ? GROUP BY f.id`),
      sharesOf: db.prepare(`SELECT * FROM shares WHERE file_id = ? ORDER BY origin = 'local', share_id`),
      shareAtPath: db.prepare(`SELECT * FROM shares WHERE path = ?`),
      shareById: db.prepare(`SELECT * FROM shares WHERE share_id = ?`),
      deleteShare: db.prepare(`DELETE FROM shares WHERE share_id = ?`),
      countShares: db.prepare(`SELECT count(*) AS n FROM shares WHERE file_id = ?`),
      deleteFile: db.prepare(`DELETE FROM files WHERE id = ?`),
      deleteSharesOf: db.prepare(`DELETE FROM shares WHERE file_id = ? RETURNING *`),
      listAll: db.prepare(`${SUMMARY_SELECT} GROUP BY f.id ORDER BY f.added_at DESC, f.id LIMIT ? OFFSET ?`),
      countAll: db.prepare(`SELECT count(*) AS n FROM files`),
      listMatching: db.prepare(
        `${SUMMARY_SELECT} WHERE f.id IN (SELECT s2.file_id FROM shares s2 WHERE s2.share_id IN
           (SELECT rowid FROM shares_fts WHERE shares_fts MATCH ?))
         GROUP BY f.id ORDER BY f.added_at DESC, f.id LIMIT ? OFFSET ?`,
      ),
      countMatching: db.prepare(
        `SELECT count(DISTINCT s.file_id) AS n FROM shares s WHERE s.share_id IN (SELECT rowid FROM shares_fts WHERE shares_fts MATCH ?)`,
      ),
      lastChange: db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM changes`),
      firstChange: db.prepare(`SELECT coalesce(min(seq), 0) AS seq FROM changes`),
      changesAfter: db.prepare(
        `SELECT seq, op, file_id AS id, name, size FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`,
      ),
      allNames: db.prepare(
        `SELECT s.file_id AS id, s.name AS name, f.size AS size FROM shares s JOIN files f ON f.id = s.file_id
         GROUP BY s.file_id, s.name ORDER BY min(s.share_id) LIMIT ?`,
      ),
      namesVersion: db.prepare(`SELECT value FROM meta WHERE key = 'names_version'`),
      shareNames: db.prepare(`SELECT DISTINCT file_id AS id, name FROM shares`),
      deleteCollectionAt: db.prepare(`DELETE FROM collections WHERE folder = ?`),
      insertCollection: db.prepare(
        `INSERT INTO collections (folder, id, name, files, size, distinct_files, encoding, added_at)
         VALUES (@folder, @id, @name, @files, @size, @distinctFiles, @encoding, @addedAt)`,
      ),
      // Only files still in the catalog: one unshared meanwhile is simply not held.
      insertCollectionFile: db.prepare(
        `INSERT OR IGNORE INTO collection_files (folder, file_id) SELECT ?, id FROM files WHERE id = ?`,
      ),
      collectionEncoding: db.prepare(`SELECT encoding FROM collections WHERE id = ? LIMIT 1`),
      listCollections: db.prepare(
        `SELECT c.id, c.name, c.folder, c.files, c.size, c.added_at,
                (SELECT count(*) FROM collection_files cf WHERE cf.folder = c.folder) = c.distinct_files AS complete
         FROM collections c ORDER BY c.added_at DESC, c.folder LIMIT ? OFFSET ?`,
      ),
      countCollections: db.prepare(`SELECT count(*) AS n FROM collections`),
      collectionNames: db.prepare(
        `SELECT id, name, folder, files, size FROM collections ORDER BY added_at DESC, folder LIMIT ?`,
      ),
      collectionNamesOf: db.prepare(
        `SELECT id, name, folder, files, size FROM collections WHERE id = ? ORDER BY added_at DESC, folder LIMIT ?`,
      ),
      collectionComplete: db.prepare(
        `SELECT (SELECT count(*) FROM collection_files cf WHERE cf.folder = c.folder) = c.distinct_files AS complete FROM collections c WHERE c.folder = ?`,
      ),
      collectionFileIds: db.prepare(
        `SELECT DISTINCT cf.file_id AS id FROM collection_files cf JOIN collections c ON c.folder = cf.folder WHERE c.id = ? ORDER BY cf.file_id`,
      ),
      deleteCollection: db.prepare(`DELETE FROM collections WHERE id = ?`),
      match: db.prepare(
        `SELECT s.file_id AS id, s.name AS name, f.size AS size FROM shares s JOIN files f ON f.id = s.file_id
         WHERE s.share_id IN (SELECT rowid FROM shares_fts WHERE shares_fts MATCH ?)
         GROUP BY s.file_id, s.name ORDER BY s.share_id LIMIT ?`,
      ),
    };
  }

  addShare(share: NewShare, now: number): ShareRecord {
    try {
      return this.#addShare(share, now);
    } catch (err) {
      throw fsError(err, 'recording a share in the catalog');
    }
  }

  #addShare(share: NewShare, now: number): ShareRecord {
    return this.#db.transaction((): ShareRecord => {
      const c = share.content;
      this.#stmts.insertFile.run(c.id, c.size, c.chunkSize, c.chunkHashes, share.type, now);
      const row = this.#stmts.insertShare.get({
        fileId: c.id,
        name: share.name,
        tokens: tokenize(share.name).join(' '),
        origin: share.origin,
        path: share.path ?? null,
        size: share.stamp?.size ?? null,
        mtimeNs: share.stamp?.mtimeNs ?? null,
        ino: share.stamp?.ino ?? null,
        dev: share.stamp?.dev ?? null,
        addedAt: now,
      }) as ShareRow | undefined;
      const existing =
        row ??
        ((share.path
          ? this.#stmts.shareAtPath.get(share.path)
          : this.#stmts.storedShare.get(c.id, share.name)) as ShareRow);
      return toShare(existing);
    })();
  }

  getFile(id: string): FileRecord | undefined {
    const row = this.#stmts.getFile.get(id) as
      | { id: string; size: number; chunk_size: number; chunk_hashes: Buffer; type: string; added_at: number }
      | undefined;
    return (
      row && {
        id: row.id,
        size: row.size,
        chunkSize: row.chunk_size,
        chunkHashes: row.chunk_hashes,
        type: row.type,
        addedAt: row.added_at,
      }
    );
  }

  addUploaded(id: string, bytes: number): void {
    try {
      this.#stmts.addUploaded.run(bytes, id);
    } catch (err) {
      throw fsError(err, 'counting bytes uploaded');
    }
  }

  describe(id: string): FileSummary | undefined {
    const row = this.#stmts.describe.get(id) as SummaryRow | undefined;
    return row && toSummary(row);
  }

  sharesOf(id: string): ShareRecord[] {
    return (this.#stmts.sharesOf.all(id) as ShareRow[]).map(toShare);
  }

  shareAtPath(path: string): ShareRecord | undefined {
    const row = this.#stmts.shareAtPath.get(path) as ShareRow | undefined;
    return row && toShare(row);
  }

  removeShare(shareId: number): string | undefined {
    return this.#db.transaction((): string | undefined => {
      const row = this.#stmts.shareById.get(shareId) as ShareRow | undefined;
      if (!row) return undefined;
      this.#stmts.deleteShare.run(shareId);
      if ((this.#stmts.countShares.get(row.file_id) as { n: number }).n > 0) return undefined;
      this.#stmts.deleteFile.run(row.file_id);
      return row.file_id;
    })();
  }

  removeFile(id: string): ShareRecord[] {
    return this.#db.transaction((): ShareRecord[] => {
      const removed = (this.#stmts.deleteSharesOf.all(id) as ShareRow[]).map(toShare);
      this.#stmts.deleteFile.run(id);
      return removed;
    })();
  }

  list({ terms, offset, limit }: ListQuery): { items: FileSummary[]; total: number } {
    if (terms.length === 0) {
      const items = (this.#stmts.listAll.all(limit, offset) as SummaryRow[]).map(toSummary);
      return { items, total: (this.#stmts.countAll.get() as { n: number }).n };
    }
    const q = ftsQuery(terms);
    const items = (this.#stmts.listMatching.all(q, limit, offset) as SummaryRow[]).map(toSummary);
    return { items, total: (this.#stmts.countMatching.get(q) as { n: number }).n };
  }

  match(terms: string[], limit: number): NameMatch[] {
    return this.#stmts.match.all(ftsQuery(terms), limit) as NameMatch[];
  }

  changesSince(cursor: string | undefined, limit: number): ChangeSet {
    return this.#db.transaction((): ChangeSet => {
      const last = (this.#stmts.lastChange.get() as { seq: number }).seq;
      const now = `${this.#epoch}:${last}`;
      const m = /^([0-9a-f]{16}):(\d+)$/.exec(cursor ?? '');
      const since = m && m[1] === this.#epoch ? Number(m[2]) : undefined;
      const oldest = (this.#stmts.firstChange.get() as { seq: number }).seq;
      // An unknown, foreign or pruned cursor, or too many changes to list: send the whole list.
      if (since === undefined || since > last || (since < oldest - 1 && oldest > 0) || last - since > limit) {
        return { cursor: now, reset: true, added: this.#stmts.allNames.all(limit) as NameMatch[], removed: [] };
      }
      const added = new Map<string, NameMatch>();
      const removed = new Set<string>();
      for (const row of this.#stmts.changesAfter.all(since, limit) as Array<NameMatch & { op: string }>) {
        if (row.op === 'add') {
          removed.delete(row.id);
          added.set(`${row.id}/${row.name}`, { id: row.id, name: row.name, size: row.size });
        } else {
          for (const key of [...added.keys()]) if (key.startsWith(`${row.id}/`)) added.delete(key);
          removed.add(row.id);
        }
      }
      return { cursor: now, reset: false, added: [...added.values()], removed: [...removed] };
    })();
  }

  namesVersion(): string {
    return `${this.#epoch}:${(this.#stmts.namesVersion.get() as { value: string }).value}`;
  }

  shareNames(): Array<{ id: string; name: string }> {
    return this.#stmts.shareNames.all() as Array<{ id: string; name: string }>;
  }

  recordCollection(c: NewCollection, fileIds: readonly string[], now: number): void {
    try {
      this.#db.transaction(() => {
        this.#stmts.deleteCollectionAt.run(c.folder);
        const distinct = [...new Set(fileIds)];
        this.#stmts.insertCollection.run({
          folder: c.folder,
          id: c.id,
          name: c.name,
          files: c.files,
          size: c.size,
          distinctFiles: distinct.length,
          encoding: c.encoding,
          addedAt: now,
        });
        let held = 0;
        for (const fileId of distinct) held += this.#stmts.insertCollectionFile.run(c.folder, fileId).changes;
        // None of its files is shared any more (all unshared while the folder was hashed): keep nothing.
        if (held === 0) this.#stmts.deleteCollectionAt.run(c.folder);
      })();
    } catch (err) {
      throw fsError(err, 'recording a shared folder in the catalog');
    }
  }

  collectionEncoding(id: string): Buffer | undefined {
    return (this.#stmts.collectionEncoding.get(id) as { encoding: Buffer } | undefined)?.encoding;
  }

  listCollections(offset: number, limit: number): { items: CollectionSummary[]; total: number } {
    const rows = this.#stmts.listCollections.all(limit, offset) as Array<
      Omit<CollectionSummary, 'addedAt' | 'complete'> & { added_at: number; complete: number }
    >;
    const items = rows.map(({ added_at, complete, ...rest }) => ({
      ...rest,
      addedAt: added_at,
      complete: complete === 1,
    }));
    return { items, total: (this.#stmts.countCollections.get() as { n: number }).n };
  }

  collectionFileIds(id: string): string[] {
    return (this.#stmts.collectionFileIds.all(id) as Array<{ id: string }>).map((r) => r.id);
  }

  collectionNames(id: string | undefined, limit: number): CollectionName[] {
    return (
      id === undefined ? this.#stmts.collectionNames.all(limit) : this.#stmts.collectionNamesOf.all(id, limit)
    ) as CollectionName[];
  }

  collectionComplete(folder: string): boolean {
    return (this.#stmts.collectionComplete.get(folder) as { complete: number } | undefined)?.complete === 1;
  }

  removeCollection(id: string): boolean {
    return this.#stmts.deleteCollection.run(id).changes > 0;
  }

  close(): void {
    this.#db.close();
  }
}
