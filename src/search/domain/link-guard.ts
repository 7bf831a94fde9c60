/**
 * Per-neighbour admission of queries: each neighbour has a token bucket for the queries it sends
 * us. A query over the limit is dropped; a neighbour that keeps going over it spends a second
 * bucket of "strikes", and once that is empty it is flooding on purpose and the link should close.
 * Honest bursts refill both buckets; only a sustained flood runs the strikes out.
 *
 * The state belongs to the neighbour, not the link: it is kept per peer id (the one TLS proved)
 * and, once a neighbour has gone over its limit, per remote address too, in bounded maps whose
 * entries expire `memoryMs` after their last link closed. So reconnecting, with the same identity
 * or a fresh one from the same address, does not buy a new burst; honest peers that share an
 * address keep a state each as long as they stay within the limit.
 */
import type { Now } from '../../shared/clock.ts';
import { ExpiringLru } from './expiring-lru.ts';
import type { LinkId } from './flood-router.ts';
import { DEFAULT_QUERY_BURST, DEFAULT_QUERY_RATE_PER_SECOND, TokenBucket } from './token-bucket.ts';

/** Over-limit queries tolerated in a burst, and forgiven per second, before a link is cut. */
export const DEFAULT_STRIKE_BURST = 200;
export const DEFAULT_STRIKES_FORGIVEN_PER_SECOND = 10;
/** Neighbours whose rate state is remembered after their link closed, and for how long. */
export const DEFAULT_RATE_MEMORY_ENTRIES = 10_000;
export const DEFAULT_RATE_MEMORY_MS = 10 * 60_000;

export interface RateLimits {
  readonly queriesPerSecond: number;
  readonly queryBurst: number;
  readonly strikeBurst: number;
  readonly strikesForgivenPerSecond: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  queriesPerSecond: DEFAULT_QUERY_RATE_PER_SECOND,
  queryBurst: DEFAULT_QUERY_BURST,
  strikeBurst: DEFAULT_STRIKE_BURST,
  strikesForgivenPerSecond: DEFAULT_STRIKES_FORGIVEN_PER_SECOND,
};

export type Admission = 'admit' | 'drop' | 'disconnect';

/** Who sent a query: the link's proven peer id and remote address. */
export interface Sender {
  readonly peerId: string;
  readonly remoteIp: string;
}

interface RateState {
  readonly queries: TokenBucket;
  readonly strikes: TokenBucket;
}

export interface RateMemory {
  readonly entries: number;
  readonly ms: number;
}

export class LinkGuard {
  private readonly byLink = new Map<LinkId, { state: RateState; sender: Sender | undefined }>();
  private readonly byPeer: ExpiringLru<string, RateState>;
  private readonly byAddress: ExpiringLru<string, RateState>;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: Now,
    memory: RateMemory = { entries: DEFAULT_RATE_MEMORY_ENTRIES, ms: DEFAULT_RATE_MEMORY_MS },
  ) {
    this.byPeer = new ExpiringLru(memory.entries, memory.ms, now);
    this.byAddress = new ExpiringLru(memory.entries, memory.ms, now);
  }

  /** Whether a query arriving over `link` from `sender` may be handled. */
  admit(link: LinkId, sender?: Sender): Admission {
    let held = this.byLink.get(link);
    if (!held) {
      held = { state: this.stateOf(sender), sender };
      this.byLink.set(link, held);
      if (sender) this.byPeer.set(sender.peerId, held.state);
    }
    const { queries, strikes } = held.state;
    if (queries.take()) return 'admit';
    // Over the limit: a new identity from this address inherits what this one has spent.
    if (held.sender) this.byAddress.set(held.sender.remoteIp, held.state);
    return strikes.take() ? 'drop' : 'disconnect';
  }

  /** A link closed: its state stays remembered (from now on) for its peer and address. */
  forget(link: LinkId): void {
    const held = this.byLink.get(link);
    if (!held) return;
    this.byLink.delete(link);
    if (!held.sender) return;
    this.byPeer.set(held.sender.peerId, held.state);
    if (this.byAddress.get(held.sender.remoteIp) === held.state) this.byAddress.set(held.sender.remoteIp, held.state);
  }

  private stateOf(sender: Sender | undefined): RateState {
    const known = sender && (this.byPeer.get(sender.peerId) ?? this.byAddress.get(sender.remoteIp));
    if (known) return known;
    const { queryBurst, queriesPerSecond, strikeBurst, strikesForgivenPerSecond } = this.limits;
    return {
      queries: new TokenBucket(queryBurst, queriesPerSecond, this.now),
      strikes: new TokenBucket(strikeBurst, strikesForgivenPerSecond, this.now),
    };
  }
}
