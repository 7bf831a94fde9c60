/** File-system failures in the error vocabulary: a full disk is DISK_FULL wherever it happens. */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { isPeershareError, PeershareError } from './errors.ts';

/** Error codes that say the disk is full, from the OS and from SQLite. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
/**
 * Free bytes below which an I/O error while opening a file is put down to a full disk: SQLite
 * reports a disk it cannot grow its shared-memory or WAL file on as SQLITE_IOERR_*, not as full.
 */
const NEARLY_FULL_BYTES = 256 * 1024;

/** Translate an fs or SQLite failure (ENOSPC, EDQUOT, SQLITE_FULL → DISK_FULL); other errors pass through unchanged. */
export function fsError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL')
    return new PeershareError('DISK_FULL', `disk full while ${what}`, undefined, { cause: err });
  return err;
}

/**
 * Why a file a service needs from its start (a database) could not be opened, in one line that
 * names it: DISK_FULL when its disk is full, UNAVAILABLE otherwise. A PeershareError (a data
 * folder refused with a clear message) passes through unchanged.
 */
export function openError(err: unknown, path: string): unknown {
  if (isPeershareError(err)) return err;
  const code = String((err as NodeJS.ErrnoException)?.code ?? '');
  const reason = `${(err as Error)?.message ?? String(err)}${code ? ` (${code})` : ''}`;
  const full =
    FULL_CODES.has(code) || (/^(SQLITE_IOERR|EIO$)/.test(code) && freeBytes(dirname(path)) < NEARLY_FULL_BYTES);
  if (full)
    return new PeershareError(
      'DISK_FULL',
      `disk full: cannot open ${path}: ${reason}; free some space on its disk`,
      { path },
      { cause: err },
    );
  return new PeershareError('UNAVAILABLE', `cannot open ${path}: ${reason}`, { path }, { cause: err });
}

/** `open()` (of the file at `path`), with a failure explained by openError. */
export function opening<T>(path: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    throw openError(err, path);
  }
}

function freeBytes(dir: string): number {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize;
  } catch {
    return Number.POSITIVE_INFINITY; // cannot tell: do not claim the disk is full
  }
}
