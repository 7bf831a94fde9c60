/**
 * The defaults of the settings a user can change (shared/config.ts SETTINGS) that a service's own
 * code needs too: declared once here, imported by both, so a test or a simulator that builds a
 * service without the settings table gets the same values as `peershare start`.
 */

export const FETCH_DEFAULTS = {
  intervalMs: 3_000,
  fanout: 3,
  maxPeers: 10_000,
  maxRecordsPerAnswer: 1_000,
  maxUnverified: 1_000,
  newPerAddressPerMinute: 10,
  newPerSubnetPerMinute: 30,
  subnetBitsV4: 24,
  subnetBitsV6: 64,
  verifyPerRound: 24,
  verifyAttempts: 3,
  verifyBackoffRounds: 10,
  /**
   * Deadline of one request to another peer's Fetch (sync, leave, dial-back), connection and TLS
   * handshake included: a peer that swallows packets holds a round this long.
   */
  syncTimeoutMs: 2_000,
} as const;

export const SEARCH_DEFAULTS = {
  /** Largest TTL sent and accepted. */
  maxTtl: 7,
  timeoutMs: 3_000,
  /** Queries per second accepted from each neighbour. */
  queriesPerSecond: 50,
  /** Searches per second this peer's own users may start (half the above). */
  searchesPerSecond: 25,
  maxLinks: 8,
  maxLinksPerIp: 4,
  maxLinksPerSubnet: 4,
  outboundLinks: 4,
  /** A link frame must complete within this once its first byte arrived. */
  frameTimeoutMs: 20_000,
  /**
   * Query routing (feature "qrp"): levels of route table each peer sends its neighbours (0: none,
   * plain flood), so this many last hops of a query go only to neighbours whose table may match.
   */
  routeLevels: 4,
} as const;

export const DOWNLOAD_DEFAULTS = {
  maxDownloads: 3,
  attempts: 8,
} as const;

export const CLIENT_DEFAULTS = {
  /**
   * Distinct other peers `get --name` wants to answer: its search widens while fewer did (dynamic
   * querying: TTL 2, then 4, then the full TTL) and ends once that many did; 0: one flood at the full TTL.
   */
  getWant: 5,
  /**
   * Counted holders the file `get --name` picks must have over the runner-up for the vote to be
   * clear; a closer vote, once the search ended with its want, asks for the wider search first.
   */
  getVoteMargin: 2,
} as const;

/** The most other peers a search may want to answer, in the Search and Client APIs, the command and the getWant setting. */
export const MAX_WANT = 10_000;
