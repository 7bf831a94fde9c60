/**
 * The overlay: a bounded set of protocol sessions to neighbours, over any StreamTransport (TLS,
 * each connection's peer id proven). It accepts links, dials candidates from the NeighbourSource
 * (and only from there: an address read in a query, a hit or a Hello is never dialled), expecting
 * the candidate's peer id when the source knows it, reconnects with backoff, replaces links that
 * die, and keeps one link per pair of peers. The rules (docs/PROTOCOL.md §2.5, §8):
 * - a Hello whose peer id or key is not the id TLS proved closes the link (the session checks it
 *   before anything of the link is handed on), and so does a Hello of another protocol version;
 *   both are logged with the reason;
 * - a Hello with our own peer id closes the link (and that address is never dialled again);
 * - two links with the same peer: keep the one dialled by the lower peer id (both sides decide
 *   the same way without talking), close the other as a duplicate;
 * - at most `maxLinks` ready links, at most `maxLinksPerIp` links or handshakes per remote IP and
 *   `maxLinksPerSubnet` inbound ones per subnet (/24, /64; every 127.x address its own);
 * - `outboundSlots` of the `maxLinks` are for links this peer dials itself, to candidates it picks
 *   at random from its NeighbourSource (verified membership): inbound links never take them, so
 *   however many links others open to us we keep neighbours we chose (eclipse, docs/PROTOCOL.md §8);
 * - when every inbound slot is taken, a newcomer may evict an inbound link that has carried
 *   nothing useful (domain/eviction.ts), else it is refused.
 * It implements the domain's Links port and hands every Query and Hit to the engine, and every
 * route table decoded (feature "qrp": route-tables.ts keeps what each link carried; one that does
 * not decode closes its link).
 */
