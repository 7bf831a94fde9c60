/** A fixed-size set of chunk indexes, one bit each, that serializes to bytes for persistence. */

export class Bitfield {
  readonly size: number;
  readonly #bits: Uint8Array;
  #count = 0;

  constructor(size: number, bytes?: Uint8Array) {
    this.size = size;
    this.#bits = new Uint8Array(Math.ceil(size / 8));
    if (bytes && bytes.length === this.#bits.length) {
      this.#bits.set(bytes);
      for (let i = 0; i < size; i++) if (this.has(i)) this.#count++;
    }
  }

  get count(): number {
    return this.#count;
  }

  get complete(): boolean {
    return this.#count === this.size;
  }

  has(i: number): boolean {
    return (this.#bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  add(i: number): void {
    if (i < 0 || i >= this.size || this.has(i)) return;
    this.#bits[i >> 3]! |= 1 << (i & 7);
    this.#count++;
  }

  delete(i: number): void {
    if (!this.has(i)) return;
    this.#bits[i >> 3]! &= ~(1 << (i & 7));
    this.#count--;
  }

  /** Indexes in this set, in order. */
  *members(): Iterable<number> {
    for (let i = 0; i < this.size; i++) if (this.has(i)) yield i;
  }

  toBytes(): Buffer {
    return Buffer.from(this.#bits);
  }
}
