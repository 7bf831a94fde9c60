/**
 * Admission of peer records into membership: where a record waits, *unverified*, until this peer
 * itself has reached the record's own fetch address and the peer there proved the record's key
 * (a sync request dialled over TLS pinned to the record's peer id that got an answer). Only then
 * does it enter the PeerTable, and so gossip, alive counts, Search neighbours and Download
 * sources. Anyone can sign records for fresh keys by the thousand, and name any address in them;
 * this structure is what bounds what that costs:
 *   - pending records are capped (maxUnverified); when full, the oldest record of the origin that
 *     holds the most is evicted, so one flooding origin displaces its own records, not others';
 *   - new identities announced directly are rate-limited per source address and per subnet per
 *     minute (shared/address.ts: /24 and /64 by default; every 127.x address is a host of its own, and a
 *     connection from loopback is keyed by the loopback host its record names, so that test
 *     networks on one machine stay many hosts);
 *   - verification probes are planned per round within a budget (verifyPerRound), taken in turn
 *     from each origin (oldest first within one), at most one per target host per round;
 *   - a failed probe backs the ADDRESS off exponentially (in rounds, so a fast test interval
 *     scales like the real one), remembered in a bounded map that outlives the records naming it;
 *     after verifyAttempts failures every record naming it is dropped, and the address is refused
 *     until its backoff ends. A reflection (records naming a bystander's address) thus costs the
 *     bystander at most a few connections per peer that received the records directly (with the
 *     defaults: rounds 0, 1 and 11, then, only if such records keep coming, 31, 71, 151...);
 *   - a record whose peer proved its key on an inbound announce but whose address could not be
 *     reached is kept as *firewalled*: never dialled by anyone. Its later announces of the same
 *     record stay firewalled without a new probe (this peer's own probe failed there). Those are
 *     gossiped, marked as such (SyncRounds puts them in a view's `firewalled` list), one hop only
 *     (a record received that way is not passed on: a flood of announced identities stays near
 *     where it was announced), so peers learn the holder exists and is reachable only by
 *     connect-back before it announced itself to them; one received that way is held firewalled too (signed by its peer, so it names only that peer's own claim, and
 *     never dialled, so naming a bystander costs the bystander nothing). Bounded like the pending
 *     records; each expires firewalledTtlMs after its peer signed it (an unreachable peer re-signs
 *     its record well within that), since nobody can probe its liveness.
 *   - a record listing several address sets (its peer advertises several addresses) is probed at
 *     one of them per round, in the record's order: the first whose address is not backed off,
 *     starting after the last one that failed. The first that answers verifies the record (and
 *     is the one the peer is dialled at). Backoff stays per address, so records naming a
 *     bystander among other addresses cost it no more than records naming it alone; a record is
 *     dropped once every one of its addresses has failed verifyAttempts times, and refused while
 *     every one is backed off.
 * Unverified records are never gossiped from here. Pure: the caller passes the round number and the time.
 */
import type { FetchConfig } from './config.ts';
import { hostOf, isLoopbackHost, subnetOf } from '../../shared/address.ts';
import { addressSets, type PeerRecord } from './peer-record.ts';
import { NONE, PendingRecords, type OriginQueue } from './pending-records.ts';

export type AdmissionConfig = Pick<
  FetchConfig,
  | 'maxUnverified'
  | 'newPerAddressPerMinute'
  | 'newPerSubnetPerMinute'
  | 'subnetBitsV4'
  | 'subnetBitsV6'
  | 'verifyPerRound'
  | 'verifyAttempts'
  | 'verifyBackoffRounds'
  | 'maxVerifyBackoffRounds'
  | 'maxAddressMemory'
>;

/** An IP address as a socket reports it, lower case and an IPv4-mapped IPv6 address as IPv4. */
function plainHost(remote: string): string {
  return remote.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
}

/** How a record reached this peer. */
export type Origin =
  /** Its own peer proved its key on an inbound TLS connection from `remote` (an IP address). */
  | { kind: 'announce'; remote: string }
  /** Carried in the answer of the verified peer `via` (its peer id), dialled at host:port `at`. */
  | { kind: 'gossip'; via: string; at: string }
  /**
   * Pushed as news in a request of the peer `via` (its id proven by TLS, not necessarily held
   * here) from `remote` (an IP address): counts against that host's rate, as an announce does.
   */
  | { kind: 'pushed'; via: string; remote: string };

