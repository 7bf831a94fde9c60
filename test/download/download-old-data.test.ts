/**
 * A data folder written by the version before `finalizing` and short partial names opens
 * cleanly: the download table gains its new column, a paused download's partial file under
 * its old long name (`.NAME.KEY.part`) is adopted, and on resume its verified chunks are
 * re-checked on disk and kept, not fetched again. A state this version does not know is shown
 * as failed, saying why, instead of stopping the peer. The peer is a real `peershare start`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { legacyJobKey } from '../../src/download/domain/job.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { startMeteredSource } from '../support/metered-source.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

const CHUNK = 64 * 1024;
const KEPT = 5; // chunks the old version had verified
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The downloads table exactly as the previous version created it. */
const OLD_SCHEMA = `
CREATE TABLE downloads (
  key TEXT PRIMARY KEY, file_id TEXT NOT NULL, name TEXT NOT NULL, out_dir TEXT NOT NULL, sources TEXT NOT NULL,
  state TEXT NOT NULL, size INTEGER, chunk_size INTEGER, verified BLOB, durable BLOB, bytes_done INTEGER NOT NULL,
  final_path TEXT, error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX downloads_by_created ON downloads(created_at DESC);
`;

interface Listed {
  key: string;
  state: string;
  bytesDone: number;
  finalPath?: string;
  error?: string;
}

describe('a data folder from the previous version', () => {
  it(
    'opens: a paused download keeps its chunks from the old partial file, an unknown state is shown as failed',
    { timeout: 90_000 },
    async () => {
      const source = await startFilesPeer({ chunkSize: '64KiB' });
      const data = randomBytes(12 * CHUNK + 500);
      const name = 'song.flac';
      const { id } = (await (await upload(source.url, name, data)).json()) as { id: string };
      const metered = await startMeteredSource(source.url);

      const dataDir = join(tempDir(), 'data');
      const downloads = join(dataDir, 'downloads');
      mkdirSync(downloads, { recursive: true });
      const key = legacyJobKey(id, downloads); // the key the previous version gave it
      // The old partial: the first KEPT chunks written and verified, not yet synced (not durable).
      const partial = Buffer.alloc(data.length);
      data.copy(partial, 0, 0, KEPT * CHUNK);
      writeFileSync(join(downloads, `.${name}.${key}.part`), partial);
      const db = new Database(join(dataDir, 'downloads.db'));
      db.exec(OLD_SCHEMA);
      const insert = db.prepare(`INSERT INTO downloads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)`);
      const verified = Buffer.from([0b0001_1111, 0]);
      insert.run(
        key,
        id,
        name,
        downloads,
        JSON.stringify([metered.source]),
        'paused',
        data.length,
        CHUNK,
        verified,
        KEPT * CHUNK,
        null,
        1,
        1,
      );
      insert.run(
        'f'.repeat(32),
        'e'.repeat(64),
        'later.bin',
        downloads,
        '[]',
        'verifying',
        null,
        null,
        null,
        0,
        null,
        2,
        2,
      );
      db.close();

      const host = nextLoopback();
      const api = `http://${host}:${DEFAULT_PORTS.downloadPort}`;
      await spawnPeer(['start', '--host', host, '--data', dataDir]);
      const list = async () => (await (await fetch(`${api}/downloads`)).json()) as Listed[];
      const [unknown, paused] = await list();
      expect(unknown).toMatchObject({ key: 'f'.repeat(32), state: 'failed' });
      expect(unknown!.error).toMatch(/unknown state "verifying"/);
      expect(paused).toMatchObject({ key, state: 'paused', bytesDone: KEPT * CHUNK });

      const resumed = await fetch(`${api}/downloads/${key}/resume`, {
        method: 'POST',
        headers: { [CLIENT_HEADER]: '1' },
      });
      expect(resumed.status).toBe(200);
      await expect.poll(async () => (await list()).find((d) => d.key === key)?.state, { timeout: 20_000 }).toBe('done');
      const done = (await list()).find((d) => d.key === key)!;
      expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(data));
      expect(readdirSync(downloads)).toEqual([name]); // the old partial was used up, nothing else left
      expect(metered.bytes).toBe(data.length - KEPT * CHUNK); // the kept chunks were not fetched again
    },
  );
});
