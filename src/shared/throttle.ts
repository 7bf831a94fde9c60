/**
 * The optional bandwidth cap of the Download service: every range request takes its byte
 * count first, and waits while the service is over its rate. Requests may run the balance into
 * debt (a 4 MiB request under a 1 MiB/s cap waits about 4 s), so any request size works; the
 * average over time stays at the cap. One throttle is shared by every download of a peer.
 */

export interface Throttle {
  /** Resolves when `bytes` may be fetched (at once when there is no cap); rejects if `signal` aborts first. */
  take(bytes: number, signal: AbortSignal): Promise<void>;
}

export const UNLIMITED: Throttle = { take: async () => undefined };

export function rateLimit(bytesPerSecond: number, now: () => number = Date.now): Throttle {
  if (!(bytesPerSecond > 0)) return UNLIMITED;
  // A burst of up to one second's worth is allowed after an idle spell, no more.
  let balance = bytesPerSecond;
  let updatedAt = now();
  return {
    take(bytes, signal) {
      const t = now();
      balance = Math.min(bytesPerSecond, balance + ((t - updatedAt) / 1000) * bytesPerSecond);
      updatedAt = t;
      balance -= bytes;
      if (balance >= 0) return Promise.resolve();
      const waitMs = (-balance / bytesPerSecond) * 1000;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, waitMs);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
