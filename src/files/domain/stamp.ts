/** Whether a file on disk is still the one that was hashed: same size, mtime, inode and device. */
import type { DiskStamp } from '../ports.ts';

export function sameStamp(a: DiskStamp | undefined, b: DiskStamp): boolean {
  return a !== undefined && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino && a.dev === b.dev;
}
