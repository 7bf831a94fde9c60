/**
 * The Search use cases over the ports: start a search (local matches, then a flood), and handle
 * what neighbours send — queries (admit, route, answer, forward) and hits (deliver, pass back
 * along the reverse path, or drop). Nothing here waits on a neighbour: sends never block, the
 * local index is consulted after the query has been forwarded, and a search ends at its deadline
 * whatever the branches do (or sooner: its result cap, or as many answers as it wants). Counters
 * let tests and the benchmark count every message.
 */
import { MAX_WANT, SEARCH_DEFAULTS } from '../../shared/defaults.ts';
import { PeershareError } from '../../shared/errors.ts';
import { filesHostPort } from '../../shared/peer-address.ts';
import { create } from '@bufbuild/protobuf';
import { HitSchema, PushSchema, QuerySchema, type Hit, type Push, type Query } from '../../protocol/gen/wire_pb.ts';
import { MAX_RESULTS_PER_HIT, PUSH_NONCE_BYTES, QUERY_NONCE_BYTES } from '../../protocol/limits.ts';
import { DEFAULT_PUSH_SETTINGS, PushRouter, PushSendLimit, type PushSettings } from './push.ts';
import { checkPushSignature, signPush, type PushRejection } from './push-signature.ts';
import type { Clock, IndexEntry, LinkId, Links, LocalIndex } from '../ports.ts';
import { ActiveSearch, type SearchHit } from './active-search.ts';
import { FloodRouter, queryKey, type FloodRouterOptions, type Forward } from './flood-router.ts';
import { DEFAULT_RATE_LIMITS, LinkGuard, type RateLimits } from './link-guard.ts';
import { newCounters, type SearchCounters } from './counters.ts';
import type { Signer } from '../../shared/keys.ts';
import { isSafeFileName } from '../../shared/names.ts';
import { localSearchLimiter, type LocalSearchLimiter } from './local-limit.ts';
import { QueryRouting } from './query-routing.ts';
import { TokenBucket } from './token-bucket.ts';
import { MAX_ROUTE_LEVELS } from '../../protocol/limits.ts';
import type { RouteTable } from '../../protocol/route-table.ts';
import type { Cancel } from '../../shared/clock.ts';

export const DEFAULT_SEARCH_TIMEOUT_MS = SEARCH_DEFAULTS.timeoutMs;
export const DEFAULT_RESULT_LIMIT = 1_000;
/** Results one peer answers a query with (one full Hit). */
export const DEFAULT_MAX_LOCAL_RESULTS = MAX_RESULTS_PER_HIT;

export interface SearchRequest {
  /** Folded terms (see LocalIndex.parseTerms); exactly one of terms and fileId. */
  readonly terms?: readonly string[];
  readonly fileId?: string;
  readonly ttl?: number;
  readonly timeoutMs?: number;
  readonly limit?: number;
  /**
   * Dynamic querying: search near first and widen only while fewer than this many other peers
   * have answered (TTLs `DynamicQuerying.ttlSteps` below `ttl`, then `ttl`, one step every
   * `stepMs`, sooner under a short deadline: LAST_STEP_BY), and end as soon as this many have
   * ('enough'). Unset: one flood at `ttl`, to the deadline.
   */
  readonly want?: number;
}

/** How a search with `want` widens (dynamic querying, as Gnutella's LimeWire did it on a flat overlay). */
export interface DynamicQuerying {
  /** TTLs tried before the request's own, in increasing order (those not below it are skipped). */
  readonly ttlSteps: readonly number[];
  /** Time a step waits for hits before the next, wider one. */
  readonly stepMs: number;
}

export const DEFAULT_DYNAMIC_QUERYING: DynamicQuerying = { ttlSteps: [2, 4], stepMs: 1_000 };
/**
 * The widest step of a search starts by this fraction of its deadline at the latest: under a
 * deadline shorter than the steps take (`get --name --timeout 1`), the steps come faster rather
 * than the search ending before it reached its own TTL. The rest is left for the widest step's
 * answers to come back.
 */
export const LAST_STEP_BY = 0.75;

/**
 * Once `want` other peers have answered, a search stops widening but takes answers a while
 * longer before it ends ('enough'): as long again as it took to get there, at least this long
 * (and never past its deadline). A hit names its holder unverified, so one hostile peer near the
 * searcher can name `want` made-up holders in its first milliseconds; ending then would shut
 * out every honest answer (the Client's vote would have nothing to weigh). Honest answers from
 * as far as the ones that made it enough are in by then.
 */
