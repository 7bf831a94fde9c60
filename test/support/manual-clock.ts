/**
 * A Clock (src/shared/clock.ts) that moves only when the test says: scheduled callbacks run, in
 * time order, as `advance` passes their time. Lets a test count a deadline without waiting for it.
 */
import type { Cancel, Clock } from '../../src/shared/clock.ts';

interface Timer {
  at: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #t = 0;
  readonly #timers: Timer[] = [];

  constructor(readonly epochStart = 1_700_000_000_000) {}

  now(): number {
    return this.#t;
  }

  epochMs(): number {
    return this.epochStart + this.#t;
  }

  schedule(ms: number, fn: () => void): Cancel {
    const timer: Timer = { at: this.#t + Math.max(0, ms), fn, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Move `ms` forward, running every timer due on the way in time order; after each, pending
   * promise callbacks run (a macrotask turn), so what a timer starts can schedule the next.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#t + ms;
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#timers.sort((a, b) => a.at - b.at);
      const i = this.#timers.findIndex((t) => !t.cancelled && t.at <= until);
      if (i < 0) break;
      const [timer] = this.#timers.splice(i, 1);
      this.#t = Math.max(this.#t, timer!.at);
      timer!.fn();
    }
    this.#t = until;
    for (let i = this.#timers.length - 1; i >= 0; i--) if (this.#timers[i]!.cancelled) this.#timers.splice(i, 1);
  }
}
