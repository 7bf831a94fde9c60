/** The JobQueue contract against the embedded SQLite queue, one fresh database per test. */
import { join } from 'node:path';
import { createLogger, silentLogger } from '../../src/shared/logging.ts';
import { SqliteJobQueue } from '../../src/download/adapters/embedded-queue/sqlite-job-queue.ts';
import { tempDir } from '../support/temp.ts';
import { queueContract } from './queue-contract.ts';

const LEASE_MS = 600;

queueContract('embedded (SQLite)', async () => {
  const file = join(tempDir('peershare-queue-'), 'download-queue.sqlite');
  let leaseMs = LEASE_MS;
  return {
    open: (o = {}) =>
      new SqliteJobQueue({
        file,
        logger: o.logger ?? (process.env.QDEBUG ? createLogger('debug') : silentLogger()),
        leaseMs: o.ackTimeoutMs ?? leaseMs,
        pollMs: 50,
        failureDelayMs: 50,
      }),
    childSpec: (prefetch) => ({ kind: 'embedded', file, leaseMs, prefetch }),
    shortAckTimeout: async () => (leaseMs = 400),
  };
});
