/**
 * A bandwidth cap shared by all the transfers of one direction: Download takes each range's byte
 * count before asking for it, File Management each buffer's before sending it to a peer. A take
 * may run the balance into debt (a 4 MiB request under a 1 MiB/s cap waits about 4 s), so any
 * size works and the average over time stays at the cap. The cap can change while transfers run
 * (`set`, from the CLI or the UI): waiting transfers are released and go on at the new rate.
 */
import { systemClock, type Cancel, type Clock } from './clock.ts';

export interface Throttle {
  /** Whether a cap is set now; without one, `take` resolves at once and a hot path need not ask it. */
  readonly capped: boolean;
  /** Resolves when `bytes` may be moved (at once when there is no cap); rejects if `signal` aborts first. */
  take(bytes: number, signal: AbortSignal): Promise<void>;
}

export const UNLIMITED: Throttle = { capped: false, take: async () => undefined };

interface Waiter {
  resolve(): void;
  cancel: Cancel;
}

export class RateLimit implements Throttle {
  #rate = 0;
  #balance = 0;
  #updatedAt: number;
  readonly #waiters = new Set<Waiter>();

  /** `bytesPerSecond` 0: no cap. */
  constructor(
    bytesPerSecond: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.#updatedAt = clock.now();
    this.set(bytesPerSecond);
  }

  /** The cap in bytes per second; 0 for none. */
  get bytesPerSecond(): number {
    return this.#rate;
  }

  get capped(): boolean {
    return this.#rate > 0;
  }

  /** Change the cap (0: none). Transfers waiting under the old cap go on now, and at the new rate from here. */
  set(bytesPerSecond: number): void {
    this.#rate = bytesPerSecond > 0 ? bytesPerSecond : 0;
    // A burst of up to one second's worth after a change, as after an idle spell; debts are forgiven.
    this.#balance = this.#rate;
    this.#updatedAt = this.clock.now();
    for (const waiter of this.#waiters) {
      waiter.cancel();
      waiter.resolve();
    }
    this.#waiters.clear();
  }

  take(bytes: number, signal: AbortSignal): Promise<void> {
    const rate = this.#rate;
    if (rate === 0) return Promise.resolve();
    const t = this.clock.now();
    this.#balance = Math.min(rate, this.#balance + ((t - this.#updatedAt) / 1000) * rate);
    this.#updatedAt = t;
    this.#balance -= bytes;
    if (this.#balance >= 0) return Promise.resolve();
    const waitMs = (-this.#balance / rate) * 1000;
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#waiters.delete(waiter);
        signal.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: () => {
          done();
          resolve();
        },
        cancel: this.clock.schedule(waitMs, () => waiter.resolve()),
      };
      const onAbort = () => {
        waiter.cancel();
        done();
        reject(signal.reason);
      };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
