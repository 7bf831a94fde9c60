/**
 * A byte range of an open file. It is a Readable, each read a new buffer as fs streams make, for
 * whoever pipes it; the HTTP adapter instead sends it from a few buffers it reuses (`readInto`,
 * http/send-file-range.ts). Serving a file at hundreds of megabytes a second, a fresh megabyte
 * buffer per read had the source's garbage collector mark its whole heap every few dozen
 * megabytes (up to a third of its CPU) and the kernel map fresh pages for every read.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export class FileRange extends Readable {
  readonly #handle: FileHandle;
  readonly #end: number;
  readonly #readSize: number;
  #position: number;

  /** Bytes start..end (inclusive) of the file open as `handle`, which the range closes when it is destroyed or ends. */
  constructor(handle: FileHandle, start: number, end: number, highWaterMark: number) {
    super({ highWaterMark });
    this.#handle = handle;
    this.#position = start;
    this.#end = end + 1;
    this.#readSize = highWaterMark;
  }

  /** Bytes of the range not read yet. */
  get remaining(): number {
    return this.#end - this.#position;
  }

  /**
   * Read the range's next bytes, as many as `buffer` holds or remain, into `buffer`: how many
   * landed (0 at its end; fewer than asked only where the file ends first). The bytes are the
   * range's next from the moment of the call, so reads may run side by side, each at its own
   * offset (`remaining` counts them as read). Not while the range is read as a stream.
   */
  readInto(buffer: Uint8Array): Promise<number> {
    const want = Math.min(buffer.length, this.remaining);
    if (want <= 0) return Promise.resolve(0);
    const position = this.#position;
    this.#position += want;
    return this.#handle.read(buffer, 0, want, position).then(({ bytesRead }) => bytesRead);
  }

  override _read(): void {
    const buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(this.#readSize, this.remaining)));
    this.readInto(buffer).then(
      (n) => void this.push(n === 0 ? null : buffer.subarray(0, n)),
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#handle.close().then(
      () => callback(err),
      (closeErr: Error) => callback(err ?? closeErr),
    );
  }
}