export const ENOUGH_GRACE_MIN_MS = 500;

/** Query routing (query-routing.ts): how many levels of route table, and how often they move. */
export interface RoutingSettings {
  /** Levels of table sent and used (0: none, a plain flood). */
  readonly levels: number;
  /** Least time between two updates of our tables over one link: changes in between are coalesced. */
  readonly updateMs: number;
  /** How often our own table is read again from the index (and at start). */
  readonly refreshMs: number;
  /** How long a new link's tables are awaited before a level it has not sent counts as full (query-routing.ts). */
  readonly awaitTablesMs: number;
  /** Tables one link may send at once, and per second on average; a link that sends more is cut. */
  readonly tableBurst: number;
  readonly tablesPerSecond: number;
}

/**
 * One update per link per second: a new share reaches a level d table d seconds or so after it is
 * read, so the routed hops of a search made just after sharing rarely miss it.
 */
export const DEFAULT_ROUTE_UPDATE_MS = 1_000;
/** Reading an unchanged table is one counter lookup (File Management rebuilds only on a change of names). */
export const DEFAULT_ROUTE_REFRESH_MS = 1_000;
/**
 * A neighbour sends its tables as soon as the link is up, all levels at once: a round trip.
 * One that has sent none after this (an earlier release, a link without "qrp") is flooded to.
 */
export const DEFAULT_ROUTE_AWAIT_TABLES_MS = 2 * DEFAULT_ROUTE_UPDATE_MS;
/**
 * An honest neighbour sends at most MAX_ROUTE_LEVELS tables per update interval (its first ones at
 * once when the link comes up): the bound allows twice that, and three intervals' worth at once.
 */
export const DEFAULT_ROUTING: RoutingSettings = {
  levels: SEARCH_DEFAULTS.routeLevels,
  updateMs: DEFAULT_ROUTE_UPDATE_MS,
  refreshMs: DEFAULT_ROUTE_REFRESH_MS,
  awaitTablesMs: DEFAULT_ROUTE_AWAIT_TABLES_MS,
  tableBurst: 3 * MAX_ROUTE_LEVELS,
  tablesPerSecond: (2 * MAX_ROUTE_LEVELS * 1_000) / DEFAULT_ROUTE_UPDATE_MS,
};

export interface SearchEngineOptions {
  /** Our identity: its id names our queries, hits and pushes; its key signs our pushes. */
  readonly identity: Signer;
  /** Our Search and File Management addresses (host:port), as announced (known once the listeners are bound). */
  readonly searchAddress: () => string;
  readonly filesAddress: () => string;
  readonly index: LocalIndex;
  readonly links: Links;
  readonly clock: Clock;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly router?: Omit<FloodRouterOptions, 'now'>;
  /** TTL of a search when the request does not say (clamped to the router's maximum). */
  readonly defaultTtl?: number;
  readonly defaultTimeoutMs?: number;
  readonly rateLimits?: RateLimits;
  /** Searches this peer's own users may start per second; kept below what neighbours accept (local-limit.ts). */
  readonly searchesPerSecond?: number;
  readonly maxLocalResults?: number;
  readonly dynamic?: Partial<DynamicQuerying>;
  /** Query routing: levels of route table (SEARCH_DEFAULTS.routeLevels unless given; 0: off) and its pace. */
  readonly routing?: Partial<RoutingSettings>;
  /** Told when something goes wrong that is not a peer's fault (the index failing). */
  readonly onError?: (err: unknown) => void;
  /** PUSH (push.ts): its bounds, and who acts on a push for this peer (the connect-back, after its own checks). */
  readonly push?: Partial<PushSettings>;
  readonly onPush?: (push: Push) => void;
  /** Told of a push for this peer ignored because its requester did not sign it within the window. */
  readonly onPushRefused?: (push: Push, reason: PushRejection) => void;
}

