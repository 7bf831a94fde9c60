import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PeershareError } from './errors.ts';
import { openError, opening } from './fs-errors.ts';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('a file that will not open at start-up', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is UNAVAILABLE naming the file and why, one line, when its disk has room', () => {
    dir = mkdtempSync(join(tmpdir(), 'peershare-fs-errors-'));
    const path = join(dir, 'catalog.db');
    writeFileSync(path, 'not a database, but long enough to have a header that SQLite reads');
    const err = (() => {
      try {
        opening(path, () => new Database(path).pragma('journal_mode = WAL'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'UNAVAILABLE', details: { path } });
    expect((err as Error).message).toMatch(new RegExp(`^cannot open ${path}: .+ \\(SQLITE_NOTADB\\)$`));
    // An I/O error on a disk with room is not called a full disk.
    expect(openError(errno('SQLITE_IOERR_SHMSIZE', 'disk I/O error'), path)).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('is DISK_FULL when the OS or SQLite says the disk is full, and a PeershareError passes through', () => {
    dir = mkdtempSync(join(tmpdir(), 'peershare-fs-errors-'));
    const path = join(dir, 'fetch.db');
    for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) {
      const err = openError(errno(code, 'no room'), path);
      expect(err).toMatchObject({
        code: 'DISK_FULL',
        message: `disk full: cannot open ${path}: no room (${code}); free some space on its disk`,
      });
    }
    const refused = new PeershareError('CONFIG_INVALID', 'a data folder of a newer version');
    expect(openError(refused, path)).toBe(refused);
  });
});
