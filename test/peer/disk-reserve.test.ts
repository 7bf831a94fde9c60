/**
 * The reserve file on real disks: written with real blocks when there is room, topped up when cut
 * short, and kept by a running peer's periodic check, which releases it on a full disk (a small
 * tmpfs, mounted as root) and writes it back once there is room again.
 */
import { existsSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  keepDiskReserve,
  RESERVE_BYTES,
  RESERVE_CHECK_MS,
  RESERVE_FILE,
  watchDiskReserve,
} from '../../src/peer/disk-reserve.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { fillDisk, freeBytes, isRoot, smallDisk } from '../support/small-disk.ts';
import { tempDir } from '../support/temp.ts';

const MiB = 1024 * 1024;
const held = (dir: string) =>
  existsSync(join(dir, RESERVE_FILE)) ? statSync(join(dir, RESERVE_FILE)).blocks * 512 : 0;

/** One round of the running peer's check: the interval fires once, and stopping waits for the check. */
async function oneCheck(dir: string): Promise<void> {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  const stop = watchDiskReserve(dir, silentLogger());
  vi.advanceTimersByTime(RESERVE_CHECK_MS);
  await stop();
}

afterEach(() => void vi.useRealTimers());

describe('the reserve file', () => {
  it('is written with real blocks when missing, kept when whole, and topped up when cut short', async () => {
    const dir = tempDir();
    expect(await keepDiskReserve(dir, silentLogger())).toBe('written');
    expect(held(dir)).toBeGreaterThanOrEqual(RESERVE_BYTES);
    expect(await keepDiskReserve(dir, silentLogger())).toBe('kept');

    truncateSync(join(dir, RESERVE_FILE), 1 * MiB); // as a power cut may leave it
    expect(await keepDiskReserve(dir, silentLogger())).toBe('written');
    expect(held(dir)).toBeGreaterThanOrEqual(RESERVE_BYTES);
  });

  it("is written back by the running peer's check", async () => {
    const dir = tempDir();
    await oneCheck(dir);
    expect(held(dir)).toBeGreaterThanOrEqual(RESERVE_BYTES);
  });

  describe.skipIf(!isRoot)('on a small disk (needs root to mount a tmpfs)', () => {
    it("is released by the running peer's check when the disk fills, and written back once there is room", async () => {
      const disk = smallDisk(16 * MiB);
      expect(await keepDiskReserve(disk, silentLogger())).toBe('written');
      const filler = fillDisk(disk);
      expect(freeBytes(disk)).toBe(0);

      await oneCheck(disk);
      expect(held(disk)).toBe(0);
      expect(freeBytes(disk)).toBeGreaterThanOrEqual(RESERVE_BYTES);

      rmSync(filler);
      await oneCheck(disk);
      expect(held(disk)).toBeGreaterThanOrEqual(RESERVE_BYTES);
    });

    it('is not written where it would leave less than its headroom free', async () => {
      const disk = smallDisk(10 * MiB);
      expect(await keepDiskReserve(disk, silentLogger())).toBe('absent');
      expect(held(disk)).toBe(0);
    });
  });
});
