/**
 * Which inbound link makes room when every inbound slot is taken and another peer wants one
 * (docs/PROTOCOL.md §8). An eclipse attacker holds slots with links that carry nothing (no query
 * we handled, no hit we delivered or passed on) and keeps opening more from the few addresses it
 * has. So:
 * - a link that carried something useful within `protectUsefulMs` is never evicted;
 * - of the rest, the victim comes from the subnet (every 127.x address its own) that holds the
 *   most inbound links; among subnets holding as many, the one that opened the most connections
 *   to us lately (the attacker keeps knocking, an honest peer knocks once); within it, the
 *   youngest link (the longest-lived links are the ones an attacker is least likely to have made);
 * - a newcomer evicts only if its own subnet holds fewer inbound links than the victim's, and,
 *   when that is by one link only, if it has knocked less often than the victim's subnet: a fresh
 *   host gets in, an attacker's next link only ever displaces the attacker, and among honest
 *   peers, one link each and knocking once, nobody displaces anybody (no churn in a quiet network).
 * Pure: the link manager gives the facts and closes the link named.
 */

export interface InboundLinkFacts {
  readonly id: string;
  /** The subnet key of its remote address (shared/address.ts). */
  readonly subnet: string;
  /** When it came up (ms, any monotonic clock shared with `now`). */
  readonly since: number;
  /** When it last carried something useful; undefined if it never did. */
  readonly usefulAt?: number | undefined;
}

export const DEFAULT_PROTECT_USEFUL_MS = 10 * 60_000;

export interface EvictionContext {
  readonly now: number;
  readonly protectUsefulMs?: number;
  /** Inbound connections a subnet opened lately (the newcomer's included); 0 if unknown. */
  readonly knocks?: (subnet: string) => number;
}

export function chooseEviction(
  inbound: readonly InboundLinkFacts[],
  newcomerSubnet: string,
  context: EvictionContext,
): string | undefined {
  const { now, protectUsefulMs = DEFAULT_PROTECT_USEFUL_MS, knocks = () => 0 } = context;
  const perSubnet = new Map<string, number>();
  for (const l of inbound) perSubnet.set(l.subnet, (perSubnet.get(l.subnet) ?? 0) + 1);
  const size = (l: InboundLinkFacts) => perSubnet.get(l.subnet)!;
  const useless = inbound.filter((l) => l.usefulAt === undefined || now - l.usefulAt >= protectUsefulMs);
  let victim: InboundLinkFacts | undefined;
  for (const l of useless) {
    if (!victim || worse(l, victim, size, knocks)) victim = l;
  }
  if (!victim) return undefined;
  const mine = perSubnet.get(newcomerSubnet) ?? 0;
  const theirs = size(victim);
  if (mine >= theirs) return undefined;
  if (theirs - mine === 1 && knocks(newcomerSubnet) >= knocks(victim.subnet)) return undefined;
  return victim.id;
}

/** Whether `a` is evicted before `b`. */
function worse(
  a: InboundLinkFacts,
  b: InboundLinkFacts,
  size: (l: InboundLinkFacts) => number,
  knocks: (subnet: string) => number,
): boolean {
  if (size(a) !== size(b)) return size(a) > size(b);
  if (knocks(a.subnet) !== knocks(b.subnet)) return knocks(a.subnet) > knocks(b.subnet);
  return a.since > b.since;
}
