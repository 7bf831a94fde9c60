import { describe, expect, it } from 'vitest';
import { bar, hashLine, RedrawThrottle } from './format.ts';

const MiB = 1024 * 1024;
const progress = (bytesDone: number, filesDone = 0) => ({
  filesTotal: 2,
  filesDone,
  bytesTotal: 400 * MiB,
  bytesDone,
  path: '/music/tape.bin',
});

describe('hashing bar', () => {
  it('shows speed and time left, and is full at 100% only once every byte and file is done', () => {
    expect(hashLine(progress(100 * MiB), 1000)).toBe(
      'hashing  [#####---------------]   25%  100 MiB/400 MiB  100 MiB/s  ETA 3s  0/2 files  tape.bin',
    );
    const almost = hashLine(progress(400 * MiB - 1, 1), 4000);
    expect(almost).toContain('[###################-]   99%');
    expect(hashLine(progress(400 * MiB, 2), 4000)).toBe(
      'hashed   [####################]  100%  400 MiB/400 MiB  100 MiB/s  2/2 files  tape.bin',
    );
    expect(hashLine(progress(0), 0)).toContain('0 B/400 MiB  ETA ?');
    expect(bar(0.975)).toBe(`[${'#'.repeat(19)}-]`);
  });

  it('is redrawn at most once per interval, and always for the final state', () => {
    let now = 0;
    const throttle = new RedrawThrottle(100, () => now);
    const drawn: number[] = [];
    // 400 progress events, one per 10 ms (a MiB each at 100 MiB/s), the last one final.
    for (let i = 1; i <= 400; i++) {
      now = i * 10;
      if (throttle.due(i === 400)) drawn.push(i);
    }
    expect(drawn).toHaveLength(41); // 4 s at 10 a second, and the final state
    expect(drawn.at(-1)).toBe(400);
    const timed = drawn.slice(0, -1);
    expect(timed.slice(1).every((n, i) => (n - timed[i]!) * 10 >= 100)).toBe(true);
  });
});
