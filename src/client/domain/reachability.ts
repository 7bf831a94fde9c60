/**
 * Whether other hosts can reach this peer, as `peershare status` shows it: read from the Fetch
 * service's health (in process or over HTTP, so the shape is checked here), which says how the
 * advertised address was chosen (given, or learned from other hosts and confirmed by a dial-back).
 */
import type { Reachability } from '../ports.ts';

const STATES = new Set(['configured', 'learning', 'reachable', 'unreachable']);

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** From Fetch's health or status: its `reachability` and the fetch address its record advertises. */
export function reachabilityOf(health: unknown): Reachability | null {
  const { reachability, advertised, portMapping } = record(health);
  const r = record(reachability);
  if (typeof r.state !== 'string' || !STATES.has(r.state)) return null;
  const fields = {
    address: text(r.address),
    confirmedBy: text(r.confirmedBy),
    checkedBy: text(r.checkedBy),
    advertised: text(record(advertised).fetch),
    advertisedFiles: text(record(advertised).files),
  };
  const mapping = portMappingOf(portMapping);
  const all = advertisedFetches(record(health).advertisedAll);
  return {
    state: r.state as Reachability['state'],
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
    ...(all ? { advertisedAll: all } : {}),
    ...(mapping ? { portMapping: mapping } : {}),
  };
}

/** The fetch address of every set the record lists (`advertisedAll`), when there are several; absent from an older Fetch. */
function advertisedFetches(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const fetches = value.map((set) => text(record(set).fetch)).filter((f): f is string => f !== undefined);
  return fetches.length > 1 ? fetches : undefined;
}

const MAPPING_STATES = new Set(['mapping', 'mapped', 'failed']);

function portMappingOf(value: unknown): Reachability['portMapping'] {
  const m = record(value);
  if (typeof m.state !== 'string' || !MAPPING_STATES.has(m.state)) return undefined; // off, or an older Fetch
  const ports = Array.isArray(m.ports) ? m.ports.filter((p): p is number => typeof p === 'number') : undefined;
  const fields = { externalIp: text(m.externalIp), reason: text(m.reason), ports };
  return {
    state: m.state as 'mapping',
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  };
}

/** One line for people, with what the router said when it was asked to forward the ports. */
export function describeReachability(r: Reachability | null): string {
  if (!r) return '?';
  const m = r.portMapping;
  if (!m) return describeState(r);
  const router =
    m.state === 'mapped'
      ? `the router forwards ${m.ports?.join(', ') ?? '?'} at ${m.externalIp ?? '?'}`
      : m.state === 'mapping'
        ? 'asking the router to forward the ports'
        : `port mapping failed: ${m.reason ?? '?'}`;
  return `${describeState(r)}; ${router}`;
}

function describeState(r: Reachability): string {
  const short = (id: string | undefined) => (id ? ` by ${id.slice(0, 8)}` : '');
  switch (r.state) {
    case 'configured':
      return `as configured: other peers dial ${r.advertisedAll?.join(', then ') ?? r.advertised ?? '?'} (not checked)`;
    case 'learning':
      return 'not known yet: bound to every interface, waiting for a peer on another host to see this one';
    case 'reachable':
      return `yes: dialled back at ${r.address}${short(r.confirmedBy)}; other peers dial ${r.advertised ?? r.address}`;
    case 'unreachable':
      return `no: seen at ${r.address} but not dialled back there${short(r.checkedBy)} (NAT or firewall); searches and downloads still work`;
  }
}
