/** Final names cut to the file-system limit in UTF-8 bytes, keeping the extension and whole characters. */
import { describe, expect, it } from 'vitest';
import { fitName } from '../../src/download/adapters/fs/fs-download-files.ts';
import { MAX_NAME_BYTES } from '../../src/shared/names.ts';

const bytes = (s: string) => Buffer.byteLength(s);

describe('fitName', () => {
  it('leaves a name that fits as it is, and numbers alternatives before the extension', () => {
    expect(fitName('notes.txt', 0)).toBe('notes.txt');
    expect(fitName('notes.txt', 3)).toBe('notes (3).txt');
    expect(fitName('archive.tar.gz', 1)).toBe('archive.tar (1).gz');
    expect(fitName('.bashrc', 1)).toBe('.bashrc (1)');
  });

  it.each(['a', 'é', '日', '😀'])(
    'cuts a base of %s characters on a character boundary to fit %i bytes with its extension',
    (ch) => {
      const name = `${ch.repeat(Math.floor((MAX_NAME_BYTES - 4) / bytes(ch)))}.mkv`;
      for (const n of [1, 12, 999]) {
        const fitted = fitName(name, n);
        expect(bytes(fitted)).toBeLessThanOrEqual(MAX_NAME_BYTES);
        expect(bytes(fitted)).toBeGreaterThan(MAX_NAME_BYTES - 4); // only what had to go went
        expect(fitted.endsWith(` (${n}).mkv`)).toBe(true);
        expect(fitted.isWellFormed()).toBe(true);
        expect(name.startsWith(fitted.slice(0, -` (${n}).mkv`.length))).toBe(true);
      }
    },
  );

  it('never leaves the cut base ending in a dot or a space', () => {
    const name = `${'a'.repeat(246)}. . .txt`; // 254 bytes
    const fitted = fitName(name, 1);
    expect(fitted).toBe(`${'a'.repeat(246)} (1).txt`);
  });

  it('treats an overlong extension as part of the name', () => {
    const name = `a.${'b'.repeat(MAX_NAME_BYTES - 2)}`;
    const fitted = fitName(name, 1);
    expect(bytes(fitted)).toBe(MAX_NAME_BYTES);
    expect(fitted.endsWith(' (1)')).toBe(true);
  });
});
