/**
 * Durable state of every download in SQLite: what was asked, where it goes, which chunks are
 * verified (and which of those are known to be fsync'd), so a restarted Download service resumes
 * each job where it stopped. A full disk (SQLITE_FULL) is DISK_FULL, as on the file system.
 * Data folders of older versions are migrated on open (the manifest column is added); a state
 * this version does not know is read as `failed`, saying so, rather than trusted.
 */
import Database from 'better-sqlite3';
import type { Manifest } from '../../../shared/content.ts';
import { PeershareError } from '../../../shared/errors.ts';
import { DOWNLOAD_STATES, type DownloadRecord, type DownloadState, type DownloadStore } from '../../ports.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS downloads (
  key TEXT PRIMARY KEY,
  file_id TEXT NOT NULL,
  name TEXT NOT NULL,
  out_dir TEXT NOT NULL,
  sources TEXT NOT NULL,
  state TEXT NOT NULL,
  size INTEGER,
  chunk_size INTEGER,
  verified BLOB,
  durable BLOB,
  bytes_done INTEGER NOT NULL,
  final_path TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  manifest TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS downloads_by_created ON downloads(created_at DESC);
`;

interface Row {
  key: string;
  file_id: string;
  name: string;
  out_dir: string;
  sources: string;
  state: DownloadState;
  size: number | null;
  chunk_size: number | null;
  verified: Buffer | null;
  durable: Buffer | null;
  bytes_done: number;
  final_path: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  manifest: string | null;
}

function toRecord(r: Row): DownloadRecord {
  if (!DOWNLOAD_STATES.includes(r.state)) {
    return {
      ...toRecord({ ...r, state: 'failed', manifest: null }),
      error: `unknown state ${JSON.stringify(r.state)} (written by another version of peershare)`,
    };
  }
  return {
    key: r.key,
    fileId: r.file_id,
    name: r.name,
    outDir: r.out_dir,
    sources: JSON.parse(r.sources) as string[],
    state: r.state,
    ...(r.size !== null ? { size: r.size } : {}),
    ...(r.chunk_size !== null ? { chunkSize: r.chunk_size } : {}),
    ...(r.verified ? { verified: r.verified } : {}),
    ...(r.durable ? { durable: r.durable } : {}),
    bytesDone: r.bytes_done,
    ...(r.manifest !== null ? { manifest: JSON.parse(r.manifest) as Manifest } : {}),
    ...(r.final_path !== null ? { finalPath: r.final_path } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Run a write; a full disk is DISK_FULL (the download pauses), not a crash of the peer. */
function written(write: () => unknown): void {
  try {
    write();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_FULL') {
      throw new PeershareError('DISK_FULL', 'disk full while recording the state of a download', undefined, {
        cause: err,
      });
    }
    throw err;
  }
}

export class SqliteDownloadStore implements DownloadStore {
  readonly #db: Database.Database;
  readonly #stmts;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    const columns = (this.#db.pragma('table_info(downloads)') as Array<{ name: string }>).map((c) => c.name);
    if (!columns.includes('manifest')) this.#db.exec('ALTER TABLE downloads ADD COLUMN manifest TEXT'); // written before `finalizing`
    this.#stmts = {
      get: this.#db.prepare(`SELECT * FROM downloads WHERE key = ?`),
      put: this.#db.prepare(
        `INSERT OR REPLACE INTO downloads (key, file_id, name, out_dir, sources, state, size, chunk_size, verified, durable, bytes_done, final_path, error, created_at, updated_at, manifest)
         VALUES (@key, @fileId, @name, @outDir, @sources, @state, @size, @chunkSize, @verified, @durable, @bytesDone, @finalPath, @error, @createdAt, @updatedAt, @manifest)`,
      ),
      progress: this.#db.prepare(
        `UPDATE downloads SET verified = ?, durable = ?, bytes_done = ?, updated_at = ? WHERE key = ?`,
      ),
      list: this.#db.prepare(`SELECT * FROM downloads ORDER BY created_at DESC LIMIT ?`),
      // `state IN (SELECT value FROM json_each(?))`: one statement for any list of states.
      forget: this.#db.prepare(`DELETE FROM downloads WHERE state IN (SELECT value FROM json_each(?)) RETURNING key`),
    };
  }

  get(key: string): DownloadRecord | undefined {
    const row = this.#stmts.get.get(key) as Row | undefined;
    return row && toRecord(row);
  }

  put(r: DownloadRecord): void {
    written(() =>
      this.#stmts.put.run({
        key: r.key,
        fileId: r.fileId,
        name: r.name,
        outDir: r.outDir,
        sources: JSON.stringify(r.sources),
        state: r.state,
        size: r.size ?? null,
        chunkSize: r.chunkSize ?? null,
        verified: r.verified ?? null,
        durable: r.durable ?? null,
        bytesDone: r.bytesDone,
        finalPath: r.finalPath ?? null,
        error: r.error ?? null,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        manifest: r.manifest ? JSON.stringify(r.manifest) : null,
      }),
    );
  }

  progress(key: string, verified: Buffer, durable: Buffer, bytesDone: number, now: number): void {
    written(() => this.#stmts.progress.run(verified, durable, bytesDone, now, key));
  }

  list(limit: number): DownloadRecord[] {
    return (this.#stmts.list.all(limit) as Row[]).map(toRecord);
  }

  forget(states: readonly DownloadRecord['state'][]): string[] {
    let keys: string[] = [];
    written(
      () => (keys = (this.#stmts.forget.all(JSON.stringify(states)) as Array<{ key: string }>).map((r) => r.key)),
    );
    return keys;
  }

  close(): void {
    this.#db.close();
  }
}
