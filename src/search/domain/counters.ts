/**
 * What a Search engine has done, as plain counters: tests check the flood bounds with them
 * (messages per query, each query handled once, hits along the reverse path) and /health and the
 * benchmark report them.
 */

export interface SearchCounters {
  searchesStarted: number;
  /** Searches of our own users refused by the local search limit (answered 429). */
  searchesRateLimited: number;
  /** Wider steps of our own searches (dynamic querying: the first step is not counted). */
  searchesWidened: number;
  queriesReceived: number;
  /** Queries handled (matched and forwarded): at most once per query per peer. */
  queriesAccepted: number;
  /**
   * Copies of queries handled before that could go further than any earlier copy, forwarded
   * again with their TTL and not answered again (flood-router.ts): with its first forward, a peer
   * forwards one query at most maxTtl − 1 times.
   */
  queriesReforwarded: number;
  /** Copies dropped; a duplicate is a copy of a query handled before with no more TTL than an earlier one. */
  queriesDropped: { duplicate: number; 'too-many-hops': number; 'ttl-exhausted': number };
  /** Dropped because their link was over its rate limit. */
  queriesRateLimited: number;
  /** Query messages written to links (our own searches and forwards). */
  queriesSent: number;
  hitsReceived: number;
  /** Hits answering other peers' queries with our own files. */
  hitsSent: number;
  /** Hits passed on toward their origin. */
  hitsForwarded: number;
  /** Hits for our own searches. */
  hitsDelivered: number;
  hitsDropped: number;
  /** Results of hits for our own searches dropped for a name no share may have (shared/names.ts). */
  hitResultsBadName: number;
  /** Copies of queries not sent to a link because its route table said nothing behind it matches. */
  queriesNotRouted: number;
  /** Route tables received from neighbours, and those of a level we do not use (ignored). */
  routeTablesReceived: number;
  routeTablesIgnored: number;
  /** Route tables sent to neighbours (each level over each link counts one). */
  routeTablesSent: number;
  /** Neighbours this engine cut for flooding queries or route tables (their query rate state outlives the link). */
  linksDisconnected: number;
}

export function newCounters(): SearchCounters {
  return {
    searchesStarted: 0,
    searchesRateLimited: 0,
    searchesWidened: 0,
    queriesReceived: 0,
    queriesAccepted: 0,
    queriesReforwarded: 0,
    queriesDropped: { duplicate: 0, 'too-many-hops': 0, 'ttl-exhausted': 0 },
    queriesRateLimited: 0,
    queriesSent: 0,
    hitsReceived: 0,
    hitsSent: 0,
    hitsForwarded: 0,
    hitsDelivered: 0,
    hitsDropped: 0,
    hitResultsBadName: 0,
    queriesNotRouted: 0,
    routeTablesReceived: 0,
    routeTablesIgnored: 0,
    routeTablesSent: 0,
    linksDisconnected: 0,
  };
}
