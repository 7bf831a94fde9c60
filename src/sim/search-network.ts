/**
 * Many Search engines (the project's own SearchEngine, with its FloodRouter, SeenCache, LinkGuard
 * and ActiveSearch) joined by an in-memory overlay and driven by one simulated clock. A Query or
 * Hit sent over a link becomes an event at now + the link's latency; nothing is encoded, the
 * message object itself is handed to the receiving engine. Deadlines the engines schedule are
 * events on the same timeline.
 *
 * The engines consult their LocalIndex asynchronously (a promise) and answer in its continuation;
 * a holder's answer must leave at the simulated time its query arrived, so after a delivery that
 * matched, the run lets pending promise callbacks finish before the clock moves on.
 *
 * Shared between peers where the engine allows: the clock, the random source, the address
 * functions and the arrays of link ids (a peer's links are its slot numbers "0".."deg-1").
 */
import type { Hit, Query } from '../protocol/gen/wire_pb.ts';
import type { Random } from '../fetch/domain/random.ts';
import type { Cancel, Clock, IndexEntry, LinkId, Links, LocalIndex } from '../search/ports.ts';
import { SearchEngine, type DynamicQuerying } from '../search/domain/search-engine.ts';
import { EventQueue } from './event-queue.ts';
import type { Overlay } from './overlay.ts';

/** Deliveries between two looks at pending promise callbacks when nothing matched, so they stay few. */
const DRAIN_EVERY = 4_096;
/** The simulated clock starts at a plausible epoch time, as the engines' clocks would. */
const EPOCH_MS = 1_700_000_000_000;

type SimEvent =
  | {
      readonly at: number;
      seq: number;
      readonly kind: 'query';
      readonly peer: number;
      readonly slot: number;
      readonly query: Query;
    }
  | {
      readonly at: number;
      seq: number;
      readonly kind: 'hit';
      readonly peer: number;
      readonly slot: number;
      readonly hit: Hit;
    }
  | { readonly at: number; seq: number; readonly kind: 'timer'; readonly fn: () => void; cancelled: boolean };

/** What the network saw of a delivery of a Query, for measurements. */
/** The key and signature of every simulated identity (no pushes, so never checked). */
const NO_KEY = Buffer.alloc(32);
const NO_SIGNATURE = Buffer.alloc(64);

export interface QueryObserver {
  /** `peer` handled the query (first copy), `hops` links from its origin. */
  accepted(peer: number, hops: number): void;
  /** `peer` dropped a copy it had already handled. */
  duplicate(peer: number): void;
  /** `peer` forwarded again, as `messages` Query frames, a copy with more TTL than any before it. */
  reforwarded(peer: number, messages: number): void;
}

/** The one file every holder shares, under the one term a search asks for. */
export interface SharedFile {
  readonly term: string;
  readonly entry: IndexEntry;
  readonly holders: Uint8Array;
}

/** What a search's file does to the peers' route tables (route-tables.ts SimRouteTables). */
export interface SharedFileRoutes {
  /** Add the file to its holders' tables and propagate; returns what undoes it. */
  share(holders: Uint8Array, term: string, fileId: string): () => void;
}

export class SearchNetwork {
  readonly engines: SearchEngine[] = [];
  /** Messages sent (lost ones included: a sender cannot tell), and those lost on the way. */
  readonly traffic = { queries: 0, hits: 0, lost: 0 };
  private readonly loss: number;
  private readonly churn: number;
  private readonly lossRandom: Random | undefined;
  /** down[p] = 1 while peer p is down (churn). */
  readonly down: Uint8Array;
  /** Errors the engines reported (none expected: the index never fails). */
  readonly errors: unknown[] = [];
  observer: QueryObserver | undefined;
  /** What the peers share now; holders[p] = 1 when peer p holds it. */
  file: SharedFile | undefined;
  /** The peers' query routing tables (route-tables.ts), when the engines route (routeLevels > 0). */
  routes: SharedFileRoutes | undefined;
  private readonly idsByDegree: ReadonlyArray<readonly LinkId[]>;
  private time = EPOCH_MS;
  private readonly queue = new EventQueue<SimEvent>();
  private answered = false;
  private sinceDrain = 0;
  readonly clock: Clock = {
    now: () => this.time,
    epochMs: () => this.time,
    schedule: (ms: number, fn: () => void): Cancel => {
      const event: SimEvent = { at: this.time + ms, seq: 0, kind: 'timer', fn, cancelled: false };
      this.queue.push(event);
      return () => (event.cancelled = true);
    },
  };

