/**
 * The flood rules of search, as pure decisions (no sockets, no timers): what to do with a query
 * that arrives on a link, with one this peer starts, and with a hit coming back. The Search
 * service carries the decisions out; the same class can run inside a simulator.
 *
 * TTL and hops follow Gnutella: the sender sets ttl (links the query may still cross) and hops
 * (links already crossed); each receiver counts the link it came over (hops + 1 = its distance
 * from the origin) and forwards with ttl - 1, hops + 1 while ttl - 1 > 0. TTLs are clamped so a
 * query never travels beyond `maxTtl` links from its origin, whatever the sender asked.
 *
 * Copies are forwarded as they arrive, so the first copy of a query may come the long way with
 * less TTL left than a later one. A later copy that may still go further than every copy before
 * it is forwarded again with its TTL (but not matched again, and its hits still go back the way
 * the first copy came): otherwise the peers beyond this one would be cut off from a query they
 * are within TTL of (docs/PROTOCOL.md "Flood order"). The TTLs compared are clamped, and each
 * re-forward needs a strictly higher one, so a peer forwards one query at most `maxTtl` − 1 times.
 */
import type { Now } from '../../shared/clock.ts';
import { SEARCH_DEFAULTS } from '../../shared/defaults.ts';
import { ExpiringLru } from './expiring-lru.ts';
import { SeenCache } from './seen-cache.ts';

/** Identifies a neighbour link inside this peer (not an address: the router never dials). */
export type LinkId = string;

/** Where hits for a query go: back over a link, or to this peer's own search. */
export type ReverseRoute = { kind: 'link'; link: LinkId } | { kind: 'local' };

export const DEFAULT_MAX_TTL = SEARCH_DEFAULTS.maxTtl;
export const DEFAULT_ROUTE_CAPACITY = 100_000;
/** Longer than any search deadline: a hit arriving later has nobody waiting for it. */
export const DEFAULT_ROUTE_TTL_MS = 60_000;

/**
 * Forward a copy again only while the best copy before it had fewer links left than this: 2, a
 * first copy that came with 0 or 1 left, at the flood's rim. At 10,000 simulated peers (degree 8,
 * TTL 5, no route tables) this closes the gap as re-forwarding any higher copy does (1 of 1,806
 * holders within reach missed, against 172 with no re-forwards, docs/SCALE.md) for the same
 * messages, while on 100 peers with TTL to spare, where first copies always arrive with 3 or
 * more left, nothing goes twice (any higher copy cost 1.27× the flood's messages there).
 */
export const DEFAULT_REFORWARD_BELOW = 2;

export interface FloodRouterOptions {
  readonly now: Now;
  readonly maxTtl?: number;
  readonly seenCapacity?: number;
  readonly seenTtlMs?: number;
  readonly routeCapacity?: number;
  readonly routeTtlMs?: number;
  /**
   * Forward again a copy with more TTL than any before it (default). False: the flood before
   * issue 17, where every copy after the first is dropped; kept to measure the difference
   * (the simulator's `--reforward 0`).
   */
  readonly reforward?: boolean;
  /**
   * Forward a copy again only while the best copy before it had fewer than this many links left
   * (default DEFAULT_REFORWARD_BELOW; `maxTtl` + 1: any). A first copy with TTL to spare already
   * reaches what the graph holds within it; the gap is at a flood's rim.
   */
  readonly reforwardBelow?: number;
}

/** The parts of a query the router looks at; `key` identifies it network-wide (see queryKey). */
export interface FloodQuery {
  readonly key: string;
  readonly ttl: number;
  readonly hops: number;
}

export interface Forward {
  readonly to: readonly LinkId[];
  readonly ttl: number;
  readonly hops: number;
}

export type QueryDecision =
  | { readonly action: 'drop'; readonly reason: 'duplicate' | 'too-many-hops' | 'ttl-exhausted' }
  /** Match locally (hits carry `hops`: this peer's distance from the origin), then forward. */
  | { readonly action: 'accept'; readonly hops: number; readonly forward: Forward | undefined }
  /** A query handled before, in a copy that may go further than any before it: forward only, no second match. */
  | { readonly action: 'reforward'; readonly forward: Forward };

export type HitDecision =
  | { readonly action: 'deliver' }
  | { readonly action: 'forward'; readonly to: LinkId }
  | { readonly action: 'drop'; readonly reason: 'no-route' | 'from-route-link' };

/** The network-wide key of a query id: its 16 random bytes (hex) and its origin peer id. */
export function queryKey(nonce: Uint8Array, originPeerId: string): string {
  let hex = '';
  for (const byte of nonce) hex += byte.toString(16).padStart(2, '0');
  return `${hex}@${originPeerId}`;
}

