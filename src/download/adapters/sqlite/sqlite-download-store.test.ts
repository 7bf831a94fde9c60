import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { DownloadRecord } from '../../ports.ts';
import { SqliteDownloadStore } from './sqlite-download-store.ts';

const record = (key: string, state: DownloadRecord['state'], createdAt: number): DownloadRecord => ({
  key,
  fileId: 'f'.repeat(64),
  name: `${key}.bin`,
  outDir: '/tmp',
  sources: [],
  state,
  bytesDone: 0,
  createdAt,
  updatedAt: createdAt,
});

describe('SqliteDownloadStore', () => {
  it('forgets the records in the states asked, and keeps the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peershare-download-store-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const store = new SqliteDownloadStore(join(dir, 'downloads.db'));
    try {
      const states: DownloadRecord['state'][] = ['done', 'running', 'failed', 'paused', 'cancelled', 'queued'];
      states.forEach((state, i) => store.put(record(`k${i}`, state, i)));
      expect(store.forget(['done', 'failed', 'cancelled']).sort()).toEqual(['k0', 'k2', 'k4']);
      expect(store.list(10).map((r) => r.state)).toEqual(['queued', 'paused', 'running']);
      expect(store.forget(['done'])).toEqual([]);
    } finally {
      store.close();
    }
  });
});
