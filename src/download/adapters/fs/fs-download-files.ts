/**
 * Download files on the local disk. A partial file lives beside its final place, as a hidden
 * `.NAME.KEY.part`, so completing it is one atomic step in the same folder (link to the final
 * name, then unlink the partial). link() fails rather than replace an existing file, so another
 * file is never overwritten: a free "NAME (n).EXT" is used instead.
 */
import { link, mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fsError } from '../../../shared/fs-errors.ts';
import type { DownloadFiles, PartialFile } from '../../ports.ts';

function partialPath(dir: string, name: string, key: string): string {
  return join(dir, `.${name}.${key}.part`);
}

class FsPartialFile implements PartialFile {
  readonly path: string;
  readonly #handle: FileHandle;

  constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await this.#handle.write(data, written, data.length - written, offset + written);
        written += bytesWritten;
      }
    } catch (err) {
      throw fsError(err, 'writing a download');
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.#handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  }

  async sync(): Promise<void> {
    try {
      await this.#handle.datasync();
    } catch (err) {
      throw fsError(err, 'syncing a download');
    }
  }

  close(): Promise<void> {
    return this.#handle.close().catch(() => undefined);
  }
}

export class FsDownloadFiles implements DownloadFiles {
  async openPartial(dir: string, name: string, key: string, size: number): Promise<PartialFile> {
    await mkdir(dir, { recursive: true });
    const path = partialPath(dir, name, key);
    const handle = await open(path, 'a+').then(async (h) => {
      await h.close();
      return open(path, 'r+');
    });
    try {
      const current = (await handle.stat()).size;
      if (current !== size) await handle.truncate(size); // sparse: chunks land at their offsets
    } catch (err) {
      await handle.close();
      throw fsError(err, 'creating a download');
    }
    return new FsPartialFile(path, handle);
  }

  async finalize(partial: PartialFile, dir: string, name: string): Promise<string> {
    await partial.sync();
    const dot = extname(name);
    const base = dot && dot !== name ? name.slice(0, -dot.length) : name;
    for (let n = 0; n < 1000; n++) {
      const candidate = join(dir, n === 0 ? name : `${base} (${n})${dot}`);
      try {
        // link() fails if the name exists, so no other file is ever overwritten.
        await link(partial.path, candidate);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw fsError(err, 'moving a download into place');
      }
      await rm(partial.path, { force: true });
      await syncDir(dir);
      return candidate;
    }
    throw new Error(`no free name for ${name} in ${dir}`);
  }

  async removePartial(dir: string, name: string, key: string): Promise<void> {
    await rm(partialPath(dir, name, key), { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

