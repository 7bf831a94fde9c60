/**
 * Download keys name a download in pause, resume and cancel: a whole peer makes them under a
 * secret of its own (kept in its data folder, mode 0600), so nobody else can compute one, yet the
 * same (file, folder) keeps its key across requests and restarts; a download recorded before keys
 * were secret keeps its old key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDownloadStore } from '../../src/download/adapters/sqlite/sqlite-download-store.ts';
import { startFullPeer, type FullPeer } from '../support/full-peer.ts';
import { tempDir } from '../support/temp.ts';

/** What anyone could compute before: a plain hash of the file id and the folder. */
const plainKey = (fileId: string, outDir: string) =>
  createHash('sha256').update(`${fileId}\0${outDir}`).digest('hex').slice(0, 32);

async function request(peer: FullPeer, fileId: string): Promise<{ key: string; state: string }> {
  const res = await fetch(`${peer.download}/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileId, name: 'wanted.bin' }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { key: string; state: string };
}

describe('download keys', () => {
  it(
    'are secret to the peer, yet the same for the same file and folder across requests and restarts',
    { timeout: 60_000 },
    async () => {
      const dataDir = join(tempDir(), 'data');
      const fileId = randomBytes(32).toString('hex');
      const first = await startFullPeer({ dataDir });
      const { key } = await request(first, fileId);
      expect(key).not.toBe(plainKey(fileId, join(dataDir, 'downloads')));
      expect((await request(first, fileId)).key).toBe(key);
      expect(statSync(join(dataDir, 'download-keys.secret')).mode & 0o777).toBe(0o600);
      await first.stop();

      const again = await startFullPeer({ dataDir, host: first.host });
      expect((await request(again, fileId)).key).toBe(key);
      // Another peer, with its own secret, keys the same file and folder otherwise.
      const other = await startFullPeer({ downloadsDir: join(dataDir, 'downloads') });
      expect((await request(other, fileId)).key).not.toBe(key);
    },
  );

  it('keep the old key of a download recorded before they were secret', { timeout: 60_000 }, async () => {
    const dataDir = join(tempDir(), 'data');
    const outDir = join(dataDir, 'downloads');
    const fileId = randomBytes(32).toString('hex');
    const old = plainKey(fileId, outDir);
    mkdirSync(dataDir, { recursive: true });
    const store = new SqliteDownloadStore(join(dataDir, 'downloads.db'));
    store.put({
      key: old,
      fileId,
      name: 'wanted.bin',
      outDir,
      sources: [],
      state: 'paused',
      bytesDone: 0,
      createdAt: 1,
      updatedAt: 1,
    });
    store.close();

    const peer = await startFullPeer({ dataDir });
    const again = await request(peer, fileId);
    expect(again).toMatchObject({ key: old, state: 'queued' });
    const listed = (await (await fetch(`${peer.download}/downloads`)).json()) as Array<{ key: string }>;
    expect(listed.map((d) => d.key)).toEqual([old]);
  });
});
