/**
 * Which inbound link makes room when every inbound slot is taken and another peer wants one
 * (docs/PROTOCOL.md §8). An eclipse attacker holds slots with links that carry nothing: no query
 * we answered or forwarded, no hit we delivered or passed on. So:
 * - a link that carried something useful within `protectUsefulMs` is never evicted;
 * - of the rest, the victim comes from the subnet (every 127.x address its own) that holds the
 *   most inbound links, and is its youngest link (the longest-lived links are the ones an
 *   attacker is least likely to have made);
 * - a newcomer evicts only if its own subnet holds fewer inbound links than the victim's: a fresh
 *   host gets in, while an attacker's next link from an address that already holds its share
 *   only churns nothing and is refused.
 * Pure: the link manager gives the facts and closes the link named.
 */

export interface InboundLinkFacts {
  readonly id: string;
  /** The subnet key of its remote address (address-group.ts). */
  readonly subnet: string;
  /** When it came up (ms, any monotonic clock shared with `now`). */
  readonly since: number;
  /** When it last carried something useful; undefined if it never did. */
  readonly usefulAt?: number | undefined;
}

export const DEFAULT_PROTECT_USEFUL_MS = 10 * 60_000;

export function chooseEviction(
  inbound: readonly InboundLinkFacts[],
  newcomerSubnet: string,
  now: number,
  protectUsefulMs = DEFAULT_PROTECT_USEFUL_MS,
): string | undefined {
  const perSubnet = new Map<string, number>();
  for (const l of inbound) perSubnet.set(l.subnet, (perSubnet.get(l.subnet) ?? 0) + 1);
  const useless = inbound.filter((l) => l.usefulAt === undefined || now - l.usefulAt >= protectUsefulMs);
  let victim: InboundLinkFacts | undefined;
  for (const l of useless) {
    if (!victim) {
      victim = l;
      continue;
    }
    const size = perSubnet.get(l.subnet)!;
    const best = perSubnet.get(victim.subnet)!;
    if (size > best || (size === best && l.since > victim.since)) victim = l;
  }
  if (!victim) return undefined;
  return (perSubnet.get(newcomerSubnet) ?? 0) < perSubnet.get(victim.subnet)! ? victim.id : undefined;
}