/** What the engine did with pushes, for tests and /health. */
export interface PushCounters {
  sent: number;
  /** Our own pushes not sent: over the per-holder limit, or no route toward the holder. */
  sendRateLimited: number;
  sendNoRoute: number;
  received: number;
  forwarded: number;
  /** Pushes for this peer handed to onPush: signed by their requester, within the window. */
  delivered: number;
  dropped: { duplicate: number; 'ttl-exhausted': number; 'no-route': number };
  /** Pushes for this peer ignored, by why (push-signature.ts): never handed to onPush. */
  refused: Record<PushRejection, number>;
}

export class SearchEngine {
  readonly counters: SearchCounters = newCounters();
  readonly router: FloodRouter;
  private readonly guard: LinkGuard;
  private readonly localLimit: LocalSearchLimiter;
  private readonly dynamic: DynamicQuerying;
  /** The neighbours' route tables and ours (query-routing.ts). */
  readonly routing: QueryRouting;
  private readonly routingSettings: RoutingSettings;
  /** Per link: the tables we last sent it (by level) and when. */
  private readonly tablesSent = new Map<LinkId, { tables: Array<RouteTable | undefined>; at: number }>();
  private readonly tableRate = new Map<LinkId, TokenBucket>();
  private cancelFlush: Cancel | undefined;
  /** The end of the wait for each new link's tables (one per link come up in the last awaitTablesMs). */
  private readonly tableWaits = new Map<LinkId, Cancel>();
  private cancelRefresh: Cancel | undefined;
  private readonly active = new Map<string, ActiveSearch>();
  private readonly now: () => number;
  readonly pushRouter: PushRouter;
  private readonly pushSendLimit: PushSendLimit;
  private readonly pushSettings: PushSettings;
  readonly pushCounters: PushCounters = {
    sent: 0,
    sendRateLimited: 0,
    sendNoRoute: 0,
    received: 0,
    forwarded: 0,
    delivered: 0,
    dropped: { duplicate: 0, 'ttl-exhausted': 0, 'no-route': 0 },
    refused: { unsigned: 0, 'key-mismatch': 0, stale: 0, 'bad-signature': 0 },
  };

  constructor(private readonly o: SearchEngineOptions) {
    this.now = () => o.clock.now();
    this.pushSettings = { ...DEFAULT_PUSH_SETTINGS, ...o.push };
    this.pushRouter = new PushRouter(this.pushSettings, o.identity.peerId, this.now);
    this.pushSendLimit = new PushSendLimit(this.pushSettings);
    this.router = new FloodRouter({ ...o.router, now: this.now });
    this.guard = new LinkGuard(o.rateLimits ?? DEFAULT_RATE_LIMITS, this.now);
    this.dynamic = { ...DEFAULT_DYNAMIC_QUERYING, ...o.dynamic };
    this.routingSettings = { ...DEFAULT_ROUTING, ...o.routing };
    this.routing = new QueryRouting(this.routingSettings.levels);
    this.localLimit = localSearchLimiter(o.rateLimits ?? DEFAULT_RATE_LIMITS, o.searchesPerSecond, this.now);
  }

