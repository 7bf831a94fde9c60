/**
 * Flood searches measured on a simulated network (search-network.ts): for each search a fresh
 * file is put on a random fraction of the peers, a random peer searches for it with a TTL, and the
 * run goes on until the flood and its hits have died out. Measured per search: recall (holders
 * found, not counting the origin, over holders), Query frames sent, duplicates dropped, Hit
 * frames, copies forwarded again (with more TTL than any before them at their peer), time to the
 * first and last hit, and the flood-order gap of docs/PROTOCOL.md §8 (peers within TTL hops that
 * the flood never reached, because their first copy, or an upstream peer's, came by a longer path
 * and had too little TTL left: none with re-forwarding, the default, barring loss and churn).
 *
 * The runs of one configuration draw from their own seeded random source, so a configuration
 * gives the same figures alone or inside a sweep.
 */
import { seededRandom, type Random } from '../fetch/domain/random.ts';
import { DEFAULT_SEARCH_TIMEOUT_MS } from '../search/domain/search-engine.ts';
import type { EndReason } from '../search/domain/active-search.ts';
import { DEFAULT_SEEN_TTL_MS } from '../search/domain/seen-cache.ts';
import type { QueryObserver, SearchNetwork } from './search-network.ts';

/** Simulated quiet time between searches: every peer's seen-cache entry of the last one expires. */
export const SEARCH_GAP_MS = DEFAULT_SEEN_TTL_MS + 1_000;

export interface SearchConfig {
  readonly ttl: number;
  /** Fraction of peers holding the searched file (at least one peer holds it). */
  readonly holdersFraction: number;
  readonly searches: number;
  readonly seed: number;
  readonly timeoutMs?: number;
  /** Dynamic querying (SearchRequest.want): widen step by step until this many holders answered; unset: one flood. */
  readonly want?: number;
  /** The same origin and holders for every search, instead of random ones (for tests on small graphs). */
  readonly fixed?: { readonly origin: number; readonly holders: readonly number[] };
}

export interface SearchMeasure {
  readonly origin: number;
  /** Holders other than the origin. */
  readonly holders: number;
  readonly found: number;
  readonly recall: number;
  /** Query frames sent by every peer for this search. */
  readonly messages: number;
  readonly hitMessages: number;
  readonly duplicates: number;
  /** Queries handled (first copies of a query id), counted as the engines accept them: equals `reached` when no peer handles one twice. */
  readonly accepted: number;
  /** Copies forwarded again for having more TTL than any before them at their peer, and the Query frames that cost (in `messages`). */
  readonly reforwards: number;
  readonly reforwardMessages: number;
  /** The most re-forwards of this query by one peer (at most the TTL − 1, with its first forward). */
  readonly mostReforwardsByOnePeer: number;
  /** Peers other than the origin that handled the query. */
  readonly reached: number;
  /** Peers other than the origin at most `ttl` hops away. */
  readonly withinTtl: number;
  /** Peers within `ttl` hops never reached (the §8 flood-order gap). */
  readonly missedWithinTtl: number;
  readonly holdersWithinTtl: number;
  readonly holdersMissedWithinTtl: number;
  /** Peers whose first copy came by a path longer than their shortest one. */
  readonly longerFirstPath: number;
  /** Simulated ms from the start to the first and last remote hit (undefined: none). */
  readonly firstHitMs: number | undefined;
  readonly lastHitMs: number | undefined;
  /** Why the search ended ('enough': `want` other peers answered, after its grace) and when (simulated ms from its start). */
  readonly ended: EndReason;
  readonly endMs: number;
  /** Floods the origin sent for it: 1, or with `want` one per step taken (the last at its own TTL). */
  readonly steps: number;
}

/** Run `config.searches` searches, one after another, on `net`. */
export async function runSearches(net: SearchNetwork, config: SearchConfig): Promise<SearchMeasure[]> {
  // `want` is left out of the seed: a dynamic search and a flood of one configuration meet the same origins and holders.
  const random = seededRandom(mix(config.seed, config.ttl, Math.round(config.holdersFraction * 1e6)));
  const measures: SearchMeasure[] = [];
  for (let s = 0; s < config.searches; s++) measures.push(await runSearch(net, config, random, s));
  return measures;
}

