import { describe, expect, it } from 'vitest';
import { formatSize, parseRate, parseSize } from './sizes.ts';

describe('sizes and rates as typed', () => {
  it('reads a byte count with or without a binary unit, and nothing else', () => {
    expect([parseSize('1048576'), parseSize('512KiB'), parseSize(' 1 mib '), parseSize('2G'), parseSize('3b')]).toEqual(
      [1048576, 512 * 1024, 2 ** 20, 2 * 2 ** 30, 3],
    );
    expect([parseSize(''), parseSize('fast'), parseSize('1.5MiB'), parseSize('-1'), parseSize('99999999999T')]).toEqual(
      [undefined, undefined, undefined, undefined, undefined],
    );
  });

  it('reads a cap per second, and 0, none, off or an empty field as no cap', () => {
    expect([parseRate('10MiB'), parseRate('10MiB/s'), parseRate('256 KiB / s')]).toEqual([
      10 * 2 ** 20,
      10 * 2 ** 20,
      256 * 1024,
    ]);
    expect([parseRate('0'), parseRate('none'), parseRate('Off'), parseRate('')]).toEqual([0, 0, 0, 0]);
    expect(parseRate('quick')).toBeUndefined();
  });

  it('writes a size that reads back exactly', () => {
    for (const n of [5 * 2 ** 20, 1536 * 1024, 1000, 1, 3 * 2 ** 40, 2 ** 20 + 1])
      expect(parseSize(formatSize(n))).toBe(n);
    expect([formatSize(5 * 2 ** 20), formatSize(1536 * 1024), formatSize(1000)]).toEqual(['5MiB', '1536KiB', '1000']);
  });
});
