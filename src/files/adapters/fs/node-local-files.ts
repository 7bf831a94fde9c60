/**
 * Files shared in place on the local disk. A folder is walked recursively; a symlink is followed
 * only when its target stays inside the shared folder. Every read opens the file without following
 * a final symlink and checks its size, mtime, inode and device against the stamp taken when it was
 * hashed, so a file swapped or edited after sharing is never served as the old content.
 */
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, opendir, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { PeershareError } from '../../../shared/errors.ts';
import { sameStamp } from '../../domain/stamp.ts';
import type { DiskStamp, LocalEntry, LocalFiles } from '../../ports.ts';
import { FileRange } from './file-range.ts';
import { READ_HIGH_WATER_MARK } from './fs-blob-store.ts';

const MAX_DEPTH = 64;

function stampOf(s: BigIntStats): DiskStamp {
  return { size: Number(s.size), mtimeNs: s.mtimeNs.toString(), ino: s.ino.toString(), dev: s.dev.toString() };
}

function checkAbsolute(path: string): string {
  if (typeof path !== 'string' || path.includes('\0') || !isAbsolute(path)) {
    throw new PeershareError('INVALID_PATH', `path must be absolute: ${JSON.stringify(String(path).slice(0, 200))}`);
  }
  return normalize(path);
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export class NodeLocalFiles implements LocalFiles {
  async kind(path: string): Promise<'file' | 'folder'> {
    const abs = checkAbsolute(path);
    let s;
    try {
      s = await stat(abs);
    } catch (err) {
      throw new PeershareError(
        'INVALID_PATH',
        `cannot share ${abs}: ${(err as NodeJS.ErrnoException).code ?? 'not found'}`,
      );
    }
    if (s.isFile()) return 'file';
    if (s.isDirectory()) return 'folder';
    throw new PeershareError('INVALID_PATH', `cannot share ${abs}: not a regular file or folder`);
  }

  async stamp(path: string): Promise<DiskStamp> {
    return stampOf(await stat(checkAbsolute(path), { bigint: true }));
  }

  async *walk(path: string): AsyncIterable<LocalEntry> {
    const abs = checkAbsolute(path);
    const s = await stat(abs, { bigint: true });
    if (s.isFile()) {
      // A file named directly is shared as what it resolves to.
      const real = await realpath(abs);
      yield { kind: 'file', path: real, relative: basename(real), stamp: stampOf(await stat(real, { bigint: true })) };
      return;
    }
    const root = await realpath(abs);
    // A file reached twice (directly and through a symlink inside the share) is listed once.
    const seen = new Set<string>();
    for await (const entry of this.#walkFolder(root, root, 0)) {
      if (entry.kind === 'file') {
        if (seen.has(entry.path)) continue;
        seen.add(entry.path);
        // A file reached through a symlink is listed where it really is (its path), as it is shared.
        yield { ...entry, relative: relative(root, entry.path).split(sep).join('/') };
        continue;
      }
      yield entry;
    }
  }

  async *#walkFolder(
    root: string,
    dir: string,
    depth: number,
  ): AsyncIterable<LocalEntry | { kind: 'file'; path: string; stamp: DiskStamp }> {
    if (depth > MAX_DEPTH) {
      yield { kind: 'skipped', path: dir, code: 'INVALID_PATH', reason: `deeper than ${MAX_DEPTH} folders` };
      return;
    }
    const entries = [];
    for await (const entry of await opendir(dir)) entries.push(entry.name);
    entries.sort();
    for (const name of entries) {
      const path = join(dir, name);
      let st = await lstat(path, { bigint: true });
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(path);
        } catch {
          yield { kind: 'skipped', path, code: 'INVALID_PATH', reason: 'broken symlink' };
          continue;
        }
        if (!within(root, target)) {
          yield {
            kind: 'skipped',
            path,
            code: 'PATH_OUTSIDE_SHARE',
            reason: 'symlink pointing outside the shared folder',
          };
          continue;
        }
        st = await stat(target, { bigint: true });
        if (st.isDirectory()) {
          // Followed inside the root only; the real folder is walked under its own name, so no loop.
          yield {
            kind: 'skipped',
            path,
            code: 'INVALID_PATH',
            reason: 'symlink to a folder inside the share (shared under its real path)',
          };
          continue;
        }
        if (st.isFile()) yield { kind: 'file', path: target, stamp: stampOf(st) };
        continue;
      }
      if (st.isDirectory()) yield* this.#walkFolder(root, path, depth + 1);
      else if (st.isFile()) yield { kind: 'file', path, stamp: stampOf(st) };
      else yield { kind: 'skipped', path, code: 'INVALID_PATH', reason: 'not a regular file' };
    }
  }

  async read(path: string, expected: DiskStamp, start = 0, end = expected.size - 1): Promise<Readable> {
    let handle;
    try {
      handle = await open(checkAbsolute(path), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw new PeershareError('FILE_CHANGED', `${path} is gone or was replaced since it was shared`, undefined, {
        cause: err,
      });
    }
    const now = stampOf(await handle.stat({ bigint: true }));
    if (!sameStamp(now, expected)) {
      await handle.close();
      throw new PeershareError('FILE_CHANGED', `${path} changed on disk since it was shared`);
    }
    if (end < start) {
      await handle.close();
      return Readable.from([]);
    }
    return new FileRange(handle, start, end, READ_HIGH_WATER_MARK);
  }
}
