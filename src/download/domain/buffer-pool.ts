/**
 * A fixed number of equal buffers, lent and given back: the chunks of a transfer that are being
 * received or written live in these, so its memory is bounded and the garbage collector has no
 * megabyte buffers to chase. A borrower that finds none free waits for one to come back.
 */
export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Buffer[] = [];
  readonly #waiting: Array<(buffer: Buffer) => void> = [];
  #allocated = 0;

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
    return Buffer.allocUnsafeSlow(this.size);
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