export type OfferOutcome =
  'pending' | 'updated' | 'unchanged' | 'firewalled' | 'refused-rate' | 'refused-backoff' | 'refused-address';

interface Firewalled {
  record: PeerRecord;
  /** Fair-share key, as for pending records. */
  share: string;
  /** This peer's own probe of the record's address failed (else it was only gossiped as firewalled). */
  own: boolean;
}

/** A verification probe: the record, and the fetch address of the set to dial. */
export interface Probe {
  record: PeerRecord;
  address: string;
}

interface AddressState {
  failures: number;
  /** No probe to this address before this round. */
  notBefore: number;
}

const MINUTE_MS = 60_000;

export interface AdmissionCounters {
  /** New identities refused by the per-address / per-subnet rate, or for naming a loopback address to another host. */
  refusedNew: number;
  /** Records refused because their address is backed off after failed verifications. */
  refusedBackoff: number;
  /** Unverified records evicted to make room for newer ones. */
  evictedUnverified: number;
  verificationsOk: number;
  verificationsFailed: number;
  /** Unverified records dropped after verifyAttempts failed probes of their address. */
  droppedAfterFailures: number;
}

export class Admission {
  /** Records waiting for our probe, each under its fair-share key: the announcing host, or the gossiping peer. */
  private readonly pending: PendingRecords;
  private readonly addresses = new Map<string, AddressState>();
  /** Firewalled peers by id, with the host that announced each (insertion order: oldest first). */
  private readonly firewalledPeers = new Map<string, Firewalled>();
  private window = { start: -Infinity, perAddress: new Map<string, number>(), perSubnet: new Map<string, number>() };
  /** Where the next plan's turn over origins begins (see planProbes). */
  private turn = 0;
  readonly counters: AdmissionCounters = {
    refusedNew: 0,
    refusedBackoff: 0,
    evictedUnverified: 0,
    verificationsOk: 0,
    verificationsFailed: 0,
    droppedAfterFailures: 0,
  };

  constructor(private readonly config: AdmissionConfig) {
    this.pending = new PendingRecords(config.maxUnverified);
  }

  get size(): number {
    return this.pending.size;
  }

  get firewalled(): number {
    return this.firewalledPeers.size;
  }

  get(peerId: string): PeerRecord | undefined {
    const slot = this.pending.slotOf(peerId);
    return slot === NONE ? undefined : this.pending.record(slot);
  }

  isFirewalled(peerId: string): boolean {
    return this.firewalledPeers.has(peerId);
  }

  /** The record of a firewalled peer (already verified: its signature). */
  firewalledRecord(peerId: string): PeerRecord | undefined {
    return this.firewalledPeers.get(peerId)?.record;
  }

  /**
   * Firewalled records, the most recently signed first, at most `max`; `ownOnly`: only those whose
   * peer announced itself to us and failed our own probes (what we gossip: one hop, so that a flood
   * of announced identities is not carried on across the network).
   */
  firewalledRecords(max: number, ownOnly = false): PeerRecord[] {
    return [...this.firewalledPeers.values()]
      .filter((f) => !ownOnly || f.own)
      .map((f) => f.record)
      .sort((a, b) => b.issuedAt - a.issuedAt)
      .slice(0, max);
  }

  /**
   * Take a record another verified peer gossiped as firewalled (`via`, dialled at `at`): held
   * firewalled, never probed. Refused when it names loopback to another host, when it waits for
   * our own probe, or when we hold it at an equal or newer seq. Returns whether it was taken.
   */
  takeFirewalled(record: PeerRecord, via: string, at: string): boolean {
    if (record.status !== 'alive') return false;
    if (!isLoopbackHost(hostOf(at)) && namesLoopback(record)) return false;
    if (this.pending.has(record.peerId)) return false;
    const held = this.firewalledPeers.get(record.peerId);
    if (held && held.record.seq >= record.seq) return false;
    const own = held?.own === true && sameFetchAddresses(held.record, record);
    this.keepFirewalled(record, held?.share ?? `via:${via}`, own);
    return true;
  }