  /**
   * Start a search: our own matches first (hops 0), then the query to every link. Throws
   * RATE_LIMITED (with retryAfterSeconds) past the local search limit, so that our own users
   * never make our neighbours cut us off.
   */
  search(request: SearchRequest): ActiveSearch {
    const { want } = request;
    if (want !== undefined && !(Number.isInteger(want) && want >= 1 && want <= MAX_WANT)) {
      // The Search API's schema refuses it first; this keeps other callers honest (0 would end at the first answer).
      throw new PeershareError('BAD_REQUEST', `want must be an integer from 1 to ${MAX_WANT}, not ${want}`);
    }
    const refused = this.localLimit.take();
    if (refused) {
      this.counters.searchesRateLimited += 1;
      throw refused;
    }
    const timeoutMs = request.timeoutMs ?? this.o.defaultTimeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
    const ttls = this.ttlsOf(request);
    const keys: string[] = [];
    let cancelDeadline = () => {};
    let cancelStep = () => {};
    /** `want` reached: no more steps, the search ends after its grace. */
    let enough = false;
    const firstId = this.newQueryId();
    const startedAt = this.now();
    const search = new ActiveSearch(
      firstId.key,
      startedAt,
      request.limit ?? DEFAULT_RESULT_LIMIT,
      this.now,
      () => {
        cancelDeadline();
        cancelStep();
        for (const key of keys) this.active.delete(key);
      },
      request.want,
      () => {
        // Stop widening; take answers for the grace, then end (the deadline timer stays, whichever comes first).
        enough = true;
        cancelStep();
        const graceMs = Math.max(ENOUGH_GRACE_MIN_MS, this.now() - startedAt);
        cancelStep = this.o.clock.schedule(graceMs, () => search.end('enough'));
      },
    );
    cancelDeadline = this.o.clock.schedule(timeoutMs, () => search.end('deadline'));
    this.counters.searchesStarted += 1;
    keys.push(firstId.key); // before the flood: a network that answers at once finds the search
    const firstQuery = this.flood(search, firstId, request, ttls[0]!);
    void this.matchLocally(firstQuery)
      .then((entries) => {
        for (const e of entries) search.add(this.toSearchHit(e, this.o.identity.peerId, this.o.filesAddress(), 0));
      })
      .catch((err: unknown) => this.o.onError?.(err)); // this search goes on without our own matches

    // Dynamic querying: each wider step is a query of its own (a new id: the peers the last step
    // reached have seen that one), answered into the same search. A search that has its `want`
    // widens no more (it ends after ENOUGH_GRACE_MIN_MS or longer). Step n is due n steps after
    // the start, not after the step before ran, so a late timer on a busy peer does not push the
    // widest step past the deadline.
    const stepMs = this.stepMsOf(timeoutMs, ttls.length);
    const scheduleStep = (step: number): void => {
      if (step < ttls.length && !enough && !search.ended)
        cancelStep = this.o.clock.schedule(startedAt + step * stepMs - this.now(), () => widen(step));
    };
    const widen = (step: number): void => {
      if (search.ended || enough) return;
      if (this.localLimit.take()) return; // our neighbours would refuse it: the search keeps what it has
      this.counters.searchesWidened += 1;
      const id = this.newQueryId();
      keys.push(id.key);
      this.flood(search, id, request, ttls[step]!);
      scheduleStep(step + 1);
    };
    scheduleStep(1);
    return search;
  }

  /** Time between steps: `stepMs`, or less, so that the widest of `steps` starts by LAST_STEP_BY of the deadline. */
  private stepMsOf(timeoutMs: number, steps: number): number {
    if (steps <= 1) return this.dynamic.stepMs;
    return Math.min(this.dynamic.stepMs, (LAST_STEP_BY * timeoutMs) / (steps - 1));
  }

  /** The TTL of each step of a search: one, or (dynamic querying, `want`) the steps below its own, then its own. */
  private ttlsOf(request: SearchRequest): number[] {
    const ttl = Math.min(
      Math.max(1, Math.floor(request.ttl ?? this.o.defaultTtl ?? this.router.maxTtl)),
      this.router.maxTtl,
    );
    if (request.want === undefined) return [ttl];
    return [...this.dynamic.ttlSteps.filter((step) => step >= 1 && step < ttl), ttl];
  }

  private newQueryId(): { nonce: Uint8Array; key: string } {
    const nonce = this.o.randomBytes(QUERY_NONCE_BYTES);
    return { nonce, key: queryKey(nonce, this.o.identity.peerId) };
  }

  /** Send one flood of `search` with `ttl` under the query id `id` (its hits go to `search`). */
  private flood(
    search: ActiveSearch,
    { nonce, key }: { nonce: Uint8Array; key: string },
    request: SearchRequest,
    ttl: number,
  ): Query {
    this.active.set(key, search);
    const forward = this.router.originate(key, ttl, this.o.links.ids());
    const id = { nonce, originPeerId: this.o.identity.peerId, originAddress: this.o.searchAddress() };
    const query = create(QuerySchema, {
      id,
      terms: [...(request.terms ?? [])],
      fileId: request.fileId ?? '',
      ttl: forward.ttl,
      hops: 0,
    });
    this.sendQueries(forward.to, query);
    return query;
  }

