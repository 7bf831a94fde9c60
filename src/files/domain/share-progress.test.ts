import { describe, expect, it } from 'vitest';
import { ShareProgressTracker, type ShareProgress } from './share-progress.ts';

const KiB = 1024;

describe('ShareProgressTracker', () => {
  it('reports the plan, every chunk-sized step of bytes, and each file end, ending at the totals', () => {
    const reports: ShareProgress[] = [];
    const t = new ShareProgressTracker(2, 300 * KiB, 64 * KiB, (p) => reports.push(p));
    for (let i = 0; i < 25; i++) t.hashed('/a', 8 * KiB); // 200 KiB in reads smaller than a chunk
    t.fileDone('/a');
    t.hashed('/b', 100 * KiB); // one read spanning a step: one report
    t.fileDone('/b');
    expect(reports.map((r) => r.bytesDone)).toEqual([
      0,
      64 * KiB,
      128 * KiB,
      192 * KiB,
      200 * KiB,
      300 * KiB,
      300 * KiB,
    ]);
    expect(reports[0]).toEqual({ filesTotal: 2, filesDone: 0, bytesTotal: 300 * KiB, bytesDone: 0 });
    expect(reports.at(-1)).toEqual({
      filesTotal: 2,
      filesDone: 2,
      bytesTotal: 300 * KiB,
      bytesDone: 300 * KiB,
      path: '/b',
    });
  });

  it('reports a huge share in at most about a thousand byte steps', () => {
    let count = 0;
    const size = 10 * 1024 * 1024 * KiB; // 10 GiB
    const t = new ShareProgressTracker(1, size, 64 * KiB, () => (count += 1));
    for (let done = 0; done < size; done += 4 * 1024 * KiB) t.hashed('/huge', 4 * 1024 * KiB);
    t.fileDone('/huge');
    expect(count).toBeLessThanOrEqual(1 + 1000 + 1);
    expect(count).toBeGreaterThan(500);
  });
});