  constructor(
    readonly overlay: Overlay,
    random: Random,
    options: {
      maxTtl?: number;
      routeLevels?: number;
      reforward?: boolean;
      /** FloodRouterOptions.reforwardBelow (default: any copy with more TTL). */
      reforwardBelow?: number;
      /** Fraction of Query and Hit messages lost on the way, drawn from `lossRandom` (its own seed, so the rest replays). */
      loss?: number;
      lossRandom?: Random;
      /**
       * Fraction of peers down during each search (crashed since their neighbours last heard from
       * them: what is sent to them is lost, their tables still stand at their neighbours), drawn
       * afresh before each search from `lossRandom`; the last search's come back, as peers rejoin.
       */
      churn?: number;
      /** Dynamic querying's steps (SearchEngineOptions.dynamic; default DEFAULT_DYNAMIC_QUERYING). */
      dynamic?: Partial<DynamicQuerying>;
    } = {},
  ) {
    this.loss = options.loss ?? 0;
    this.churn = options.churn ?? 0;
    this.lossRandom = options.lossRandom;
    this.down = new Uint8Array(overlay.peers);
    if ((this.loss > 0 || this.churn > 0) && this.lossRandom === undefined)
      throw new Error('loss and churn need their own random source');
    const slotIds = Array.from(
      { length: Math.max(0, ...Array.from({ length: overlay.peers }, (_, p) => overlay.degreeOf(p))) },
      (_, s) => String(s),
    );
    const idsByDegree = slotIds.map((_, d) => slotIds.slice(0, d)).concat([slotIds]);
    this.idsByDegree = idsByDegree;
    const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random.next() * 256));
    const address = () => 'sim:0';
    for (let p = 0; p < overlay.peers; p++) {
      this.engines.push(
        new SearchEngine({
          // Peers here never push, so nothing is signed: a name is all an identity needs to be.
          identity: { peerId: `p${p}`, publicKey: NO_KEY, sign: () => NO_SIGNATURE },
          searchAddress: address,
          filesAddress: address,
          index: new SimIndex(this, p),
          links: new SimLinks(this, p, idsByDegree[overlay.degreeOf(p)]!),
          clock: this.clock,
          randomBytes,
          router: { maxTtl: options.maxTtl, reforward: options.reforward, reforwardBelow: options.reforwardBelow },
          // Tables are set by route-tables.ts, not sent over links: without them every copy goes, as in a flood.
          routing: { levels: options.routeLevels ?? 0 },
          ...(options.dynamic ? { dynamic: options.dynamic } : {}),
          onError: (err) => this.errors.push(err),
        }),
      );
    }
  }

  now(): number {
    return this.time;
  }

  /** The link ids of peer `peer` (its slots). */
  linkIds(peer: number): readonly LinkId[] {
    return this.idsByDegree[this.overlay.degreeOf(peer)]!;
  }

  /** Churn: draw the peers down for the next search (none without churn). */
  redrawDown(): void {
    this.down.fill(0);
    if (this.churn <= 0) return;
    for (let p = 0; p < this.overlay.peers; p++) if (this.lossRandom!.next() < this.churn) this.down[p] = 1;
  }

  /** Move the clock forward with nothing happening (no event may be pending). */
  idle(ms: number): void {
    if (this.queue.size > 0) throw new Error('idle() with events pending');
    this.time += ms;
  }

  /** Run every event, in time order, until none is left. */
  async run(): Promise<void> {
    await this.settle();
    for (let event = this.queue.pop(); event !== undefined; event = this.queue.pop()) {
      this.time = event.at;
      this.deliver(event);
      if (this.answered || ++this.sinceDrain >= DRAIN_EVERY) await this.settle();
    }
  }

  /** Peer `peer` sends over its slot `slot`: the message arrives after the link's latency. */
  send(peer: number, slot: number, message: { kind: 'query'; query: Query } | { kind: 'hit'; hit: Hit }): boolean {
    if (!(slot >= 0 && slot < this.overlay.degreeOf(peer))) return false;
    const at = this.time + this.overlay.latency(peer, slot);
    const to = this.overlay.neighbour(peer, slot);
    const back = this.overlay.backSlot(peer, slot);
    const lost = this.down[to] === 1 || (this.loss > 0 && this.lossRandom!.next() < this.loss);
    if (lost) this.traffic.lost += 1;
    if (message.kind === 'query') {
      this.traffic.queries += 1;
      if (!lost) this.queue.push({ at, seq: 0, kind: 'query', peer: to, slot: back, query: message.query });
    } else {
      this.traffic.hits += 1;
      if (!lost) this.queue.push({ at, seq: 0, kind: 'hit', peer: to, slot: back, hit: message.hit });
    }
    return true;
  }

  /** A holder matched: its answer must be sent before the clock moves. */
  markAnswered(): void {
    this.answered = true;
  }

  private deliver(event: SimEvent): void {
    if (event.kind === 'timer') {
      if (!event.cancelled) event.fn();
      return;
    }
    const engine = this.engines[event.peer]!;
    if (event.kind === 'hit') {
      engine.receiveHit(String(event.slot), event.hit);
      return;
    }
    const counters = engine.counters;
    const { queriesAccepted: accepted, queriesReforwarded: reforwarded, queriesSent: sent } = counters;
    const duplicates = counters.queriesDropped.duplicate;
    engine.receiveQuery(String(event.slot), event.query);
    if (counters.queriesAccepted > accepted) this.observer?.accepted(event.peer, event.query.hops + 1);
    else if (counters.queriesDropped.duplicate > duplicates) this.observer?.duplicate(event.peer);
    else if (counters.queriesReforwarded > reforwarded)
      this.observer?.reforwarded(event.peer, counters.queriesSent - sent);
  }

  /** Let every pending promise callback run (a macrotask turn drains them all). */
  private async settle(): Promise<void> {
    this.answered = false;
    this.sinceDrain = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** A peer's links: its overlay slots. */
class SimLinks implements Links {
  constructor(
    private readonly net: SearchNetwork,
    private readonly peer: number,
    private readonly slotIds: readonly LinkId[],
  ) {}

  ids(): readonly LinkId[] {
    return this.slotIds;
  }

  sendQuery(link: LinkId, query: Query): boolean {
    return this.net.send(this.peer, Number(link), { kind: 'query', query });
  }

  sendHit(link: LinkId, hit: Hit): boolean {
    return this.net.send(this.peer, Number(link), { kind: 'hit', hit });
  }

  disconnect(link: LinkId, reason: string): void {
    // The overlay is fixed in this increment; a disconnect would mean the rate limit fired.
    this.net.errors.push(new Error(`peer ${this.peer} cut link ${link}: ${reason}`));
  }
}

/** A peer's shares: the network's one file when this peer holds it. */
class SimIndex implements LocalIndex {
  constructor(
    private readonly net: SearchNetwork,
    private readonly peer: number,
  ) {}

  parseTerms(text: string): string[] {
    return text.split(/\s+/).filter((t) => t !== '');
  }

  match(terms: readonly string[]): Promise<IndexEntry[]> {
    return Promise.resolve(this.holds() && terms.length === 1 && terms[0] === this.net.file!.term ? this.answer() : []);
  }

  lookup(fileId: string): Promise<IndexEntry[]> {
    return Promise.resolve(this.holds() && fileId === this.net.file!.entry.id ? this.answer() : []);
  }

  private holds(): boolean {
    return this.net.file?.holders[this.peer] === 1;
  }

  private answer(): IndexEntry[] {
    this.net.markAnswered();
    return [this.net.file!.entry];
  }
}