  /** A Query arrived over `link`. */
  receiveQuery(link: LinkId, query: Query): void {
    this.counters.queriesReceived += 1;
    const admission = this.guard.admit(link, this.o.links.peerOf?.(link));
    if (admission !== 'admit') {
      this.counters.queriesRateLimited += 1;
      if (admission === 'disconnect') this.disconnect(link, 'query rate limit exceeded');
      return;
    }
    const key = queryKey(query.id!.nonce, query.id!.originPeerId);
    const decision = this.router.receive(link, { key, ttl: query.ttl, hops: query.hops }, this.o.links.ids());
    if (decision.action === 'drop') {
      this.counters.queriesDropped[decision.reason] += 1;
      return;
    }
    if (decision.action === 'reforward') {
      // Handled before, but this copy goes further (flood-router.ts): forwarded, not answered again.
      this.counters.queriesReforwarded += 1;
      this.forwardQuery(query, decision.forward);
      return;
    }
    this.counters.queriesAccepted += 1;
    this.o.links.markUseful?.(link);
    // Forward before consulting the index, so the flood never waits for this peer's answer.
    if (decision.forward) this.forwardQuery(query, decision.forward);
    void this.matchLocally(query)
      .then((entries) => this.answer(key, query, entries, decision.hops))
      .catch((err: unknown) => this.o.onError?.(err)); // no answer to this query
  }

  /** Pass `query` on as the router decided (its TTL and hops). */
  private forwardQuery(query: Query, forward: Forward): void {
    this.sendQueries(forward.to, create(QuerySchema, { ...query, ttl: forward.ttl, hops: forward.hops }));
  }

  /** A Hit arrived over `link`: deliver it to our search, or pass it back toward the origin. */
  receiveHit(link: LinkId, hit: Hit): void {
    this.counters.hitsReceived += 1;
    const key = queryKey(hit.queryId!.nonce, hit.queryId!.originPeerId);
    const decision = this.router.routeHit(link, key);
    if (decision.action === 'drop') {
      this.counters.hitsDropped += 1;
      return;
    }
    // The holder is that way: a push for it follows the hit's path back (push.ts).
    this.pushRouter.routes.learn(hit.holderPeerId, link);
    if (decision.action === 'forward') {
      if (this.o.links.sendHit(decision.to, hit)) {
        this.counters.hitsForwarded += 1;
        this.o.links.markUseful?.(link);
      } else this.counters.hitsDropped += 1;
      return;
    }
    const search = this.active.get(key);
    if (!search) {
      this.counters.hitsDropped += 1;
      return;
    }
    this.counters.hitsDelivered += 1;
    this.o.links.markUseful?.(link);
    const answer: SearchHit[] = [];
    for (const r of hit.results) {
      // A name no share may have (a path, a control or bidi-override character) is a forgery:
      // dropped, so its holder does not count toward the search's `want` either.
      if (!isSafeFileName(r.name)) {
        this.counters.hitResultsBadName += 1;
        continue;
      }
      answer.push(
        this.toSearchHit(
          { id: r.fileId, name: r.name, size: Number(r.size), ...(r.folder ? { folder: { files: r.files } } : {}) },
          hit.holderPeerId,
          filesHostPort(hit.holderFilesAddress) ?? hit.holderFilesAddress, // a base URL from an earlier release
          hit.hops,
        ),
      );
    }
    search.addAnswer(answer);
  }

  /**
   * Ask the firewalled holder `holder` to connect back to us for `fileId` (our verified record's
   * files address is `filesAddress`), signed with our identity key at the wall-clock time: sent
   * toward it over a link to it, or along the path its hits came by. False when not sent (over
   * the per-holder limit, or no route).
   */
  /** Whether a push to `holder` has a way to go now: a link to it, or the route its hits taught. */
  canRoutePush(holder: string): boolean {
    return this.o.links.linkTo?.(holder) !== undefined || this.pushRouter.routes.routeTo(holder) !== undefined;
  }

  requestPush(holder: string, fileId: string, filesAddress: string): boolean {
    if (!this.pushSendLimit.take(holder, this.now())) {
      this.pushCounters.sendRateLimited += 1;
      return false;
    }
    const fields = {
      targetPeerId: holder,
      requesterFilesAddress: filesAddress,
      fileId,
      nonce: this.o.randomBytes(PUSH_NONCE_BYTES),
    };
    const push = create(PushSchema, {
      ...fields,
      ...signPush(this.o.identity, fields, this.o.clock.epochMs()),
      ttl: this.pushRouter.maxTtl,
    });
    const to = this.pushRouter.originate(push, (peerId) => this.o.links.linkTo?.(peerId));
    if (to === undefined || !this.o.links.sendPush?.(to, push)) {
      this.pushCounters.sendNoRoute += 1;
      return false;
    }
    this.pushCounters.sent += 1;
    return true;
  }

