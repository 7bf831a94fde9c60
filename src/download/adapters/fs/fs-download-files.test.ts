import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferPool } from '../../domain/buffer-pool.ts';
import { FsDownloadFiles } from './fs-download-files.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-fs-download-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Whether the temp folder's file system takes O_DIRECT (tmpfs before Linux 6.6 does not). */
function directIoWorks(): boolean {
  const O_DIRECT = (constants as { O_DIRECT?: number }).O_DIRECT;
  if (O_DIRECT === undefined) return false;
  const dir = mkdtempSync(join(tmpdir(), 'peershare-odirect-'));
  try {
    closeSync(openSync(join(dir, 'probe'), constants.O_CREAT | constants.O_RDWR | O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of `path` the page cache holds (util-linux fincore). */
function residentBytes(path: string): number {
  return Number(
    execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', path], { encoding: 'utf8' }).trim(),
  );
}

/** A file of one whole chunk and a short last one, written from pool buffers as a transfer writes it. */
async function writeTwoChunks(files: FsDownloadFiles) {
  const dir = tempDir();
  const content = randomBytes(MiB + 1000);
  const pool = new BufferPool(MiB, 2);
  const { partial } = await files.openPartial(dir, 'f.bin', 'k1', content.length);
  const whole = pool.tryAcquire()!;
  whole.set(content.subarray(0, MiB));
  const last = pool.tryAcquire()!;
  last.set(content.subarray(MiB));
  await partial.write(0, whole);
  await partial.write(MiB, last.subarray(0, 1000));
  const resident = residentBytes(partial.path);
  await partial.sync();
  await partial.close();
  return { content, path: partial.path, resident };
}

describe('download files: chunk writes', () => {
  it.skipIf(!directIoWorks())(
    'a whole chunk from a pool buffer goes straight to the disk, not through the page cache',
    async () => {
      const { content, path, resident } = await writeTwoChunks(new FsDownloadFiles());
      // Only the short last chunk (one page) went through the page cache.
      expect(resident).toBeLessThanOrEqual(4096);
      expect(readFileSync(path).equals(content)).toBe(true);
    },
  );

  it('with directIo off every chunk goes through the page cache, the same bytes', async () => {
    const { content, path, resident } = await writeTwoChunks(new FsDownloadFiles({ directIo: false }));
    expect(resident).toBeGreaterThan(MiB);
    expect(readFileSync(path).equals(content)).toBe(true);
  });

  it('a chunk in an unaligned buffer goes through the page cache', async () => {
    const dir = tempDir();
    const content = randomBytes(MiB);
    const { partial } = await new FsDownloadFiles().openPartial(dir, 'f.bin', 'k2', MiB);
    const unaligned = Buffer.alloc(MiB + 1).subarray(1);
    unaligned.set(content);
    await partial.write(0, unaligned);
    expect(residentBytes(partial.path)).toBe(MiB);
    await partial.close();
    expect(readFileSync(partial.path).equals(content)).toBe(true);
  });
});
