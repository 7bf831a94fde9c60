/**
 * A downloading peer for tests: a real File Management service (where finished downloads are
 * shared) and a real Download service with the embedded queue, on their own loopback address,
 * wired as the composition root wires them. Stopped and removed when the test ends.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { FsDownloadFiles } from '../../src/download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../../src/download/adapters/http/http-chunk-source.ts';
import { SqliteDownloadStore } from '../../src/download/adapters/sqlite/sqlite-download-store.ts';
import { SqliteJobQueue } from '../../src/download/adapters/embedded-queue/sqlite-job-queue.ts';
import type { DownloadManagerOptions } from '../../src/download/domain/download-manager.ts';
import { JOB_KEY_SECRET_BYTES, jobKeys } from '../../src/download/domain/job.ts';
import type { JobQueue } from '../../src/download/queue-port.ts';
import { createDownloadService, type DownloadService } from '../../src/download/service.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { startFilesPeer, type FilesPeer } from './files-peer.ts';

export interface DownloadPeer {
  files: FilesPeer;
  download: DownloadService;
  queue: JobQueue;
  url: string;
  downloadsDir: string;
  stop(): Promise<void>;
}

export async function startDownloadPeer(
  options: Partial<DownloadManagerOptions> = {},
  queue?: (dataDir: string) => JobQueue,
  concurrency = 2,
): Promise<DownloadPeer> {
  const files = await startFilesPeer();
  const downloadsDir = join(files.dataDir, 'downloads');
  const jobQueue =
    queue?.(files.dataDir) ??
    new SqliteJobQueue({ file: join(files.dataDir, 'download-queue.db'), logger: silentLogger(), pollMs: 50 });
  const store = new SqliteDownloadStore(join(files.dataDir, 'downloads.db'));
  const download = createDownloadService({
    queue: jobQueue,
    store,
    files: new FsDownloadFiles(),
    chunkSource: new HttpChunkSource(files.tls),
    registry: {
      register: async (path, manifest) => void (await files.service.manager.registerVerified(path, manifest)),
      sharedAt: async (fileId) => files.service.manager.find(fileId)?.paths,
    },
    logger: silentLogger(),
    peerId: 'test',
    host: files.host,
    port: DEFAULT_PORTS.downloadPort,
    apiToken: undefined,
    concurrency,
    options: {
      downloadsDir,
      jobKey: jobKeys(randomBytes(JOB_KEY_SECRET_BYTES), (key) => store.get(key) !== undefined),
      maxAttempts: 3,
      retryBaseMs: 50,
      retryMaxMs: 200,
      keepAliveMs: 60_000,
      ...options,
    },
  });
  await download.start();
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= download.stop());
  onTestFinished(stop);
  return { files, download, queue: jobQueue, url: download.url, downloadsDir, stop };
}
