/**
 * Content-addressed store of uploaded files on the local disk: `store/ab/<id>` for each file,
 * `tmp/` for uploads in progress. An upload is written to a temp file, fsync'd, then renamed
 * into place, so a crash leaves either the whole file or only a temp file that recover() removes.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PeershareError } from '../../../shared/errors.ts';
import { fsError } from '../../../shared/fs-errors.ts';
import type { BlobStore, PendingBlob } from '../../ports.ts';
import { FileRange } from './file-range.ts';

export const READ_HIGH_WATER_MARK = 1024 * 1024;

async function fsyncPath(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FsBlobStore implements BlobStore {
  readonly #storeDir: string;
  readonly #tmpDir: string;

  constructor(dataDir: string) {
    this.#storeDir = join(dataDir, 'store');
    this.#tmpDir = join(dataDir, 'tmp');
  }

  pathOf(id: string): string {
    return join(this.#storeDir, id.slice(0, 2), id);
  }

  async recover(): Promise<void> {
    await mkdir(this.#storeDir, { recursive: true });
    await mkdir(this.#tmpDir, { recursive: true });
    for (const name of await readdir(this.#tmpDir)) {
      if (name.startsWith('upload-')) await rm(join(this.#tmpDir, name), { force: true });
    }
  }

  async receive(
    source: AsyncIterable<Uint8Array>,
    tap: (data: Uint8Array) => void,
    maxBytes: number,
  ): Promise<PendingBlob> {
    const tmp = join(this.#tmpDir, `upload-${randomBytes(8).toString('hex')}`);
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > maxBytes) {
          done(new PeershareError('PAYLOAD_TOO_LARGE', `upload is larger than the ${maxBytes}-byte cap`));
          return;
        }
        tap(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmp, { flags: 'wx', highWaterMark: READ_HIGH_WATER_MARK }));
      await fsyncPath(tmp);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof PeershareError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error).message === 'aborted') {
        throw new PeershareError('UPLOAD_ABORTED', 'the client went away before the upload was complete', undefined, {
          cause: err,
        });
      }
      throw fsError(err, 'receiving an upload');
    }
    return {
      commit: async (id) => {
        const target = this.pathOf(id);
        try {
          await mkdir(dirname(target), { recursive: true });
          // Same content already stored: keep that copy (it is byte-identical by construction).
          if (await exists(target)) {
            await rm(tmp, { force: true });
            return;
          }
          await rename(tmp, target);
          await fsyncPath(dirname(target));
        } catch (err) {
          throw fsError(err, 'storing an upload');
        }
      },
      discard: () => rm(tmp, { force: true }),
    };
  }

  async read(id: string, start: number, end: number): Promise<Readable> {
    const handle = await open(this.pathOf(id), 'r');
    if (end < start) {
      await handle.close();
      return Readable.from([]);
    }
    return new FileRange(handle, start, end, READ_HIGH_WATER_MARK);
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