  /** A Push arrived over `link` (one that negotiated "push"): act on it, pass it on, or drop it. */
  receivePush(link: LinkId, push: Push): void {
    this.pushCounters.received += 1;
    const decision = this.pushRouter.receive(link, push, (peerId) => this.o.links.linkTo?.(peerId));
    if (decision.action === 'drop') {
      this.pushCounters.dropped[decision.reason] += 1;
      return;
    }
    if (decision.action === 'forward') {
      if (this.o.links.sendPush?.(decision.to, create(PushSchema, { ...push, ttl: decision.ttl })))
        this.pushCounters.forwarded += 1;
      else this.pushCounters.dropped['no-route'] += 1;
      return;
    }
    // For us: act only on a push its requester signed, lately (push-signature.ts).
    const refused = checkPushSignature(push, this.o.clock.epochMs(), this.pushSettings);
    if (refused) {
      this.pushCounters.refused[refused] += 1;
      this.o.onPushRefused?.(push, refused);
      return;
    }
    this.pushCounters.delivered += 1;
    this.o.onPush?.(push);
  }

  /** A link closed: forget its rate-limit state and route tables (reverse routes through it simply fail later). */
  linkClosed(link: LinkId): void {
    this.guard.forget(link);
    this.forgetTables(link);
  }

  /**
   * Start query routing: read our own table now and every `refreshMs`, sending the levels that
   * change. Nothing to do when routing is off or the index has no tables.
   */
  startRouting(): void {
    if (!this.routing.enabled || this.o.index.routeTable === undefined || this.cancelRefresh) return;
    const refresh = (): void => {
      void this.refreshOwnTable().finally(() => {
        if (this.cancelRefresh) this.cancelRefresh = this.o.clock.schedule(this.routingSettings.refreshMs, refresh);
      });
    };
    this.cancelRefresh = () => {};
    refresh();
  }

  /** Read our own table from the index now; sends the levels that changed (coalesced). */
  async refreshOwnTable(): Promise<void> {
    if (!this.routing.enabled || this.o.index.routeTable === undefined) return;
    let table: RouteTable;
    try {
      table = await this.o.index.routeTable();
    } catch (err) {
      this.o.onError?.(err);
      return; // the tables sent before stay
    }
    if (this.routing.setOwn(table)) this.scheduleTableUpdate();
  }

  /**
   * A link finished its handshake: send it our tables now (its first update). Its own are awaited
   * for `awaitTablesMs` (query-routing.ts); if some level is still missing then, we flood to it
   * and what we tell the others widens.
   */
  linkReady(link: LinkId): void {
    if (!this.routing.enabled || this.o.links.sendRouteTable === undefined) return;
    this.routing.linkUp(link);
    this.tableWaits.get(link)?.();
    this.tableWaits.set(
      link,
      this.o.clock.schedule(this.routingSettings.awaitTablesMs, () => {
        this.tableWaits.delete(link);
        if (this.routing.settle(link)) this.scheduleTableUpdate();
      }),
    );
    this.sendTables(link, this.routing.outgoingTables(this.o.links.ids()));
  }

  /** A neighbour's route table of `level` arrived over `link` (decoded by the adapter). */
  receiveRouteTable(link: LinkId, level: number, table: RouteTable): void {
    this.counters.routeTablesReceived += 1;
    let rate = this.tableRate.get(link);
    if (!rate) {
      const { tableBurst, tablesPerSecond } = this.routingSettings;
      rate = new TokenBucket(tableBurst, tablesPerSecond, this.now);
      this.tableRate.set(link, rate);
    }
    if (!rate.take()) {
      this.disconnect(link, 'route table rate exceeded');
      return;
    }
    const receipt = this.routing.receive(link, level, table);
    if (receipt === 'level-ignored') this.counters.routeTablesIgnored += 1;
    if (receipt === 'stored') this.scheduleTableUpdate();
  }

  /** Stop the timers of query routing (shutdown). */
  stopRouting(): void {
    this.cancelRefresh?.();
    this.cancelRefresh = undefined;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    for (const cancel of this.tableWaits.values()) cancel();
    this.tableWaits.clear();
  }

  /** End every running search (shutdown). */
  cancelAll(): void {
    for (const search of [...this.active.values()]) search.end('cancelled');
  }

