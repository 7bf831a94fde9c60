/**
 * Download files on the local disk. A partial file lives beside its final place under a short
 * hidden name of its own (`.download-KEY.part`, whatever the file is called), so finishing it is
 * a link in the same folder, then an unlink of the partial's name. link() fails rather than
 * replace an existing file, so another file is never overwritten: a free "NAME (n).EXT" is used
 * instead, shortened (keeping its extension) when it would not fit the file-system's name limit.
 *
 * A full disk: a chunk is written only if DISK_RESERVE_BYTES stay free on its file system after
 * it (statfs before the write, counting writes under way), so downloads never take the last
 * bytes the peer needs to record state and start; past that, the write fails with DISK_FULL.
 *
 * Whole chunks go straight to the disk (O_DIRECT, through a second handle) when the buffer, the
 * offset and the length are block-aligned, as a transfer's pool buffers are: copying each chunk
 * into page cache the kernel has to find fresh memory for cost more CPU than hashing it, and the
 * fsync at the end then has little left to write. Anything else (the last, short chunk; a file
 * system without O_DIRECT, which refuses it with EINVAL) is written through the page cache.
 * fdatasync on the ordinary handle makes both durable: it flushes the file, not the handle.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { PeershareError } from '../../../shared/errors.ts';
import { fsError } from '../../../shared/fs-errors.ts';
import { MAX_NAME_BYTES } from '../../../shared/names.ts';
import { BUFFER_ALIGNMENT, isAligned } from '../../domain/buffer-pool.ts';
import type { DownloadFiles, OpenedPartial, PartialFile, ReadableFile } from '../../ports.ts';
import { faultPoint } from './fault-hook.ts';

/** Bytes left free on a disk by downloads, for the peer's databases and logs (a few MiB of WAL). */
export const DISK_RESERVE_BYTES = 8 * 1024 * 1024;
/** O_DIRECT wants the buffer, the offset and the length on this boundary (a page: enough for every common disk). */
const DIRECT_ALIGNMENT = BUFFER_ALIGNMENT;
/** undefined where the platform has no O_DIRECT (macOS). */
const O_DIRECT: number | undefined = (constants as { O_DIRECT?: number }).O_DIRECT;

/** An extension longer than this is not kept apart when a name is shortened: it is part of the name. */
const MAX_KEPT_EXTENSION_BYTES = 32;
/** "NAME (1).EXT" … "NAME (999).EXT", then give up. */
const MAX_NAME_TRIES = 1000;

function partialPath(dir: string, key: string): string {
  const id = /^[0-9A-Za-z_-]{1,64}$/.test(key) ? key : createHash('sha256').update(key).digest('hex').slice(0, 32);
  return join(dir, `.download-${id}.part`);
}

/** Where versions before the short names kept the partial file (too long for long names). */
function legacyPartialPath(dir: string, name: string, key: string): string {
  return join(dir, `.${name}.${key}.part`);
}

/**
 * `name`, or its n-th alternative "BASE (n).EXT", cut to fit MAX_NAME_BYTES of UTF-8: the base
 * loses whole code points from its end (never a trailing dot or space left), the extension stays.
 */
export function fitName(name: string, n: number): string {
  const suffix = n === 0 ? '' : ` (${n})`;
  let ext = extname(name);
  if (ext === name || Buffer.byteLength(ext) > MAX_KEPT_EXTENSION_BYTES) ext = '';
  let base = ext ? name.slice(0, -ext.length) : name;
  const budget = MAX_NAME_BYTES - Buffer.byteLength(suffix + ext);
  if (Buffer.byteLength(base) > budget) {
    let bytes = 0;
    let cut = '';
    for (const ch of base) {
      bytes += Buffer.byteLength(ch);
      if (bytes > budget) break;
      cut += ch;
    }
    base = cut.replace(/[. ]+$/, '');
  }
  return `${base}${suffix}${ext}`;
}

/**
 * While more than this is free beyond the reserve, the free space is asked of the file system
 * again only after this many bytes were written to the folder (counted off what it said), not
 * before every chunk: each statfs is a round trip through libuv's thread pool, which the chunk's
 * write then waits behind (docs/PERFORMANCE.md, "where the idle time is"). Nearer the reserve,
 * every write asks.
 */
export const SPACE_RECHECK_BYTES = 64 * 1024 * 1024;

/** Keeps DISK_RESERVE_BYTES free on every disk downloads write to. */
class SpaceGuard {
  #pending = 0;
  /** What statfs said last (of one folder), and the bytes written there since. */
  #last: { dir: string; free: number; written: number } | undefined;
  constructor(readonly reserveBytes: number) {}

  async write(dir: string, bytes: number, write: () => Promise<void>): Promise<void> {
    let last = this.#last?.dir === dir ? this.#last : undefined;
    if (
      !last ||
      last.written + bytes > SPACE_RECHECK_BYTES ||
      last.free - last.written - this.#pending - bytes < this.reserveBytes + SPACE_RECHECK_BYTES
    ) {
      const { bavail, bsize } = await statfs(dir);
      last = this.#last = { dir, free: bavail * bsize, written: 0 };
    }
    const free = last.free - last.written - this.#pending;
    if (free - bytes < this.reserveBytes) {
      const mib = (this.reserveBytes / 1024 / 1024).toFixed(0);
      throw new PeershareError(
        'DISK_FULL',
        `disk full while writing a download: less than ${mib} MiB would be left free in ${dir}`,
      );
    }
    this.#pending += bytes;
    try {
      await write();
      last.written += bytes; // on the disk now: a later statfs counts it (until then, this does)
    } finally {
      this.#pending -= bytes;
    }
  }
}

class FsReadableFile implements ReadableFile {
  readonly path: string;
  protected readonly handle: FileHandle;

  constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.handle = handle;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  }

  close(): Promise<void> {
    return this.handle.close().catch(() => undefined);
  }
}

class FsPartialFile extends FsReadableFile implements PartialFile {
  readonly #space: SpaceGuard;
  readonly #directIo: boolean;
  /** The O_DIRECT handle, opened at the first aligned write; undefined once it is refused. */
  #direct: Promise<FileHandle | undefined> | undefined;

  constructor(path: string, handle: FileHandle, space: SpaceGuard, directIo: boolean) {
    super(path, handle);
    this.#space = space;
    this.#directIo = directIo && O_DIRECT !== undefined;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    try {
      await this.#space.write(dirname(this.path), data.length, async () => {
        let written = await this.#writeDirect(offset, data);
        while (written < data.length) {
          const { bytesWritten } = await this.handle.write(data, written, data.length - written, offset + written);
          written += bytesWritten;
        }
      });
    } catch (err) {
      throw fsError(err, 'writing a download');
    }
  }

  /** Write `data` at `offset` straight to the disk if it is aligned; the bytes written (0: none, write them through the page cache). */
  async #writeDirect(offset: number, data: Uint8Array): Promise<number> {
    if (
      !this.#directIo ||
      offset % DIRECT_ALIGNMENT !== 0 ||
      data.length % DIRECT_ALIGNMENT !== 0 ||
      !isAligned(data, DIRECT_ALIGNMENT)
    )
      return 0;
    this.#direct ??= open(this.path, constants.O_RDWR | O_DIRECT!).catch(() => undefined); // refused (tmpfs, some FUSE): page cache only
    const direct = await this.#direct;
    if (!direct) return 0;
    try {
      return (await direct.write(data, 0, data.length, offset)).bytesWritten; // a short write: the rest through the page cache
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      void this.#stopDirect(); // the file system wants another alignment, or none of it
      return 0;
    }
  }

  #stopDirect(): Promise<void> {
    const direct = this.#direct;
    this.#direct = Promise.resolve(undefined);
    return direct ? direct.then((h) => h?.close()).catch(() => undefined) : Promise.resolve();
  }

  override async close(): Promise<void> {
    await this.#stopDirect();
    await super.close();
  }

  async sync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (err) {
      throw fsError(err, 'syncing a download');
    }
  }
}

const isMissing = (err: unknown) => ['ENOENT', 'ENAMETOOLONG'].includes((err as NodeJS.ErrnoException).code ?? '');

export class FsDownloadFiles implements DownloadFiles {
  readonly #space: SpaceGuard;
  readonly #directIo: boolean;

  /** `directIo: false` writes every chunk through the page cache. */
  constructor(options: { reserveBytes?: number; directIo?: boolean } = {}) {
    this.#space = new SpaceGuard(options.reserveBytes ?? DISK_RESERVE_BYTES);
    this.#directIo = options.directIo ?? true;
  }

  async openPartial(dir: string, name: string, key: string, size: number): Promise<OpenedPartial> {
    try {
      await mkdir(dir, { recursive: true });
      const path = await this.#adoptLegacy(dir, name, key);
      let created = false;
      const handle = await open(path, 'r+').catch(async (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        created = true;
        return open(path, 'wx+');
      });
      try {
        if ((await handle.stat()).size !== size) await handle.truncate(size); // sparse: chunks land at their offsets
      } catch (err) {
        await handle.close();
        throw err;
      }
      return { partial: new FsPartialFile(path, handle, this.#space, this.#directIo), created };
    } catch (err) {
      throw fsError(err, 'creating a download');
    }
  }

  async findPartial(dir: string, name: string, key: string): Promise<PartialFile | undefined> {
    const path = await this.#adoptLegacy(dir, name, key);
    const handle = await open(path, 'r+').catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    return handle && new FsPartialFile(path, handle, this.#space, this.#directIo);
  }

  async openFinished(path: string): Promise<ReadableFile | undefined> {
    const handle = await open(path, 'r').catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    return handle && new FsReadableFile(path, handle);
  }

  async place(
    partial: PartialFile,
    dir: string,
    name: string,
    claimed: string | undefined,
    claim: (path: string) => void,
  ): Promise<string> {
    if (claimed && (await sameFile(partial.path, claimed))) return claimed; // linked before a crash
    await partial.sync();
    for (let n = 0; n < MAX_NAME_TRIES; n++) {
      const candidate = join(dir, fitName(name, n));
      claim(candidate);
      faultPoint('before-link');
      try {
        // link() fails if the name exists, so no other file is ever overwritten.
        await link(partial.path, candidate);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw fsError(err, 'moving a download into place');
      }
      await syncDir(dir);
      faultPoint('after-link');
      return candidate;
    }
    throw new PeershareError('INTERNAL', `no free name for ${name} in ${dir}`);
  }

  async dropPartial(partial: PartialFile): Promise<void> {
    faultPoint('before-unlink');
    await rm(partial.path, { force: true });
    await syncDir(dirname(partial.path));
    faultPoint('after-unlink');
  }

  async removePartial(dir: string, name: string, key: string): Promise<void> {
    await rm(partialPath(dir, key), { force: true });
    await rm(legacyPartialPath(dir, name, key), { force: true }).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
  }

  /** A partial file under the old long name is renamed to the short one (data folders of older versions). */
  async #adoptLegacy(dir: string, name: string, key: string): Promise<string> {
    const path = partialPath(dir, key);
    if (await exists(path)) return path;
    await rename(legacyPartialPath(dir, name, key), path).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
    return path;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: unknown) => {
      if (isMissing(err)) return false;
      throw err;
    },
  );
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b).catch(() => undefined)]);
  return sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
