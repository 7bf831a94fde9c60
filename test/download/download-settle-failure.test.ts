/**
 * A download whose failure cannot be recorded (its state write fails too, as on a full disk)
 * is not left claimed and "running" forever: the handler's error reaches the queue, which hands
 * the job out again, and the next attempt records its end.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FsDownloadFiles } from '../../src/download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../../src/download/adapters/http/http-chunk-source.ts';
import { SqliteJobQueue } from '../../src/download/adapters/embedded-queue/sqlite-job-queue.ts';
import { SqliteDownloadStore } from '../../src/download/adapters/sqlite/sqlite-download-store.ts';
import { JOB_KEY_SECRET_BYTES, jobKeys } from '../../src/download/domain/job.ts';
import type { DownloadRecord } from '../../src/download/ports.ts';
import { createDownloadService } from '../../src/download/service.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { PeershareError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { newPeerTls } from '../support/peer-source.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

/** A real store whose first write of a retry note fails, as a full disk would fail it. */
class StoreFailingOnce extends SqliteDownloadStore {
  failures = 0;
  override put(record: DownloadRecord): void {
    if (this.failures === 0 && record.state === 'queued' && record.error?.startsWith('attempt 1 failed')) {
      this.failures++;
      throw new PeershareError('DISK_FULL', 'disk full while recording the download');
    }
    super.put(record);
  }
}

describe('a download whose failure cannot be recorded', () => {
  it(
    'is handed out again by the queue and ends recorded, not claimed and running forever',
    { timeout: 60_000 },
    async () => {
      const dataDir = tempDir();
      const store = new StoreFailingOnce(join(dataDir, 'downloads.db'));
      const events: Array<{ type: string }> = [];
      const download = createDownloadService({
        queue: new SqliteJobQueue({
          file: join(dataDir, 'download-queue.db'),
          logger: silentLogger(),
          pollMs: 50,
          failureDelayMs: 50,
        }),
        store,
        files: new FsDownloadFiles(),
        chunkSource: new HttpChunkSource(await newPeerTls()),
        registry: { register: async () => undefined, sharedAt: async () => undefined },
        logger: silentLogger(),
        peerId: 'test',
        host: nextLoopback(),
        port: DEFAULT_PORTS.downloadPort,
        apiToken: undefined,
        concurrency: 1,
        options: {
          downloadsDir: join(dataDir, 'downloads'),
          jobKey: jobKeys(randomBytes(JOB_KEY_SECRET_BYTES), (key) => store.get(key) !== undefined),
          maxAttempts: 2,
          retryBaseMs: 50,
          retryMaxMs: 50,
          keepAliveMs: 60_000,
        },
      });
      download.manager.events.on('event', (e: { type: string }) => events.push(e));
      await download.start();
      onTestFinished(() => download.stop());

      // No source at all: every attempt fails UNAVAILABLE; recording the first failure fails too.
      const res = await fetch(`${download.url}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileId: 'a'.repeat(64), name: 'lost.bin', sources: [] }),
      });
      expect(res.status).toBe(202);
      const { key } = (await res.json()) as { key: string };
      const state = async () =>
        ((await (await fetch(`${download.url}/downloads/${key}`)).json()) as { state: string }).state;
      await expect.poll(state, { timeout: 30_000 }).toBe('failed');
      expect(store.failures).toBe(1);
      expect(events.map((e) => e.type)).toContain('settle-failed');
    },
  );
});