import { SEARCH_DEFAULTS } from '../../../shared/defaults.ts';
import { EventEmitter } from 'node:events';
import { encodeFrame } from '../../../protocol/codec.ts';
import type { Hit, Push, Query, RouteTable as WireRouteTable } from '../../../protocol/gen/wire_pb.ts';
import { FEATURE_QRP } from '../../../protocol/limits.ts';
import { PeerSession, type LocalHello, type SessionTimeouts } from '../../../protocol/session.ts';
import type { CloseInfo, CloseReason } from '../../../protocol/close-reasons.ts';
import type { RouteTable } from '../../../protocol/route-table.ts';
import { isPeershareError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logging.ts';
import { DEFAULT_SUBNET_BITS_V4, DEFAULT_SUBNET_BITS_V6, subnetOf, type SubnetBits } from '../../../shared/address.ts';
import { chooseEviction } from '../../domain/eviction.ts';
import { ExpiringLru } from '../../domain/expiring-lru.ts';
import type { LinkId, LinkInfo, LinkPeer, Links, NeighbourSource } from '../../ports.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { hitForLink, inboundRefusal, preferred } from './link-rules.ts';
import { newOverlayCounters, shuffled, type OverlayCounters } from './overlay-counters.ts';
import { LinkRouteTables, RouteTableEncodings } from './route-tables.ts';
import type { Listening, RawConnection, StreamTransport } from './transport.ts';

export const DEFAULT_MAX_LINKS = SEARCH_DEFAULTS.maxLinks;
export const DEFAULT_MAX_LINKS_PER_IP = SEARCH_DEFAULTS.maxLinksPerIp;
export const DEFAULT_MAX_LINKS_PER_SUBNET = SEARCH_DEFAULTS.maxLinksPerSubnet;
/** Slots kept for links we dial, out of maxLinks (at most half of them). */
export const DEFAULT_OUTBOUND_SLOTS = SEARCH_DEFAULTS.outboundLinks;
/** How long an inbound connection counts as a subnet's "knock" (eviction ranks subnets by them), and how many subnets are remembered. */
export const KNOCK_MEMORY_MS = 10 * 60_000;
export const KNOCK_MEMORY_ENTRIES = 4_096;
export const DEFAULT_MAINTAIN_INTERVAL_MS = 1_000;

/** Closes that mean the peer is not one we may link to (the log says so above debug level). */
const REFUSALS: ReadonlySet<CloseReason> = new Set(['peer-mismatch', 'version-mismatch']);

/** Where the link manager delivers what neighbours send (the SearchEngine). */
export interface LinkHandler {
  receiveQuery(link: LinkId, query: Query): void;
  receiveHit(link: LinkId, hit: Hit): void;
  /** A Push (feature "push": only over links that negotiated it). */
  receivePush?(link: LinkId, push: Push): void;
  /**
   * A neighbour's route table of `level`, decoded (feature "qrp": only over links that negotiated
   * it). The link keeps the same object to apply the neighbour's next patch to: never change it.
   */
  receiveRouteTable?(link: LinkId, level: number, table: RouteTable): void;
  /** A link finished its handshake and is in the flood (the engine sends it its route tables). */
  linkReady?(link: LinkId): void;
  linkClosed(link: LinkId): void;
}

export interface LinkManagerOptions {
  readonly transport: StreamTransport;
  readonly neighbours: NeighbourSource;
  /** Our Hello; called per link because addresses are known only once the listeners are bound. */
  readonly hello: () => LocalHello;
  readonly logger: Logger;
  readonly maxLinks?: number;
  readonly maxLinksPerIp?: number;
  /** Inbound links or handshakes from one subnet (subnetBits). */
  readonly maxLinksPerSubnet?: number;
  readonly subnetBits?: SubnetBits;
  /** Slots for links we dial ourselves, which inbound links never take. */
  readonly outboundSlots?: number;
  /** A link that carried something useful within this time is never evicted. */
  readonly protectUsefulMs?: number;
  /** Picks candidates (tests may fix it); Math.random by default. */
  readonly random?: () => number;
  readonly maintainIntervalMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly sessionTimeouts?: Partial<SessionTimeouts>;
}

interface Entry {
  readonly id: LinkId;
  readonly session: PeerSession;
  readonly direction: 'inbound' | 'outbound';
  readonly remoteIp: string;
  readonly subnet: string;
  /** The candidate address we dialled (outbound links only). */
  readonly dialled?: string;
  /** The route tables sent and received over this link, per level. */
  readonly routes: LinkRouteTables;
  ready: boolean;
  since: number;
  /** When it last carried a query we handled or a hit we delivered or passed on. */
  usefulAt?: number;
}

export class LinkManager implements Links {
  /** 'change' whenever a link comes up or goes down, or a dial fails (for tests and the local API). */
  readonly events = new EventEmitter<{ change: [] }>();
  /** What an operator watches for an eclipse attempt (the /health JSON). */
  readonly counters: OverlayCounters = newOverlayCounters();
  private readonly entries = new Map<LinkId, Entry>();
  private readonly encoded = new WeakMap<Query, Uint8Array>();
  /** Route tables encoded once for every link they go to (route-tables.ts). */
  private readonly routeEncodings = new RouteTableEncodings();
  private readonly dialling = new Set<string>();
  private readonly selfAddresses = new Set<string>();
  /** Peer ids learned by dialling a candidate given without one. */
  private readonly peerAt = new Map<string, string>();
  private readonly backoff: Backoff;
  private readonly maxLinks: number;
  private readonly maxPerIp: number;
  private readonly maxPerSubnet: number;
  private readonly outboundSlots: number;
  private readonly subnetBits: SubnetBits;
  /** Inbound connections per subnet lately (a bounded map: keys come from the network). */
  private readonly knocks = new ExpiringLru<string, number>(KNOCK_MEMORY_ENTRIES, KNOCK_MEMORY_MS, Date.now);
  private handler: LinkHandler | undefined;
  private listening: Listening | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingDials = new Set<Promise<void>>();
  private nextId = 0;
  private stopping = false;

  constructor(private readonly o: LinkManagerOptions) {
    this.maxLinks = o.maxLinks ?? DEFAULT_MAX_LINKS;
    this.maxPerIp = o.maxLinksPerIp ?? DEFAULT_MAX_LINKS_PER_IP;
    this.maxPerSubnet = o.maxLinksPerSubnet ?? DEFAULT_MAX_LINKS_PER_SUBNET;
    this.outboundSlots = Math.min(o.outboundSlots ?? DEFAULT_OUTBOUND_SLOTS, Math.floor(this.maxLinks / 2));
    this.subnetBits = o.subnetBits ?? { v4: DEFAULT_SUBNET_BITS_V4, v6: DEFAULT_SUBNET_BITS_V6 };
    this.backoff = new Backoff({ baseMs: 1_000, maxMs: 60_000, ...o.backoff });
  }

  /** Where Queries and Hits go; set once, before start. */
  bind(handler: LinkHandler): void {
    this.handler = handler;
  }

  /** Listen on host:port and begin dialling candidates. */
  async start(host: string, port: number): Promise<Listening> {
    this.stopping = false;
    this.listening = await this.o.transport.listen(host, port, (c) => this.accept(c));
    this.timer = setInterval(() => this.maintain(), this.o.maintainIntervalMs ?? DEFAULT_MAINTAIN_INTERVAL_MS);
    this.maintain();
    return this.listening;
  }

  /** Close every link and the listener; resolves when every session has closed. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    // The listener stops accepting at once but reports closed only when its connections are
    // gone, so it is awaited after the links are closed, not before (that would wait forever).
    const listenerClosed = this.listening?.close();
    this.listening = undefined;
    await Promise.allSettled([...this.pendingDials]);
    const closed = [...this.entries.values()].map(
      (e) =>
        new Promise<void>((resolve) => {
          e.session.once('close', () => resolve());
          e.session.close('shutting down', 'UNAVAILABLE');
        }),
    );
    await Promise.all(closed);
    await listenerClosed;
  }

  ids(): LinkId[] {
    const ids: LinkId[] = [];
    for (const e of this.entries.values()) if (e.ready) ids.push(e.id);
    return ids;
  }

  /** Dials and handshakes in progress: zero once the overlay has settled. */
  get pending(): number {
    let handshaking = 0;
    for (const e of this.entries.values()) if (!e.ready) handshaking += 1;
    return handshaking + this.dialling.size;
  }

  /** Every ready link, for the local API and tests. */
  list(): LinkInfo[] {
    return [...this.entries.values()]
      .filter((e) => e.ready)
      .map((e) => ({
        id: e.id,
        peerId: e.session.remote!.peerId,
        searchAddress: e.session.remote!.searchAddress,
        direction: e.direction,
        remoteIp: e.remoteIp,
        since: e.since,
      }));
  }

  sendQuery(link: LinkId, query: Query): boolean {
    const session = this.readyEntry(link)?.session;
    if (!session) return false;
    // The engine floods one Query object to many links: encode it once.
    let frame = this.encoded.get(query);
    if (!frame) this.encoded.set(query, (frame = encodeFrame({ case: 'query', value: query })));
    return session.sendFrame(frame);
  }

  /** Folder results go only over links that negotiated "folders" (hitForLink); false when nothing was sent. */
  sendHit(link: LinkId, hit: Hit): boolean {
    const session = this.readyEntry(link)?.session;
    const fit = session && hitForLink(hit, session.features);
    return fit !== undefined && session!.send({ case: 'hit', value: fit });
  }

  /** Sent only if the link negotiated "push" (PeerSession.send refuses otherwise). */
  sendPush(link: LinkId, push: Push): boolean {
    return this.readyEntry(link)?.session.send({ case: 'push', value: push }) ?? false;
  }

  /**
   * Sent only if the link negotiated "qrp": whole, or as a patch against the table of this level
   * sent last on the link; nothing is sent when the peer has this table already (true all the same).
   * `table` must not change once sent: the link keeps it as what the peer has.
   */
  sendRouteTable(link: LinkId, level: number, table: RouteTable): boolean {
    const entry = this.readyEntry(link);
    if (!entry?.session.features.includes(FEATURE_QRP)) return false;
    const message = entry.routes.outgoing(level, table);
    if (message === undefined) return true;
    if (!entry.session.send({ case: 'routeTable', value: message })) return false;
    entry.routes.recordSent(level, table);
    this.counters.routeTables.sent += 1;
    this.counters.routeTables.bytesSent += message.data?.length ?? 0;
    return true;
  }

  linkTo(peerId: string): LinkId | undefined {
    for (const [id, entry] of this.entries) if (entry.ready && entry.session.remote?.peerId === peerId) return id;
    return undefined;
  }

  /** The engine found what this link carried useful: it is not evicted for a while. */
  markUseful(link: LinkId): void {
    const entry = this.entries.get(link);
    if (entry) entry.usefulAt = Date.now();
  }

  /** Who is at the other end of a ready link: the engine keeps rate state per peer and address. */
  peerOf(link: LinkId): LinkPeer | undefined {
    const entry = this.readyEntry(link);
    return entry ? { peerId: entry.session.remote!.peerId, remoteIp: entry.remoteIp } : undefined;
  }

  disconnect(link: LinkId, reason: string): void {
    const entry = this.entries.get(link);
    if (!entry) return;
    this.retire(entry);
    entry.session.close(reason, 'UNAVAILABLE');
  }

  /** Dial candidates until the link budget is spent; runs on a timer and whenever a link closes. */
  maintain(): void {
    if (this.stopping || !this.listening) return;
    let slots = this.dialSlots();
    if (slots <= 0) return;
    const own = this.o.hello();
    const linkedPeers = new Set<string>();
    const linkedAddresses = new Set<string>();
    // linkedPeers holds peer ids and the search addresses their Hellos announced.
    for (const e of this.entries.values()) {
      // The Hello's address is only used to avoid a second link, never dialled.
      if (e.session.remote) linkedPeers.add(e.session.remote.peerId).add(e.session.remote.searchAddress);
      if (e.dialled) linkedAddresses.add(e.dialled);
    }
    // At random, so that an attacker cannot know (or steer by its place in a list) whom we dial.
    for (const candidate of shuffled(this.o.neighbours.candidates(), this.o.random ?? Math.random)) {
      if (slots <= 0) break;
      const address = candidate.searchAddress;
      const peerId = candidate.peerId ?? this.peerAt.get(address);
      if (address === own.searchAddress || this.selfAddresses.has(address) || peerId === own.peerId) continue;
      if (this.dialling.has(address) || linkedAddresses.has(address)) continue;
      if (linkedPeers.has(address) || (peerId !== undefined && linkedPeers.has(peerId))) continue;
      if (!this.backoff.ready(address)) continue;
      slots -= 1;
      // Only an id the source knows is expected; one learned by dialling a configured address is not
      // pinned (its peer may come back with a new key), it only keeps us from a second link.
      this.dial(address, candidate.peerId);
    }
  }

  /**
   * Dials we may start: every slot that no ready inbound link holds, and never fewer than the
   * outbound slots (inbound links cannot take those). Inbound handshakes do not count: a flood of
   * them must not stop us from dialling.
   */
  private dialSlots(): number {
    let inbound = 0;
    let outbound = this.dialling.size;
    for (const e of this.entries.values()) {
      if (e.direction === 'outbound') outbound += 1;
      else if (e.ready) inbound += 1;
    }
    return Math.max(this.outboundSlots, this.maxLinks - inbound) - outbound;
  }

  private dial(address: string, expected: string | undefined): void {
    this.dialling.add(address);
    // A dial that throws at once (an address it cannot parse) fails like one that does not connect.
    const attempt = Promise.resolve()
      .then(() => this.o.transport.dial(address, expected))
      .then(
        (connection) => {
          this.dialling.delete(address);
          if (this.stopping) connection.stream.destroy();
          else this.open(connection, 'outbound', address);
        },
        (err: Error) => {
          this.dialling.delete(address);
          const delay = this.backoff.fail(address);
          this.events.emit('change');
          if (isPeershareError(err) && err.code === 'PEER_ID_MISMATCH') {
            // Someone else answers where the candidate's record says it is: refused, both ids named.
            this.o.logger.warn(
              { address, expected, proven: err.details?.proven, retryInMs: delay },
              `link refused: ${err.message} at ${address}`,
            );
          } else {
            this.o.logger.debug({ address, err: err.message, retryInMs: delay }, 'dial failed');
          }
        },
      );
    this.pendingDials.add(attempt);
    // Opening the link can throw too: that ends this dial, not the process (stop() awaits attempts).
    void attempt
      .catch((err: unknown) => this.o.logger.warn({ address, err }, 'opening a dialled link failed'))
      .finally(() => this.pendingDials.delete(attempt));
  }

  private accept(connection: RawConnection): void {
    if (this.stopping) return void connection.stream.destroy();
    const subnet = subnetOf(connection.remoteIp, this.subnetBits);
    this.knocks.set(subnet, (this.knocks.get(subnet) ?? 0) + 1);
    const caps = { perIp: this.maxPerIp, perSubnet: this.maxPerSubnet, pending: 2 * this.maxLinks };
    const refusal = inboundRefusal([...this.entries.values()], connection.remoteIp, subnet, caps);
    const entry = this.open(connection, 'inbound');
    if (refusal) {
      this.counters.inboundRefused[refusal.cap] += 1;
      entry.session.close(refusal.message, 'UNAVAILABLE');
    }
  }

  private open(connection: RawConnection, direction: Entry['direction'], dialled?: string): Entry {
    const session = new PeerSession(connection.stream, {
      hello: this.o.hello(),
      timeouts: this.o.sessionTimeouts,
      remotePeerId: connection.peerId,
    });
    const id = `L${++this.nextId}`;
    const subnet = subnetOf(connection.remoteIp, this.subnetBits);
    const entry: Entry = {
      id,
      session,
      direction,
      remoteIp: connection.remoteIp,
      subnet,
      routes: new LinkRouteTables(this.routeEncodings),
      ready: false,
      since: Date.now(),
      ...(dialled ? { dialled } : {}),
    };
    this.entries.set(id, entry);
    session.on('ready', (hello) => this.onReady(entry, hello.peerId));
    session.on('message', (m) => {
      if (!entry.ready || !this.handler) return;
      if (m.case === 'query') this.handler.receiveQuery(id, m.value);
      else if (m.case === 'hit') {
        const fit = hitForLink(m.value, session.features);
        if (fit) this.handler.receiveHit(id, fit);
      } else if (m.case === 'routeTable') this.receiveRouteTable(entry, m.value);
      else this.handler.receivePush?.(id, m.value);
    });
    session.once('close', (info) => this.onClose(entry, info, connection.peerId));
    return entry;
  }

  private onReady(entry: Entry, peerId: string): void {
    if (entry.session.closeInfo) return;
    const own = this.o.hello().peerId;
    if (entry.dialled) this.peerAt.set(entry.dialled, peerId);
    if (peerId === own) {
      if (entry.dialled) this.selfAddresses.add(entry.dialled);
      return entry.session.close('a link to ourselves', 'BAD_REQUEST');
    }
    const existing = [...this.entries.values()].find((e) => e.ready && e.session.remote?.peerId === peerId);
    if (existing) {
      // One link replaces the other: the pair holds one slot either way, so no cap is checked
      // (both ends must keep the same link, or they would close both and flap).
      if (preferred(entry, existing, own, peerId) !== entry)
        return entry.session.close('duplicate link', 'UNAVAILABLE');
      this.retire(existing);
      existing.session.close('duplicate link', 'UNAVAILABLE');
    } else if (!this.makeRoom(entry)) {
      if (entry.direction === 'inbound') this.counters.inboundRefused.full += 1;
      return entry.session.close('link limit reached', 'UNAVAILABLE');
    }
    entry.ready = true;
    entry.since = Date.now();
    if (entry.dialled) this.backoff.succeed(entry.dialled);
    this.o.logger.debug({ link: entry.id, peerId, direction: entry.direction }, 'link up');
    this.handler?.linkReady?.(entry.id);
    this.events.emit('change');
  }

  /** Decode a neighbour's table against the one it sent before; one that does not decode closes the link. */
  private receiveRouteTable(entry: Entry, message: WireRouteTable): void {
    const counts = this.counters.routeTables;
    counts.received += 1;
    counts.bytesReceived += message.data.length;
    let table: RouteTable;
    try {
      table = entry.routes.incoming(message);
    } catch (err) {
      counts.refused += 1;
      this.retire(entry);
      return entry.session.reject(
        'invalid-route-table',
        `route table of level ${message.level}: ${(err as Error).message}`,
      );
    }
    this.handler?.receiveRouteTable?.(entry.id, message.level, table);
  }

  /**
   * Whether `entry` may become ready: an outbound link while any slot is free; an inbound one
   * while an inbound slot is free, or by evicting an inbound link that carries nothing useful.
   */
  private makeRoom(entry: Entry): boolean {
    const ready = [...this.entries.values()].filter((e) => e.ready);
    if (entry.direction === 'outbound') return ready.length < this.maxLinks;
    const inbound = ready.filter((e) => e.direction === 'inbound');
    if (ready.length < this.maxLinks && inbound.length < this.maxLinks - this.outboundSlots) return true;
    const victimId = chooseEviction(inbound, entry.subnet, {
      now: Date.now(),
      ...(this.o.protectUsefulMs !== undefined ? { protectUsefulMs: this.o.protectUsefulMs } : {}),
      knocks: (subnet) => this.knocks.get(subnet) ?? 0,
    });
    const victim = victimId === undefined ? undefined : this.entries.get(victimId);
    if (!victim) return false;
    this.counters.evictions += 1;
    // Debug, not info: an attacker decides how often this happens (the counter shows it).
    this.o.logger.debug(
      { link: victim.id, peerId: victim.session.remote?.peerId, remoteIp: victim.remoteIp, for: entry.remoteIp },
      'link evicted: it carried nothing useful and another peer needs the slot',
    );
    this.retire(victim);
    victim.session.close('evicted: the link carried nothing useful and another peer needs the slot', 'UNAVAILABLE');
    return true;
  }

  /** Take a link out of the flood at once, before its session has finished closing. */
  private retire(entry: Entry): void {
    if (!entry.ready) return;
    entry.ready = false;
    this.handler?.linkClosed(entry.id);
    this.events.emit('change');
  }

  private onClose(entry: Entry, info: CloseInfo, proven: string): void {
    const { reason, message } = info;
    if (reason === 'frame-timeout') this.counters.frameDeadlineCloses += 1;
    this.entries.delete(entry.id);
    this.retire(entry);
    // A dialled link that failed or died waits before being tried again; a duplicate does not matter.
    if (entry.dialled && message !== 'duplicate link') this.backoff.fail(entry.dialled);
    if (REFUSALS.has(reason)) {
      this.o.logger.warn(
        { link: entry.id, reason, peerId: proven, remoteIp: entry.remoteIp, direction: entry.direction },
        `link refused: ${message}`,
      );
    } else if (reason === 'closed-by-peer' && info.code !== 'UNAVAILABLE') {
      // The peer refused us (our version, our id, a message it found invalid): worth a line too.
      this.o.logger.warn(
        { link: entry.id, code: info.code, peerId: proven, direction: entry.direction },
        `link refused by the peer: ${message}`,
      );
    } else {
      this.o.logger.debug({ link: entry.id, reason, message }, 'link closed');
    }
    this.events.emit('change');
    if (!this.stopping) setImmediate(() => this.maintain());
  }

  private readyEntry(link: LinkId): Entry | undefined {
    const entry = this.entries.get(link);
    return entry?.ready ? entry : undefined;
  }
}
