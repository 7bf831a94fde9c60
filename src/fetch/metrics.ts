/**
 * The Fetch service's Prometheus series (GET /metrics), read at each scrape from its status (the
 * /health JSON and `peershare status`) and its peer list: nothing is counted twice.
 */
import { ServiceMetrics } from '../shared/metrics.ts';
import { MEMBERSHIP_EVENT_KINDS, type MembershipEventKind } from './domain/membership-log.ts';
import type { PeerState } from './domain/peer-table.ts';
import type { Reachability } from './domain/reachability.ts';
import type { AdmissionStatus, PeerSummary } from './domain/sync-rounds.ts';

const PEER_STATES: readonly PeerState[] = ['alive', 'suspected', 'down'];
/** What the series read of the service's status (FetchStatus in service.ts). */
export interface StatusForMetrics {
  state: 'stopped' | 'joining' | 'joined' | 'alone';
  round: number;
  failedJoinAttempts: number;
  admission: AdmissionStatus;
  reachability: Reachability;
  dialBacks: { served: number; refused: number };
}

const FETCH_STATES: readonly StatusForMetrics['state'][] = ['stopped', 'joining', 'joined', 'alone'];
const REACHABILITY_STATES: readonly Reachability['state'][] = ['configured', 'learning', 'reachable', 'unreachable'];
/** Admission counters (domain/admission.ts) as the `event` label of peershare_fetch_admission_total. */
const ADMISSION_EVENTS = {
  refused_new: 'refusedNew',
  refused_backoff: 'refusedBackoff',
  evicted_unverified: 'evictedUnverified',
  verification_ok: 'verificationsOk',
  verification_failed: 'verificationsFailed',
  dropped_after_failures: 'droppedAfterFailures',
  table_full: 'tableFull',
  sampled_out: 'sampledOut',
} as const satisfies Record<string, keyof AdmissionStatus>;

/** One series per value of `all`: 1 for `current`, 0 for the others. */
function oneOf<T extends string>(
  label: string,
  all: readonly T[],
  current: T,
): Array<[Record<string, string>, number]> {
  return all.map((value) => [{ [label]: value }, value === current ? 1 : 0]);
}

/**
 * Fetch's series, from its status (the /health JSON and `peershare status`), its peer list and
 * its membership log's counts (undefined before the service runs: all 0).
 */
export function fetchMetrics(
  peerId: string,
  status: () => StatusForMetrics,
  peers: () => PeerSummary[],
  membershipEvents: () => Readonly<Record<MembershipEventKind, number>> | undefined,
): ServiceMetrics {
  const m = new ServiceMetrics('fetch', peerId);
  m.gauge(
    'peers',
    'Known peers (this one excluded), by state.',
    () => {
      const list = peers();
      return PEER_STATES.map((state) => [{ state }, list.filter((p) => p.state === state).length]);
    },
    ['state'],
  );
  m.counter(
    'membership_events_total',
    'Membership log events since start, by kind: a peer joined, was suspected, marked down, came back, left or was evicted.',
    () => {
      const counts = membershipEvents();
      return MEMBERSHIP_EVENT_KINDS.map((kind) => [{ kind }, counts?.[kind] ?? 0]);
    },
    ['kind'],
  );
  m.gauge(
    'state',
    'Where this peer is in joining the network (1 for the current state).',
    () => oneOf('state', FETCH_STATES, status().state),
    ['state'],
  );
  m.counter('rounds_total', 'Sync rounds run.', () => status().round);
  m.counter('failed_join_attempts_total', 'Join attempts no join address answered.', () => status().failedJoinAttempts);
  m.gauge(
    'unverified_records',
    "Records waiting for this peer's own probe of their address.",
    () => status().admission.unverified,
  );
  m.gauge(
    'firewalled_peers',
    'Peers that proved their key but whose address could not be reached.',
    () => status().admission.firewalled,
  );
  m.counter(
    'admission_total',
    'Admission of peer records: refused, evicted, verified, dropped.',
    () => {
      const admission = status().admission;
      return Object.entries(ADMISSION_EVENTS).map(([event, key]) => [{ event }, admission[key]]);
    },
    ['event'],
  );
  m.counter(
    'dial_backs_total',
    'Dial-backs other peers asked of this one: served, or refused by the limits.',
    () => [
      [{ outcome: 'served' }, status().dialBacks.served],
      [{ outcome: 'refused' }, status().dialBacks.refused],
    ],
    ['outcome'],
  );
  m.gauge(
    'reachability',
    'Whether other hosts can reach this peer (1 for the current state).',
    () => oneOf('state', REACHABILITY_STATES, status().reachability.state),
    ['state'],
  );
  return m;
}
