/**
 * What this peer's defences refused, evicted or cut (docs/SECURITY.md), as `peershare status`
 * shows it: an operator sees an attack in these numbers. Read from the Fetch and Search services'
 * health, in process or over HTTP, so both shapes are checked here and anything else is ignored.
 */

import type { Defences, LinkDefences, MembershipDefences } from '../ports.ts';

const MEMBERSHIP_KEYS = [
  'unverified',
  'firewalled',
  'refusedNew',
  'refusedBackoff',
  'evictedUnverified',
  'verificationsOk',
  'verificationsFailed',
  'droppedAfterFailures',
  'tableFull',
  'sampledOut',
] as const;

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** From Fetch's health or status: its `admission` object. */
export function membershipDefences(health: unknown): MembershipDefences | null {
  const admission = record(health).admission;
  if (typeof admission !== 'object' || admission === null) return null;
  const a = record(admission);
  return Object.fromEntries(MEMBERSHIP_KEYS.map((k) => [k, count(a[k])])) as unknown as MembershipDefences;
}

/** From Search's health: its engine `counters` and `overlay` counters. */
export function linkDefences(health: unknown): LinkDefences | null {
  const { counters, overlay } = record(health);
  if (typeof counters !== 'object' || counters === null || typeof overlay !== 'object' || overlay === null) return null;
  const c = record(counters);
  const o = record(overlay);
  const refused = record(o.inboundRefused);
  return {
    inboundRefused: {
      perIp: count(refused.perIp),
      perSubnet: count(refused.perSubnet),
      pending: count(refused.pending),
      full: count(refused.full),
    },
    evictions: count(o.evictions),
    frameDeadlineCloses: count(o.frameDeadlineCloses),
    queriesRateLimited: count(c.queriesRateLimited),
    neighboursCut: count(c.linksDisconnected),
    ownSearchesRateLimited: count(c.searchesRateLimited),
    hitResultsBadName: count(c.hitResultsBadName),
  };
}

/** One line for people: the counters that are not zero, or "nothing refused". */
export function describeDefences(d: Defences): string {
  const parts: string[] = [];
  const add = (n: number, what: string) => n > 0 && parts.push(`${n} ${what}`);
  if (d.membership) {
    const m = d.membership;
    add(m.unverified, 'records unverified');
    add(m.refusedNew + m.refusedBackoff, 'records refused');
    add(m.evictedUnverified + m.droppedAfterFailures, 'records dropped');
    add(m.verificationsFailed, 'probes failed');
    add(m.firewalled, 'peers firewalled');
    add(m.tableFull + m.sampledOut, 'peers past the table cap (kept as a random sample)');
  }
  if (d.links) {
    const l = d.links;
    const r = l.inboundRefused;
    add(r.perIp + r.perSubnet + r.pending + r.full, 'links refused');
    add(l.evictions, 'links evicted');
    add(l.frameDeadlineCloses, 'links closed for a slow frame');
    add(l.queriesRateLimited, 'queries rate-limited');
    add(l.neighboursCut, 'neighbours cut for flooding');
    add(l.ownSearchesRateLimited, 'own searches rate-limited');
    add(l.hitResultsBadName, 'hits with unsafe names dropped');
  }
  if (!d.membership && !d.links) return '?';
  return parts.length ? parts.join(', ') : 'nothing refused';
}
