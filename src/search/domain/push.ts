/**
 * PUSH (protocol feature "push", docs/PROTOCOL.md §6a): a requester asks a firewalled holder —
 * one that proved its key but cannot be dialled (behind a NAT) — to connect back to the
 * requester's File Management port and serve the file over the connection it opened. Pure rules,
 * no I/O:
 *   - PushRoutes: where a push for a holder goes. Every Hit that passes through (or reaches) this
 *     peer teaches "holder H is that way" (the link the Hit came in on), as Gnutella's servent-id
 *     routing does; a link to H itself wins over a learned route. Bounded and expiring, since
 *     hits come from the network.
 *   - PushRouter: deliver (the push is for us), forward one link closer (ttl - 1, never back over
 *     the link it came on), or drop (duplicate, ttl exhausted, no route).
 *   - ConnectBackGuard: what the holder checks before it dials anyone. The requester must be a
 *     peer its own membership verified, and the push must name exactly the files address of that
 *     peer's record: the holder dials only that address, pinned to that id, so a push cannot aim
 *     it at a bystander. At most perRequesterPerMinute per requester and perMinute in all.
 *   - PushSendLimit: the requester's own bound, per holder per minute.
 * Before any of the guard's checks, the Search engine hands on a push for this peer only if its
 * requester signed it within the window (push-signature.ts), so a third peer cannot name a
 * verified requester and have this peer connect to it unasked.
 */
import { ExpiringLru } from './expiring-lru.ts';
import { queryKey, type LinkId } from './flood-router.ts';

export interface PushSettings {
  /** Pushes one requester may have this peer connect back for, per minute. */
  perRequesterPerMinute: number;
  /** Pushes this peer connects back for per minute, all requesters together. */
  perMinute: number;
  /** Pushes this peer sends per holder per minute. */
  sendPerHolderPerMinute: number;
  /** Links a push may cross (clamped like a query's TTL). */
  maxTtl: number;
  /** Holder routes learned from hits: kept at most, and for how long. */
  maxRoutes: number;
  routeTtlMs: number;
  /** Push ids remembered to drop duplicates; seenTtlMs covers the whole window a signed push is accepted in (maxAgeMs + 2 × clockSkewMs), so a copy replayed within it is a duplicate. */
  maxSeen: number;
  seenTtlMs: number;
  /** A push for this peer signed longer ago than this (plus the skew) is ignored (push-signature.ts). */
  maxAgeMs: number;
  /** How far the requester's clock may be from ours, either way. */
  clockSkewMs: number;
}

export const DEFAULT_PUSH_SETTINGS: Readonly<PushSettings> = Object.freeze({
  perRequesterPerMinute: 6,
  perMinute: 60,
  sendPerHolderPerMinute: 6,
  maxTtl: 7,
  maxRoutes: 10_000,
  routeTtlMs: 10 * 60_000,
  maxSeen: 10_000,
  seenTtlMs: 2 * 60_000,
  maxAgeMs: 60_000,
  clockSkewMs: 30_000,
});

const MINUTE_MS = 60_000;

/** What a push carries, as the router and the guard read it. */
export interface PushFields {
  targetPeerId: string;
  requesterPeerId: string;
  requesterFilesAddress: string;
  fileId: string;
  nonce: Uint8Array;
  ttl: number;
}

/** The network-wide name of a push: its nonce and its requester. */
export function pushKey(push: Pick<PushFields, 'nonce' | 'requesterPeerId'>): string {
  return queryKey(push.nonce, push.requesterPeerId);
}

/** Holder peer id → the link its hits came in on. */
export class PushRoutes {
  private readonly routes: ExpiringLru<string, LinkId>;

  constructor(settings: Pick<PushSettings, 'maxRoutes' | 'routeTtlMs'>, now: () => number) {
    this.routes = new ExpiringLru(settings.maxRoutes, settings.routeTtlMs, now);
  }

  /** A Hit of `holder` came in over `link`. */
  learn(holder: string, link: LinkId): void {
    this.routes.set(holder, link);
  }

  routeTo(holder: string): LinkId | undefined {
    return this.routes.get(holder);
  }
}

export type PushDecision =
  | { action: 'deliver' }
  | { action: 'forward'; to: LinkId; ttl: number }
  | { action: 'drop'; reason: 'duplicate' | 'ttl-exhausted' | 'no-route' };

export class PushRouter {
  readonly routes: PushRoutes;
  private readonly seen: ExpiringLru<string, true>;

