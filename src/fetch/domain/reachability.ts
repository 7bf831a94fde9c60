/**
 * Learning the address to advertise, for a peer bound to a wildcard with none given: every sync
 * answer says which address the answerer saw the request come from ("observed", as libp2p's
 * identify and BitTorrent's yourip do). An observed address is only a claim of that answerer, so
 * before advertising it this peer asks the answerer to dial it back there (at the source address
 * of that very request, never an address anyone names); the address is advertised once a
 * dial-back proved it reachable. A failed dial-back means this peer cannot be reached from
 * outside (NAT, firewall): it still syncs, searches and downloads over its own connections.
 * Loopback observations only say the answerer shares this host: nothing to learn.
 *
 * And the other side: a peer asked for dial-backs does at most a few per asking host per minute
 * and a few at once (DialBackLimiter), so the route cannot be used to make it dial anything much.
 */
import { isLoopbackHost } from '../../shared/address.ts';

/** Rounds before an address that failed a dial-back (or a changed observation) is checked again. */
export const RECHECK_ROUNDS = 10;
/** Dial-backs one host may ask for per minute. */
export const DIAL_BACKS_PER_HOST_PER_MINUTE = 4;
/** Dial-backs in flight at once, all hosts together. */
export const MAX_DIAL_BACKS_IN_FLIGHT = 4;
/** Hosts remembered within one minute's window; more distinct askers are refused until it turns. */
export const MAX_DIAL_BACK_HOSTS = 1_024;

const MINUTE_MS = 60_000;

export type Reachability =
  /** The advertised address was given (--advertise) or is the bound one: not checked. */
  | { state: 'configured'; address?: string }
  /** Bound to a wildcard, no answer from another host yet. */
  | { state: 'learning' }
  /** A peer on another host dialled this peer back at `address`. */
  | { state: 'reachable'; address: string; confirmedBy: string; round: number }
  /** The last dial-back to `address` failed: other hosts cannot open connections to this peer. */
  | { state: 'unreachable'; address: string; checkedBy: string; round: number };

export class AddressLearner {
  #status: Reachability;
  #checking = false;
  #lastCheck = -Infinity;

  constructor(learn: boolean) {
    this.#status = learn ? { state: 'learning' } : { state: 'configured' };
  }

  get status(): Reachability {
    return this.#status;
  }

  /** An answer saw this peer at `observed`: whether to ask its sender for a dial-back now. */
  shouldCheck(observed: string | undefined, round: number): boolean {
    const s = this.#status;
    if (s.state === 'configured' || this.#checking || observed === undefined || isLoopbackHost(observed)) return false;
    if (s.state === 'reachable' && s.address === observed) return false;
    // A new observation of a reachable peer (it moved) is checked at once; a failure waits.
    if (s.state !== 'reachable' && round - this.#lastCheck < RECHECK_ROUNDS) return false;
    this.#checking = true;
    this.#lastCheck = round;
    return true;
  }

  /**
   * The dial-back asked of `by` is done: whether it reached this peer at `observed`. Returns the
   * address to advertise from now on, if it changes. An unreachable peer advertises the address
   * others see it at too: they probe it, fail, and hold it *firewalled* (never dialled, reachable
   * only by connect-back), which a record naming this host's loopback could never be.
   */
  checked(observed: string, reachable: boolean, by: string, round: number): string | undefined {
    this.#checking = false;
    if (!reachable) {
      // A reachable address that one peer could not dial back stays advertised: that peer's path may be the fault.
      if (this.#status.state === 'reachable') return undefined;
      const moved = this.#status.state !== 'unreachable' || this.#status.address !== observed;
      this.#status = { state: 'unreachable', address: observed, checkedBy: by, round };
      return moved ? observed : undefined;
    }
    const changed = this.#status.state !== 'reachable' || this.#status.address !== observed;
    this.#status = { state: 'reachable', address: observed, confirmedBy: by, round };
    return changed ? observed : undefined;
  }

  /** Something changed that may make this peer reachable (the router now forwards its ports): check the next observation at once. */
  recheckSoon(): void {
    if (this.#status.state !== 'reachable') this.#lastCheck = -Infinity;
  }

  /** The dial-back could not be asked (the answerer refused or did not answer): try again later. */
  failed(): void {
    this.#checking = false;
  }
}

/** The answering side's bound on dial-backs: per asking host per minute, and in flight. */
export class DialBackLimiter {
  #window = { start: -Infinity, perHost: new Map<string, number>() };
  #inFlight = 0;

  /** Take a slot for `host` at `now`; false: refused (too many from it, or at once). */
  take(host: string, now: number): boolean {
    if (now - this.#window.start >= MINUTE_MS) this.#window = { start: now, perHost: new Map() };
    const { perHost } = this.#window;
    const used = perHost.get(host) ?? 0;
    if (this.#inFlight >= MAX_DIAL_BACKS_IN_FLIGHT || used >= DIAL_BACKS_PER_HOST_PER_MINUTE) return false;
    if (!perHost.has(host) && perHost.size >= MAX_DIAL_BACK_HOSTS) return false;
    perHost.set(host, used + 1);
    this.#inFlight++;
    return true;
  }

  /** A dial-back taken with take() is over. */
  release(): void {
    this.#inFlight--;
  }
}