  /** Drop firewalled records signed before `cutoff` (ms): their peer stopped re-signing. Returns their ids. */
  expireFirewalled(cutoff: number): string[] {
    const gone: string[] = [];
    for (const [peerId, entry] of this.firewalledPeers) {
      if (entry.record.issuedAt >= cutoff) continue;
      this.firewalledPeers.delete(peerId);
      gone.push(peerId);
    }
    return gone;
  }

  /**
   * Take a record (signature already checked; not in the table, or in it with another fetch
   * address) to verify later. A new identity announced directly counts against its source's rate.
   */
  offer(record: PeerRecord, origin: Origin, round: number, now: number): OfferOutcome {
    // A loopback address means "this machine" only to a peer on the sender's own machine: from
    // another host it names this peer's own services (a probe of them), never the record's peer.
    const sender = origin.kind === 'gossip' ? hostOf(origin.at) : origin.remote;
    if (!isLoopbackHost(sender) && namesLoopback(record)) {
      this.counters.refusedNew++;
      return 'refused-address';
    }
    // Firewalled where our own probe failed: the same record announced again is kept, not probed
    // again. A newer one (a refresh, or re-signed once reachable, say by a port mapping) goes the
    // usual way: probed when its address is not backed off, else kept firewalled.
    const wall = this.firewalledPeers.get(record.peerId);
    if (
      origin.kind === 'announce' &&
      wall?.own &&
      sameFetchAddresses(wall.record, record) &&
      record.seq <= wall.record.seq
    )
      return 'firewalled';
    const held = this.pending.slotOf(record.peerId);
    if (held !== NONE) {
      if (record.seq <= this.pending.record(held).seq) return 'unchanged';
      this.pending.replace(held, record);
      return 'updated';
    }
    if (this.allBlocked(record, round)) {
      this.counters.refusedBackoff++;
      if (origin.kind === 'announce') this.keepFirewalled(record, this.announcingHost(origin.remote, record), true);
      return 'refused-backoff';
    }
    const share =
      origin.kind === 'announce'
        ? this.announcingHost(origin.remote, record)
        : origin.kind === 'pushed'
          ? plainHost(origin.remote)
          : `via:${origin.via}`;
    if (origin.kind !== 'gossip' && !this.withinRate(share, now)) {
      this.counters.refusedNew++;
      return 'refused-rate';
    }
    this.firewalledPeers.delete(record.peerId);
    while (this.pending.size >= this.config.maxUnverified) this.evictOne();
    this.pending.add(record, share, origin.kind === 'announce');
    return 'pending';
  }

  /** Forget a pending or firewalled record (its peer left, or it reached the table some other way). */
  discard(peerId: string): void {
    this.firewalledPeers.delete(peerId);
    this.pending.remove(peerId);
  }

  /** Drop the unverified records `keep` rejects (announced or gossiped alike). Returns how many went. */
  keepOnly(keep: (record: PeerRecord) => boolean): number {
    const gone: string[] = [];
    for (const slot of this.pending.slotsInArrival()) {
      const record = this.pending.record(slot);
      if (!keep(record)) gone.push(record.peerId);
    }
    for (const peerId of gone) this.pending.remove(peerId);
    return gone.length;
  }

  /** The records to probe this round (see planProbes). */
  plan(round: number, busyHosts: ReadonlySet<string> = new Set()): PeerRecord[] {
    return this.planProbes(round, busyHosts).map((probe) => probe.record);
  }