  /**
   * Send the levels that changed to every link, coalesced: a link gets at most one update per
   * `updateMs`, so a burst of changes (tables arriving, links coming and going) costs one.
   */
  private scheduleTableUpdate(): void {
    if (this.cancelFlush || !this.routing.enabled || this.o.links.sendRouteTable === undefined) return;
    const now = this.now();
    let due = now;
    for (const link of this.o.links.ids()) {
      const sent = this.tablesSent.get(link);
      if (sent) due = Math.max(due, sent.at + this.routingSettings.updateMs);
    }
    this.cancelFlush = this.o.clock.schedule(due - now, () => {
      this.cancelFlush = undefined;
      const ids = this.o.links.ids();
      const tables = this.routing.outgoingTables(ids);
      for (const link of ids) this.sendTables(link, tables);
    });
  }

  /** Send `link` the levels of `tables` that differ from what it was sent before. */
  private sendTables(link: LinkId, tables: readonly RouteTable[]): void {
    let sent = this.tablesSent.get(link);
    if (!sent) {
      sent = { tables: [], at: -Infinity };
      this.tablesSent.set(link, sent);
    }
    let any = false;
    tables.forEach((table, level) => {
      const before = sent.tables[level];
      if (before === table || before?.equals(table)) return;
      if (!this.o.links.sendRouteTable!(link, level, table)) return;
      sent.tables[level] = table;
      this.counters.routeTablesSent += 1;
      any = true;
    });
    if (any) sent.at = this.now();
  }

  private forgetTables(link: LinkId): void {
    this.tableWaits.get(link)?.();
    this.tableWaits.delete(link);
    this.tableRate.delete(link);
    this.tablesSent.delete(link);
    // What we tell the others changes: its tables no longer count (nor does its lack of them).
    this.routing.drop(link);
    this.scheduleTableUpdate();
  }

  get activeSearches(): number {
    return this.active.size;
  }

  /** Send a copy of `query` to each link of `to` whose route table may match it (query-routing.ts). */
  private sendQueries(to: readonly LinkId[], query: Query): void {
    for (const link of to) {
      if (!this.routing.allows(link, query.ttl, query.terms, query.fileId)) {
        this.counters.queriesNotRouted += 1;
        continue;
      }
      if (this.o.links.sendQuery(link, query)) this.counters.queriesSent += 1;
    }
  }

  private async matchLocally(query: Query): Promise<IndexEntry[]> {
    const limit = this.o.maxLocalResults ?? DEFAULT_MAX_LOCAL_RESULTS;
    try {
      const entries =
        query.fileId !== '' ? await this.o.index.lookup(query.fileId) : await this.o.index.match(query.terms, limit);
      return entries.slice(0, limit);
    } catch (err) {
      this.o.onError?.(err);
      return [];
    }
  }

  /** Send our matches back along the reverse route, at most one Hit's worth per message. */
  private answer(key: string, query: Query, entries: IndexEntry[], hops: number): void {
    if (entries.length === 0) return;
    const route = this.router.routeHit(undefined, key);
    if (route.action !== 'forward') return;
    for (let i = 0; i < entries.length; i += MAX_RESULTS_PER_HIT) {
      const results = entries.slice(i, i + MAX_RESULTS_PER_HIT).map((e) => ({
        fileId: e.id,
        name: e.name,
        size: BigInt(e.size),
        folder: e.folder !== undefined,
        files: e.folder?.files ?? 0,
      }));
      const hit = create(HitSchema, {
        queryId: query.id,
        results,
        holderPeerId: this.o.identity.peerId,
        holderFilesAddress: this.o.filesAddress(),
        hops,
      });
      if (this.o.links.sendHit(route.to, hit)) this.counters.hitsSent += 1;
    }
  }

  private disconnect(link: LinkId, reason: string): void {
    this.counters.linksDisconnected += 1;
    this.guard.forget(link);
    this.forgetTables(link);
    this.o.links.disconnect(link, reason);
  }

  private toSearchHit(e: IndexEntry, holderPeerId: string, filesAddress: string, hops: number): SearchHit {
    return {
      fileId: e.id,
      name: e.name,
      size: e.size,
      holderPeerId,
      filesAddress,
      hops,
      ...(e.folder ? { folder: { files: e.folder.files } } : {}),
    };
  }
}
