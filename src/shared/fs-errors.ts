/** File-system failures in the error vocabulary: a full disk is DISK_FULL wherever it happens. */
import { PeershareError } from './errors.ts';

/** Translate an fs or SQLite failure (ENOSPC, EDQUOT, SQLITE_FULL → DISK_FULL); other errors pass through unchanged. */
export function fsError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return new PeershareError('DISK_FULL', `disk full while ${what}`, undefined, { cause: err });
  return err;
}