  /**
   * The probes to make this round: at most verifyPerRound, one per origin in turn (oldest first
   * within each), none to an address backed off, at most one per target host; each record at the
   * first of its address sets, in order from the one after the last that failed, not backed off.
   * The turn goes on from round to round: with more origins than the budget, a round begins with
   * the origin after the last one the previous round served. Begun with the oldest origins every
   * round, a newer origin (a newcomer announcing itself) waited until every older one had nothing
   * left: in a partial view, whose backlog holds records from about every peer, dozens of rounds.
   */
  planProbes(round: number, busyHosts: ReadonlySet<string> = new Set()): Probe[] {
    const origins = this.originsToProbe(round);
    const start = origins.length === 0 ? 0 : this.turn % origins.length;
    // Each origin's queue in turn from `start`, walked one probe deep per pass: the slot of its
    // probe at the current depth (NONE once it has no more).
    const lists = [...origins.slice(start), ...origins.slice(0, start)];
    const at = lists.map((origin) => this.probeableFrom(origin.head, round));
    const hosts = new Set(busyHosts);
    const chosen: Probe[] = [];
    let looked = 0; // origins the first pass reached before the budget ran out
    for (let depth = 0, more = lists.length > 0; more && chosen.length < this.config.verifyPerRound; depth++) {
      more = false;
      for (let i = 0; i < lists.length && chosen.length < this.config.verifyPerRound; i++) {
        let slot = at[i] as number;
        if (depth > 0 && slot !== NONE) at[i] = slot = this.probeableFrom(this.pending.newerInOrigin(slot), round);
        if (slot === NONE) continue;
        more = true;
        if (depth === 0) looked++;
        const address = this.addressToProbe(slot, round) as string;
        const host = hostOf(address);
        if (hosts.has(host)) continue;
        hosts.add(host);
        chosen.push({ record: this.pending.record(slot), address });
      }
    }
    this.turn = start + looked;
    return chosen;
  }

  /** The origins with a record to probe this round, in the order of the oldest such record of each. */
  private originsToProbe(round: number): OriginQueue[] {
    const all = this.pending.origins.size;
    const ordered = new Set<OriginQueue>();
    for (const slot of this.pending.slotsInArrival()) {
      if (ordered.size === all) break;
      const origin = this.pending.origin(slot);
      if (!ordered.has(origin) && this.addressToProbe(slot, round) !== undefined) ordered.add(origin);
    }
    return [...ordered];
  }

  /** The first slot from `slot` on, within its origin, that has an address to probe this round; or NONE. */
  private probeableFrom(slot: number, round: number): number {
    let s = slot;
    while (s !== NONE && this.addressToProbe(s, round) === undefined) s = this.pending.newerInOrigin(s);
    return s;
  }