async function runSearch(
  net: SearchNetwork,
  config: SearchConfig,
  random: Random,
  index: number,
): Promise<SearchMeasure> {
  const peers = net.overlay.peers;
  net.idle(SEARCH_GAP_MS);
  net.redrawDown();
  const placed = config.fixed
    ? marked(peers, config.fixed.holders)
    : pickHolders(peers, Math.max(1, Math.round(config.holdersFraction * peers)), random);
  // A holder that is down (churn) holds nothing anyone can find: recall counts the holders up.
  const holders = placed.map((h, p) => (net.down[p] === 1 ? 0 : h));
  const term = `file${index}`;
  net.file = { term, entry: { id: `id-${config.seed}-${index}`, name: `${term}.bin`, size: 1 }, holders };
  const unshare = net.routes?.share(placed, term, net.file.entry.id); // tables list what was shared before a crash
  let origin = config.fixed?.origin ?? Math.floor(random.next() * peers);
  while (net.down[origin] === 1) origin = (origin + 1) % peers; // the searching peer is up
  const reached = new Uint8Array(peers); // hops at which each peer handled the query; 0: never
  let duplicates = 0;
  let accepted = 0;
  let reforwards = 0;
  let reforwardMessages = 0;
  const reforwardsBy = new Map<number, number>();
  const observer: QueryObserver = {
    accepted: (peer, hops) => {
      accepted += 1;
      reached[peer] = hops;
    },
    duplicate: () => (duplicates += 1),
    reforwarded: (peer, messages) => {
      reforwards += 1;
      reforwardMessages += messages;
      reforwardsBy.set(peer, (reforwardsBy.get(peer) ?? 0) + 1);
    },
  };
  net.observer = observer;
  const before = { ...net.traffic };
  const start = net.now();
  const originCounters = net.engines[origin]!.counters;
  const widenedBefore = originCounters.searchesWidened;
  const search = net.engines[origin]!.search({
    terms: [term],
    ttl: config.ttl,
    timeoutMs: config.timeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS,
    limit: Number.MAX_SAFE_INTEGER,
    ...(config.want ? { want: config.want } : {}),
  });
  let firstHitMs: number | undefined;
  let lastHitMs: number | undefined;
  search.onHit((hit) => {
    if (hit.hops === 0) return;
    lastHitMs = net.now() - start;
    firstHitMs ??= lastHitMs;
  });
  await net.run();
  const summary = await search.done;
  const steps = 1 + originCounters.searchesWidened - widenedBefore;
  net.observer = undefined;
  unshare?.();
  if (net.errors.length > 0)
    throw new AggregateError(net.errors, `the simulated engines reported ${net.errors.length} errors`);

  const ttl = Math.min(config.ttl, net.engines[origin]!.router.maxTtl);
  const distance = net.overlay.distancesFrom(origin);
  const found = new Set(search.hits.filter((h) => h.hops > 0).map((h) => h.holderPeerId)).size;
  let holderCount = 0,
    reachedCount = 0,
    withinTtl = 0,
    missed = 0,
    holdersWithin = 0,
    holdersMissed = 0,
    longer = 0;
  for (let p = 0; p < peers; p++) {
    if (p === origin) continue;
    const within = distance[p]! <= ttl;
    holderCount += holders[p]!;
    if (reached[p]! > 0) reachedCount += 1;
    if (reached[p]! > distance[p]!) longer += 1;
    if (!within) continue;
    withinTtl += 1;
    holdersWithin += holders[p]!;
    if (reached[p] === 0) {
      missed += 1;
      holdersMissed += holders[p]!;
    }
  }
  return {
    origin,
    holders: holderCount,
    found,
    recall: holderCount === 0 ? 1 : found / holderCount,
    messages: net.traffic.queries - before.queries,
    hitMessages: net.traffic.hits - before.hits,
    duplicates,
    accepted,
    reforwards,
    reforwardMessages,
    mostReforwardsByOnePeer: Math.max(0, ...reforwardsBy.values()),
    reached: reachedCount,
    withinTtl,
    missedWithinTtl: missed,
    holdersWithinTtl: holdersWithin,
    holdersMissedWithinTtl: holdersMissed,
    longerFirstPath: longer,
    firstHitMs,
    lastHitMs,
    ended: summary.ended,
    endMs: summary.elapsedMs,
    steps,
  };
}

function pickHolders(peers: number, count: number, random: Random): Uint8Array {
  const holders = new Uint8Array(peers);
  for (let placed = 0; placed < Math.min(count, peers);) {
    const p = Math.floor(random.next() * peers);
    if (holders[p] === 0) {
      holders[p] = 1;
      placed += 1;
    }
  }
  return holders;
}

function marked(peers: number, holders: readonly number[]): Uint8Array {
  const marks = new Uint8Array(peers);
  for (const p of holders) marks[p] = 1;
  return marks;
}

/** One 32-bit seed from several integers (FNV-1a over their words). */
export function mix(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(v / 2 ** 32), 0x01000193);
  }
  return h >>> 0;
}
