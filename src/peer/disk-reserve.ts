/**
 * The reserve file, DATA/reserve: RESERVE_BYTES of real blocks the peer holds on the disk of its
 * data folder, so that it can always start and record state there, even after something else
 * filled that disk to the last byte. Before any database opens, start-up deletes it when less
 * than START_FREE_BYTES are free (SQLite needs room for its shared-memory and WAL files just to
 * open a database). A running peer checks again every RESERVE_CHECK_MS: it releases the reserve
 * on a full disk, so its databases can go on recording state, and writes it again once the disk
 * has room for it and RESERVE_HEADROOM_BYTES more, so the reserve is never what fills a disk.
 */
import { randomFillSync } from 'node:crypto';
import { open, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../shared/logging.ts';

const MiB = 1024 * 1024;
/** The reserve file's name in the data folder. */
export const RESERVE_FILE = 'reserve';
/** Size of the reserve file: room for the databases to open and record state for a while. */
export const RESERVE_BYTES = 4 * MiB;
/** Start-up releases the reserve when less than this is free on the data folder's disk. */
export const START_FREE_BYTES = 1 * MiB;
/** The reserve is written only when this much stays free beside it. */
export const RESERVE_HEADROOM_BYTES = 8 * MiB;
/** How often a running peer checks its reserve: one statfs, and at most one write of the reserve. */
export const RESERVE_CHECK_MS = 5 * 60_000;
/** The reserve is written in pieces of this size. */
const WRITE_BYTES = 1 * MiB;

export type ReserveOutcome = 'kept' | 'released' | 'written' | 'absent';

/**
 * Release the reserve if the disk is too full to start (or record state), or write it if it is
 * missing and there is room; called before any database of the peer opens, and then every
 * RESERVE_CHECK_MS. Never throws: a reserve it cannot write is only logged.
 */
export async function keepDiskReserve(dataDir: string, logger: Logger): Promise<ReserveOutcome> {
  const path = join(dataDir, RESERVE_FILE);
  try {
    const held = await heldBytes(path);
    const leftover = await heldBytes(temporaryPath(path)); // what a write cut short may have left
    const free = await freeBytes(dataDir);
    if (held + leftover > 0 && free < START_FREE_BYTES) {
      await rm(path, { force: true });
      await rm(temporaryPath(path), { force: true });
      logger.warn(
        { path, freeBytes: free, releasedBytes: held + leftover },
        'the disk of the data folder is full: released the reserve file so the peer can start and record state; free some space',
      );
      return 'released';
    }
    if (held >= RESERVE_BYTES) return 'kept';
    if (free - (RESERVE_BYTES - held) < RESERVE_HEADROOM_BYTES) return 'absent';
    await writeReserve(path);
    return 'written';
  } catch (err) {
    logger.warn({ err, path }, 'could not keep the reserve file');
    return 'absent';
  }
}

/**
 * keepDiskReserve() every `intervalMs` while the peer runs, one check at a time; returns what
 * stops it (once a check under way has finished, so no file handle outlives the peer).
 */
export function watchDiskReserve(dataDir: string, logger: Logger, intervalMs = RESERVE_CHECK_MS): () => Promise<void> {
  let checking: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    checking ??= keepDiskReserve(dataDir, logger).finally(() => (checking = undefined));
  }, intervalMs);
  timer.unref(); // it never keeps a stopping process alive
  return async () => {
    clearInterval(timer);
    await checking;
  };
}

/** Bytes the file really holds on disk (a sparse or cut-short file counts for what it holds). */
async function heldBytes(path: string): Promise<number> {
  try {
    const s = await stat(path);
    return Math.min(s.size, s.blocks * 512);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

async function freeBytes(dir: string): Promise<number> {
  const { bavail, bsize } = await statfs(dir);
  return bavail * bsize;
}

/**
 * Random bytes, not zeros or a repeated piece: a file system that compresses or deduplicates
 * would keep those in few blocks or none. Written beside the reserve and renamed over it, so a
 * reserve is whole or absent (a leftover of a write cut short is overwritten by the next write,
 * or deleted with the reserve).
 */
async function writeReserve(path: string): Promise<void> {
  const temporary = temporaryPath(path);
  const piece = Buffer.alloc(WRITE_BYTES);
  const handle = await open(temporary, 'w');
  try {
    for (let offset = 0; offset < RESERVE_BYTES; offset += piece.length) {
      await handle.write(randomFillSync(piece), 0, piece.length, offset);
    }
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temporary, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temporary, path);
}

const temporaryPath = (path: string) => `${path}.tmp`;
