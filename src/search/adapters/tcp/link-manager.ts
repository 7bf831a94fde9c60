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
 * - at most `maxLinks` ready links, at most `maxLinksPerIp` links or handshakes per remote IP.
 * It implements the domain's Links port and hands every Query and Hit to the engine.
 */
import { EventEmitter } from 'node:events';
import { encodeFrame } from '../../../protocol/codec.ts';
import type { Hit, Query } from '../../../protocol/gen/wire_pb.ts';
import { PeerSession, type LocalHello, type SessionTimeouts } from '../../../protocol/session.ts';
import type { CloseInfo, CloseReason } from '../../../protocol/close-reasons.ts';
import { isPeershareError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logging.ts';
import type { LinkId, LinkInfo, Links, NeighbourSource } from '../../ports.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { Listening, RawConnection, StreamTransport } from './transport.ts';

export const DEFAULT_MAX_LINKS = 8;
export const DEFAULT_MAX_LINKS_PER_IP = 4;
export const DEFAULT_MAINTAIN_INTERVAL_MS = 1_000;

/** Closes that mean the peer is not one we may link to (the log says so above debug level). */
const REFUSALS: ReadonlySet<CloseReason> = new Set(['peer-mismatch', 'version-mismatch']);

/** Where the link manager delivers what neighbours send (the SearchEngine). */
export interface LinkHandler {
  receiveQuery(link: LinkId, query: Query): void;
  receiveHit(link: LinkId, hit: Hit): void;
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
  readonly maintainIntervalMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly sessionTimeouts?: Partial<SessionTimeouts>;
}

interface Entry {
  readonly id: LinkId;
  readonly session: PeerSession;
  readonly direction: 'inbound' | 'outbound';
  readonly remoteIp: string;
  /** The candidate address we dialled (outbound links only). */
  readonly dialled?: string;
  ready: boolean;
  since: number;
}

export class LinkManager implements Links {
  /** 'change' whenever a link comes up or goes down, or a dial fails (for tests and the local API). */
  readonly events = new EventEmitter<{ change: [] }>();
  private readonly entries = new Map<LinkId, Entry>();
  private readonly encoded = new WeakMap<Query, Uint8Array>();
  private readonly dialling = new Set<string>();
  private readonly selfAddresses = new Set<string>();
  /** Peer ids learned by dialling a candidate given without one. */
  private readonly peerAt = new Map<string, string>();
  private readonly backoff: Backoff;
  private readonly maxLinks: number;
  private readonly maxPerIp: number;
  private handler: LinkHandler | undefined;
  private listening: Listening | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingDials = new Set<Promise<void>>();
  private nextId = 0;
  private stopping = false;

  constructor(private readonly o: LinkManagerOptions) {
    this.maxLinks = o.maxLinks ?? DEFAULT_MAX_LINKS;
    this.maxPerIp = o.maxLinksPerIp ?? DEFAULT_MAX_LINKS_PER_IP;
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
    const closed = [...this.entries.values()].map((e) => new Promise<void>((resolve) => {
      e.session.once('close', () => resolve());
      e.session.close('shutting down', 'UNAVAILABLE');
    }));
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
    return [...this.entries.values()].filter((e) => e.ready).map((e) => ({
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

  sendHit(link: LinkId, hit: Hit): boolean {
    return this.readyEntry(link)?.session.send({ case: 'hit', value: hit }) ?? false;
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
    let slots = this.maxLinks - this.entries.size - this.dialling.size;
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
    for (const candidate of this.o.neighbours.candidates()) {
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

  private dial(address: string, expected: string | undefined): void {
    this.dialling.add(address);
    // A dial that throws at once (an address it cannot parse) fails like one that does not connect.
    const attempt = Promise.resolve().then(() => this.o.transport.dial(address, expected)).then(
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
          this.o.logger.warn({ address, expected, proven: err.details?.proven, retryInMs: delay }, `link refused: ${err.message} at ${address}`);
        } else {
          this.o.logger.debug({ address, err: err.message, retryInMs: delay }, 'dial failed');
        }
      },
    );
    this.pendingDials.add(attempt);
    // Opening the link can throw too: that ends this dial, not the process (stop() awaits attempts).
    void attempt.catch((err: unknown) => this.o.logger.warn({ address, err }, 'opening a dialled link failed')).finally(() => this.pendingDials.delete(attempt));
  }

  private accept(connection: RawConnection): void {
    if (this.stopping) return void connection.stream.destroy();
    let fromIp = 0;
    for (const e of this.entries.values()) if (e.remoteIp === connection.remoteIp) fromIp += 1;
    const entry = this.open(connection, 'inbound');
    // Handshakes count too: a burst of half-open connections from one address is capped as well.
    if (fromIp >= this.maxPerIp) entry.session.close(`too many links from ${connection.remoteIp}`, 'UNAVAILABLE');
    else if (this.entries.size > 2 * this.maxLinks) entry.session.close('too many pending links', 'UNAVAILABLE');
  }

  private open(connection: RawConnection, direction: Entry['direction'], dialled?: string): Entry {
    const session = new PeerSession(connection.stream, { hello: this.o.hello(), timeouts: this.o.sessionTimeouts, remotePeerId: connection.peerId });
    const id = `L${++this.nextId}`;
    const entry: Entry = { id, session, direction, remoteIp: connection.remoteIp, ready: false, since: Date.now(), ...(dialled ? { dialled } : {}) };
    this.entries.set(id, entry);
    session.on('ready', (hello) => this.onReady(entry, hello.peerId));
    session.on('message', (m) => {
      if (!entry.ready || !this.handler) return;
      if (m.case === 'query') this.handler.receiveQuery(id, m.value);
      else this.handler.receiveHit(id, m.value);
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
      if (preferred(entry, existing, own, peerId) !== entry) return entry.session.close('duplicate link', 'UNAVAILABLE');
      this.retire(existing);
      existing.session.close('duplicate link', 'UNAVAILABLE');
    }
    if (this.ids().length >= this.maxLinks) return entry.session.close('link limit reached', 'UNAVAILABLE');
    entry.ready = true;
    entry.since = Date.now();
    if (entry.dialled) this.backoff.succeed(entry.dialled);
    this.o.logger.debug({ link: entry.id, peerId, direction: entry.direction }, 'link up');
    this.events.emit('change');
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
    this.entries.delete(entry.id);
    this.retire(entry);
    // A dialled link that failed or died waits before being tried again; a duplicate does not matter.
    if (entry.dialled && message !== 'duplicate link') this.backoff.fail(entry.dialled);
    if (REFUSALS.has(reason)) {
      this.o.logger.warn({ link: entry.id, reason, peerId: proven, remoteIp: entry.remoteIp, direction: entry.direction }, `link refused: ${message}`);
    } else if (reason === 'closed-by-peer' && info.code !== 'UNAVAILABLE') {
      // The peer refused us (our version, our id, a message it found invalid): worth a line too.
      this.o.logger.warn({ link: entry.id, code: info.code, peerId: proven, direction: entry.direction }, `link refused by the peer: ${message}`);
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

/**
 * Of two links between the same pair of peers, the one both ends keep: the one dialled by the
 * lower peer id; if the same peer dialled both, the one whose dialler's Hello nonce is lower.
 * Both ends see the same ids and nonces, so they agree without another message.
 */
function preferred(a: Entry, b: Entry, own: string, remote: string): Entry {
  const dialler = (e: Entry) => (e.direction === 'outbound' ? own : remote);
  const lower = own < remote ? own : remote;
  if (dialler(a) !== dialler(b)) return dialler(a) === lower ? a : b;
  const nonce = (e: Entry) => Buffer.from(e.direction === 'outbound' ? e.session.localNonce : e.session.remote!.nonce);
  return Buffer.compare(nonce(a), nonce(b)) <= 0 ? a : b;
}
