/**
 * When to dial a neighbour address again: exponential backoff with jitter after each failure
 * (refused, timed out, or a link that died), reset by a successful handshake. Jitter keeps a
 * network that lost a peer from re-dialling it in lockstep.
 */

export const DEFAULT_BACKOFF_BASE_MS = 1_000;
export const DEFAULT_BACKOFF_MAX_MS = 60_000;
/** Addresses remembered at most; the oldest is forgotten first (candidate lists are small anyway). */
const MAX_TRACKED = 4_096;

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export class Backoff {
  private readonly entries = new Map<string, { failures: number; retryAt: number }>();

  constructor(
    private readonly options: BackoffOptions,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Whether `address` may be dialled now. */
  ready(address: string): boolean {
    const entry = this.entries.get(address);
    return entry === undefined || entry.retryAt <= this.now();
  }

  /** A dial or link to `address` failed: wait longer before the next try. */
  fail(address: string): number {
    const failures = (this.entries.get(address)?.failures ?? 0) + 1;
    const exp = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(failures - 1, 30));
    const delay = Math.round(exp * (0.8 + 0.4 * this.random()));
    this.entries.delete(address);
    this.entries.set(address, { failures, retryAt: this.now() + delay });
    if (this.entries.size > MAX_TRACKED) this.entries.delete(this.entries.keys().next().value!);
    return delay;
  }

  /** A handshake over `address` succeeded: dial it at once next time. */
  succeed(address: string): void {
    this.entries.delete(address);
  }
}
