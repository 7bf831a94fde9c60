/**
 * A fixed number of equal buffers, lent and given back: the chunks of a transfer that are being
 * received or written live in these, so its memory is bounded and the garbage collector has no
 * megabyte buffers to chase. A borrower that finds none free waits for one to come back.
 *
 * Each buffer starts on a BUFFER_ALIGNMENT boundary (`isAligned` tells), so the disk can take a
 * chunk straight from it (O_DIRECT, fs-download-files.ts) instead of the kernel copying it into
 * freshly allocated page cache, which was a third of a downloader's CPU. Node has no aligned
 * allocation; WebAssembly memory is mapped whole pages at a time, so buffers are carved from
 * slabs of it. Where WebAssembly is unavailable (--jitless) buffers are ordinary, and unaligned.
 */
export const BUFFER_ALIGNMENT = 4096;
/** Buffers are carved from WebAssembly memories of at most this size (or one buffer, if larger). */
const SLAB_BYTES = 16 * 1024 * 1024;
const WASM_PAGE = 64 * 1024;

type WasmMemory = new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
const wasmMemory = (globalThis as { WebAssembly?: { Memory: WasmMemory } }).WebAssembly?.Memory;
/** The backing memories that start on a page boundary. */
const alignedMemories = new WeakSet<ArrayBufferLike>();

/** Whether `view` starts on a `alignment` boundary (a buffer of a pool, or a part of one that does). */
export function isAligned(view: Uint8Array, alignment = BUFFER_ALIGNMENT): boolean {
  return alignedMemories.has(view.buffer) && view.byteOffset % alignment === 0;
}

/** A page-aligned memory of at least `bytes`, or undefined when WebAssembly cannot give one. */
function alignedMemory(bytes: number): ArrayBuffer | undefined {
  if (!wasmMemory) return undefined;
  try {
    const { buffer } = new wasmMemory({ initial: Math.ceil(bytes / WASM_PAGE) });
    alignedMemories.add(buffer);
    return buffer;
  } catch {
    return undefined; // too large for one WebAssembly memory, or address space refused
  }
}

export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Buffer[] = [];
  readonly #waiting: Array<(buffer: Buffer) => void> = [];
  #allocated = 0;
  /** Where the next buffer is carved from. */
  #slab: ArrayBuffer | undefined;
  #slabUsed = 0;

  constructor(size: number, max: number) {
    if (!(max >= 1)) throw new RangeError(`a pool needs at least one buffer, got ${max}`);
    this.size = size;
    this.#max = max;
  }

  /** Buffers allocated so far (never more than the maximum). */
  get allocated(): number {
    return this.#allocated;
  }

  /** A free buffer at once, or undefined when all are lent. */
  tryAcquire(): Buffer | undefined {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#allocated >= this.#max) return undefined;
    this.#allocated++;
    return this.#carve();
  }

  #carve(): Buffer {
    const stride = Math.ceil(this.size / BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT;
    if (!this.#slab || this.#slabUsed + stride > this.#slab.byteLength) {
      const left = this.#max - this.#allocated + 1; // counting this one
      this.#slab = alignedMemory(stride * Math.max(1, Math.min(left, Math.floor(SLAB_BYTES / stride))));
      this.#slabUsed = 0;
      if (!this.#slab) return Buffer.allocUnsafeSlow(this.size);
    }
    const buffer = Buffer.from(this.#slab, this.#slabUsed, this.size);
    this.#slabUsed += stride;
    return buffer;
  }

  /** A buffer as soon as one is free; rejects with the signal's reason if it aborts first. */
  acquire(signal: AbortSignal): Promise<Buffer> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiting.indexOf(give);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal.reason);
      };
      const give = (buffer: Buffer) => {
        signal.removeEventListener('abort', onAbort);
        resolve(buffer);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(give);
    });
  }

  release(buffer: Buffer): void {
    const next = this.#waiting.shift();
    if (next) next(buffer);
    else this.#free.push(buffer);
  }
}
