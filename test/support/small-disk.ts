/** A small tmpfs for the disk-full tests (mounting needs root), unmounted when the test ends. */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp.ts';
import { perTest, type Defer } from './teardown.ts';

export const isRoot = process.getuid?.() === 0;

/** Mount a tmpfs of `sizeBytes` on a new temporary folder and return that folder. */
export function smallDisk(sizeBytes: number, defer: Defer = perTest): string {
  const mountPoint = join(tempDir('peershare-test-', defer), 'disk');
  mkdirSync(mountPoint);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', mountPoint]);
  defer(() => void execFileSync('umount', ['-l', mountPoint]));
  return mountPoint;
}

export function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

/** Fill the disk that holds `dir` to the last byte with one file; returns its path. */
export function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const piece = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) writeSync(fd, piece);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}
