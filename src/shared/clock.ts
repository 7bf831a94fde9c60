/**
 * Time, for every domain: injected, so that Search and Fetch run unchanged in tests and in the
 * simulator (src/sim), where one simulated clock drives thousands of peers.
 */

/** Cancels a scheduled callback. */
export type Cancel = () => void;

/** A reading of monotonic milliseconds: what a cache, a rate limit or a deadline needs. */
export type Now = () => number;

export interface Clock {
  /** Milliseconds, monotonic enough for deadlines, rates and ages measured on this peer. */
  now(): number;
  /** Wall-clock milliseconds since the epoch: for times other peers read (a record's or a push's issuedAt). */
  epochMs(): number;
  /** Run `fn` once after `ms`; the returned function cancels it. */
  schedule(ms: number, fn: () => void): Cancel;
}

/** The part of the clock for times that are signed and compared across peers (Fetch's records). */
export type WallClock = Pick<Clock, 'epochMs'>;

/** The machine's clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  epochMs: () => Date.now(),
  schedule(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