  constructor(
    private readonly settings: PushSettings,
    private readonly selfId: string,
    now: () => number,
  ) {
    this.routes = new PushRoutes(settings, now);
    this.seen = new ExpiringLru(settings.maxSeen, settings.seenTtlMs, now);
  }

  /** The ttl a push starts with. */
  get maxTtl(): number {
    return this.settings.maxTtl;
  }

  /** A push we start ourselves: the link toward `target`, or undefined (no route: nobody to ask). */
  originate(
    push: Pick<PushFields, 'targetPeerId' | 'nonce' | 'requesterPeerId'>,
    linkTo: (peerId: string) => LinkId | undefined,
  ): LinkId | undefined {
    this.seen.set(pushKey(push), true);
    return linkTo(push.targetPeerId) ?? this.routes.routeTo(push.targetPeerId);
  }

  /**
   * A push arrived over `from` (undefined: from ourselves): deliver it, forward it toward its
   * target (a link to the target itself first, then the route its hits taught), or drop it.
   */
  receive(from: LinkId | undefined, push: PushFields, linkTo: (peerId: string) => LinkId | undefined): PushDecision {
    const key = pushKey(push);
    if (this.seen.get(key)) return { action: 'drop', reason: 'duplicate' };
    this.seen.set(key, true);
    if (push.targetPeerId === this.selfId) return { action: 'deliver' };
    const ttl = Math.min(push.ttl, this.settings.maxTtl) - 1;
    if (ttl <= 0 && linkTo(push.targetPeerId) === undefined) return { action: 'drop', reason: 'ttl-exhausted' };
    const to = linkTo(push.targetPeerId) ?? this.routes.routeTo(push.targetPeerId);
    if (to === undefined || to === from) return { action: 'drop', reason: 'no-route' };
    return { action: 'forward', to, ttl: Math.max(ttl, 0) };
  }
}

export type ConnectBackVerdict = 'connect' | 'unverified-requester' | 'address-mismatch' | 'rate-limited';

/** A per-key count in one-minute windows, with a bound on the keys held per window. */
class MinuteCounts {
  private window = { start: -Infinity, counts: new Map<string, number>(), total: 0 };

  constructor(private readonly maxKeys: number) {}

  /** Take one for `key` unless it is at `perKey` or the window at `total`; false: refused. */
  take(key: string, perKey: number, total: number, now: number): boolean {
    if (now - this.window.start >= MINUTE_MS) this.window = { start: now, counts: new Map(), total: 0 };
    const used = this.window.counts.get(key) ?? 0;
    if (used >= perKey || this.window.total >= total) return false;
    if (!this.window.counts.has(key) && this.window.counts.size >= this.maxKeys) return false;
    this.window.counts.set(key, used + 1);
    this.window.total++;
    return true;
  }
}

/** The holder's checks before it connects back (see the module comment). */
export class ConnectBackGuard {
  private readonly counts = new MinuteCounts(1_024);
  readonly counters = { connect: 0, unverifiedRequester: 0, addressMismatch: 0, rateLimited: 0 };

  constructor(private readonly settings: Pick<PushSettings, 'perRequesterPerMinute' | 'perMinute'>) {}

  /**
   * `verifiedFilesAddress`: the files address of the requester's record in this peer's verified
   * membership (undefined: not a verified peer). The push must name exactly it.
   */
  admit(
    push: Pick<PushFields, 'requesterPeerId' | 'requesterFilesAddress'>,
    verifiedFilesAddress: string | undefined,
    now: number,
  ): ConnectBackVerdict {
    let verdict: ConnectBackVerdict;
    if (verifiedFilesAddress === undefined) verdict = 'unverified-requester';
    else if (push.requesterFilesAddress !== verifiedFilesAddress) verdict = 'address-mismatch';
    else if (!this.counts.take(push.requesterPeerId, this.settings.perRequesterPerMinute, this.settings.perMinute, now))
      verdict = 'rate-limited';
    else verdict = 'connect';
    const field =
      verdict === 'connect'
        ? 'connect'
        : verdict === 'unverified-requester'
          ? 'unverifiedRequester'
          : verdict === 'address-mismatch'
            ? 'addressMismatch'
            : 'rateLimited';
    this.counters[field]++;
    return verdict;
  }
}

/** The requester's bound: pushes per holder per minute. */
export class PushSendLimit {
  private readonly counts = new MinuteCounts(10_000);

  constructor(private readonly settings: Pick<PushSettings, 'sendPerHolderPerMinute'>) {}

  take(holder: string, now: number): boolean {
    return this.counts.take(holder, this.settings.sendPerHolderPerMinute, Number.MAX_SAFE_INTEGER, now);
  }
}
