/** Transfer rate over a sliding window, and the ETA it implies. */

export class RateMeter {
  readonly #windowMs: number;
  readonly #samples: Array<[at: number, bytes: number]> = [];
  #total = 0;

  constructor(windowMs = 5_000) {
    this.#windowMs = windowMs;
  }

  add(bytes: number, now: number): void {
    this.#samples.push([now, bytes]);
    this.#total += bytes;
    this.#trim(now);
  }

  /** Bytes per second over the window ending at `now`. */
  rate(now: number): number {
    this.#trim(now);
    const first = this.#samples[0];
    if (!first) return 0;
    const span = Math.max(now - first[0], 250);
    return (this.#total * 1000) / span;
  }

  /** Seconds until `remaining` bytes are done at the current rate, or undefined when stalled. */
  eta(remaining: number, now: number): number | undefined {
    const rate = this.rate(now);
    return rate > 0 ? Math.ceil(remaining / rate) : undefined;
  }

  #trim(now: number): void {
    while (this.#samples.length > 0 && now - this.#samples[0]![0] > this.#windowMs) {
      this.#total -= this.#samples.shift()![1];
    }
  }
}