  /** The fetch address to probe the record in `slot` at this round: its sets in order from the next one, the first not backed off. */
  private addressToProbe(slot: number, round: number): string | undefined {
    const record = this.pending.record(slot);
    if (record.otherAddresses === undefined)
      return this.blocked(record.addresses.fetch, round) ? undefined : record.addresses.fetch;
    const addresses = fetchAddresses(record);
    const next = this.pending.nextAddressSet(slot);
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[(next + i) % addresses.length] as string;
      if (!this.blocked(address, round)) return address;
    }
    return undefined;
  }

  /** A probe of `record` at `address` got an answer from its peer: the address works; the record leaves here. */
  succeeded(record: PeerRecord, address = record.addresses.fetch): void {
    this.counters.verificationsOk++;
    this.addresses.delete(address);
    this.discard(record.peerId);
    this.firewalledPeers.delete(record.peerId);
  }

  /**
   * A probe of `record` at `address` failed: back the address off, and try the record's next
   * address set next time; after verifyAttempts failures of an address, drop every record none of
   * whose addresses is left untried that often.
   */
  failed(record: PeerRecord, round: number, address = record.addresses.fetch): void {
    this.counters.verificationsFailed++;
    const state = this.addresses.get(address) ?? { failures: 0, notBefore: 0 };
    state.failures++;
    // The first failure is retried next round (a lost packet or a busy peer is no attack); from
    // the second on, the wait starts at verifyBackoffRounds and doubles.
    const wait =
      state.failures === 1
        ? 1
        : Math.min(this.config.verifyBackoffRounds * 2 ** (state.failures - 2), this.config.maxVerifyBackoffRounds);
    state.notBefore = round + wait;
    this.addresses.delete(address); // re-insert: insertion order is age order for the bound below
    this.addresses.set(address, state);
    while (this.addresses.size > this.config.maxAddressMemory)
      this.addresses.delete(this.addresses.keys().next().value as string);
    const slot = this.pending.slotOf(record.peerId);
    if (slot !== NONE) {
      const index = fetchAddresses(this.pending.record(slot)).indexOf(address);
      if (index >= 0) this.pending.setNextAddressSet(slot, index + 1);
    }
    if (state.failures < this.config.verifyAttempts) return;
    for (const held of [...this.pending.slotsInArrival()]) {
      const record = this.pending.record(held);
      const addresses = fetchAddresses(record);
      if (
        !addresses.includes(address) ||
        !addresses.every((a) => (this.addresses.get(a)?.failures ?? 0) >= this.config.verifyAttempts)
      )
        continue;
      const announced = this.pending.announced(held);
      const share = this.pending.origin(held).key;
      this.discard(record.peerId);
      this.counters.droppedAfterFailures++;
      if (announced) this.keepFirewalled(record, share, true);
    }
  }

  /** Whether every fetch address of `record` is backed off this round. */
  private allBlocked(record: PeerRecord, round: number): boolean {
    if (this.addresses.size === 0) return false;
    return fetchAddresses(record).every((address) => this.blocked(address, round));
  }

  /** Whether `address` is backed off this round after verifyAttempts or more failures. */
  private blocked(address: string, round: number): boolean {
    if (this.addresses.size === 0) return false;
    const state = this.addresses.get(address);
    return state !== undefined && round < state.notBefore;
  }

  /** The host an announce came from; from loopback, the loopback host its record names (one per test peer). */
  private announcingHost(remote: string, record: PeerRecord): string {
    const plain = plainHost(remote);
    const hosts = fetchAddresses(record).map(hostOf);
    const named = hosts.includes(plain) ? plain : (hosts[0] as string);
    return isLoopbackHost(remote) && isLoopbackHost(named) ? named : plain;
  }

  private withinRate(host: string, now: number): boolean {
    if (now - this.window.start >= MINUTE_MS) this.window = { start: now, perAddress: new Map(), perSubnet: new Map() };
    const subnet = subnetOf(host, { v4: this.config.subnetBitsV4, v6: this.config.subnetBitsV6 });
    const { perAddress, perSubnet } = this.window;
    const byAddress = perAddress.get(host) ?? 0;
    const bySubnet = perSubnet.get(subnet) ?? 0;
    // A map full of distinct sources within one minute is itself a flood: refuse newcomers to it.
    const roomFor = (map: Map<string, number>, key: string) => map.has(key) || map.size < this.config.maxAddressMemory;
    if (byAddress >= this.config.newPerAddressPerMinute || bySubnet >= this.config.newPerSubnetPerMinute) return false;
    if (!roomFor(perAddress, host) || !roomFor(perSubnet, subnet)) return false;
    perAddress.set(host, byAddress + 1);
    perSubnet.set(subnet, bySubnet + 1);
    return true;
  }

  /** Make room: the oldest record of the origin holding the most pending records goes. */
  private evictOne(): void {
    const biggest = this.pending.largest();
    if (!biggest) return;
    this.discard(this.pending.record(biggest.head).peerId);
    this.counters.evictedUnverified++;
  }

  /**
   * Keep `record` as firewalled, announced from `share`. Over the cap the oldest record of the
   * host holding the most goes, so a flood from one host displaces its own, not other hosts'.
   */
  private keepFirewalled(record: PeerRecord, share: string, own: boolean): void {
    this.firewalledPeers.delete(record.peerId);
    this.firewalledPeers.set(record.peerId, { record, share, own });
    if (this.firewalledPeers.size <= this.config.maxUnverified) return;
    const counts = new Map<string, number>();
    for (const { share: s } of this.firewalledPeers.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
    const biggest = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    for (const [peerId, entry] of this.firewalledPeers) {
      if (entry.share !== biggest) continue;
      this.firewalledPeers.delete(peerId);
      return;
    }
  }
}

/** The fetch addresses of a record's address sets, in order. */
function fetchAddresses(record: PeerRecord): string[] {
  return addressSets(record).map((set) => set.fetch);
}

/** Whether two records of one peer list the same fetch addresses in the same order. */
function sameFetchAddresses(a: PeerRecord, b: PeerRecord): boolean {
  const x = fetchAddresses(a);
  const y = fetchAddresses(b);
  return x.length === y.length && x.every((address, i) => address === y[i]);
}

/** Whether a record names a loopback address for any of its services, in any of its address sets. */
export function namesLoopback(record: PeerRecord): boolean {
  return addressSets(record).some(({ files, search, fetch }) =>
    [files, search, fetch].some((address) => isLoopbackHost(hostOf(address))),
  );
}