export class FloodRouter {
  readonly maxTtl: number;
  private readonly reforward: boolean;
  private readonly reforwardBelow: number;
  private readonly seen: SeenCache;
  private readonly routes: ExpiringLru<string, ReverseRoute>;

  constructor(options: FloodRouterOptions) {
    this.maxTtl = options.maxTtl ?? DEFAULT_MAX_TTL;
    if (!Number.isInteger(this.maxTtl) || this.maxTtl < 1) throw new RangeError('maxTtl must be an integer >= 1');
    this.reforward = options.reforward ?? true;
    this.reforwardBelow = options.reforwardBelow ?? DEFAULT_REFORWARD_BELOW;
    this.seen = new SeenCache({ capacity: options.seenCapacity, ttlMs: options.seenTtlMs, now: options.now });
    this.routes = new ExpiringLru(
      options.routeCapacity ?? DEFAULT_ROUTE_CAPACITY,
      options.routeTtlMs ?? DEFAULT_ROUTE_TTL_MS,
      options.now,
    );
  }

  /** A search started here: remember it (so echoes are dropped and hits delivered) and flood it. */
  originate(key: string, ttl: number, links: readonly LinkId[]): Forward {
    // Above any TTL a copy can arrive with: an echo of our own query is never forwarded again.
    this.seen.sight(key, this.maxTtl);
    this.routes.set(key, { kind: 'local' });
    return { to: [...links], ttl: Math.min(Math.max(1, Math.floor(ttl)), this.maxTtl), hops: 0 };
  }

  /** A query arrived over link `from`; `links` are all current links, `from` among them or not. */
  receive(from: LinkId, query: FloodQuery, links: readonly LinkId[]): QueryDecision {
    if (query.ttl < 1) return { action: 'drop', reason: 'ttl-exhausted' };
    const distance = query.hops + 1;
    // Checked before the seen-cache so out-of-bounds queries cannot push honest ids out of it.
    if (distance > this.maxTtl) return { action: 'drop', reason: 'too-many-hops' };
    // What this copy may still cross: the sender's TTL, within what the clamp leaves from the origin.
    const remaining = Math.min(Math.min(query.ttl, this.maxTtl) - 1, this.maxTtl - distance);
    const before = this.seen.best(query.key);
    // Who sent which TTL matters only while a copy may still be forwarded again (reforwardTo):
    // most queries are first seen with TTL to spare, and their entries stay small.
    const mayReforward = this.reforward && (before ?? remaining) < this.reforwardBelow;
    const heard = mayReforward ? { link: from, sent: Math.min(query.ttl, this.maxTtl) } : undefined;
    const sighting = this.seen.sight(query.key, remaining, heard);
    if (sighting === 'higher' && this.reforward && before !== undefined && before < this.reforwardBelow) {
      const again = this.reforwardTo(query.key, remaining, from, links);
      if (again.length > 0) return { action: 'reforward', forward: { to: again, ttl: remaining, hops: distance } };
    }
    if (sighting !== 'first') return { action: 'drop', reason: 'duplicate' };
    const to = links.filter((link) => link !== from);
    const forward = remaining > 0 && to.length > 0 ? { to, ttl: remaining, hops: distance } : undefined;
    this.routes.set(query.key, { kind: 'link', link: from });
    return { action: 'accept', hops: distance, forward };
  }

  /**
   * Where a copy forwarded again with `ttl` goes: every link but `from`, except those whose
   * neighbour sent us a copy with `ttl` − 1 or more. It forwarded that copy with that TTL, so it
   * has seen the query with at least as much as ours would leave it, and would drop ours: the
   * peers reached are the same, for fewer messages.
   */
  private reforwardTo(key: string, ttl: number, from: LinkId, links: readonly LinkId[]): LinkId[] {
    return links.filter((link) => {
      const heard = link === from ? Infinity : this.seen.heardFrom(key, link);
      return heard === undefined || heard < ttl - 1;
    });
  }

  /**
   * A hit for `key` arrived over `from` (or `undefined`: produced by this peer's own matcher).
   * It goes only where the query came from; addresses inside the query or hit are never used.
   */
  routeHit(from: LinkId | undefined, key: string): HitDecision {
    const route = this.routes.get(key);
    if (route === undefined) return { action: 'drop', reason: 'no-route' };
    if (route.kind === 'local') return { action: 'deliver' };
    // A hit from the very link the query came over would go straight back: a loop or a forgery.
    if (from === route.link) return { action: 'drop', reason: 'from-route-link' };
    return { action: 'forward', to: route.link };
  }

  /** Sizes, for metrics and for tests that check the bounds hold. */
  get stats(): { seen: number; routes: number } {
    return { seen: this.seen.size, routes: this.routes.size };
  }
}
