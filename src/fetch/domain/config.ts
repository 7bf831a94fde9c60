/**
 * Tunables of the Fetch service (membership and file availability), with their defaults.
 * Liveness counts rounds because a round is the unit in which evidence of life can arrive;
 * eviction and memory of departed peers count wall time because they are about storage, not
 * detection.
 */
import { FETCH_DEFAULTS } from '../../shared/defaults.ts';

/**
 * The protocol version this peer speaks (protocol/limits.ts, one definition for links and
 * records); carried in every peer record. Later additions are negotiated features, not new
 * versions, so any version from MIN_PROTOCOL_VERSION up is taken.
 */
export { PROTOCOL_VERSION } from '../../protocol/limits.ts';
/** Records of older versions are refused: a version 1 peer speaks plaintext and must upgrade. */
export const MIN_PROTOCOL_VERSION = 2;

export interface FetchConfig {
  /** Milliseconds between rounds (used by the service's timer, not by the pure core). */
  intervalMs: number;
  /** Peers asked per round. */
  fanout: number;
  /** Down peers probed per round on top of the fanout, so a peer that came back is noticed. */
  downProbes: number;
  /**
   * Rounds without direct contact after which a peer is due a probe (the longest-silent one takes
   * one fanout slot). Silence alone suspects nobody: a failed contact does (see peer-table.ts).
   */
  suspectAfterRounds: number;
  /**
   * Failed direct contacts in a row (a request unanswered in time, refused, or answered with
   * nonsense) before a live peer is suspected. Below it the next round asks that peer again, on
   * top of the fanout: one lost request suspects nobody, so it costs no refutation (a new record
   * in every table). 1: the first failure suspects.
   */
  failuresToSuspect: number;
  /** Rounds after a suspicion began (anywhere) before the suspect, unless it refuted, is marked down. */
  downAfterRounds: number;
  /** Time a peer stays down before it is evicted from the table. */
  evictAfterMs: number;
  /** Most peers the table holds (self excluded). */
  maxPeers: number;
  /**
   * Most records one answer carries (view.records). A first contact without a digest would get
   * the whole table (up to maxPeers); beyond this many the oldest changes go first and the cursor
   * in the answer says where the next request to this peer continues. With it, an answer's size
   * is bounded by settings, not by N.
   */
  maxRecordsPerAnswer: number;
  /** Most "left" tombstones remembered, and for how long. */
  maxTombstones: number;
  tombstoneTtlMs: number;
  /**
   * Most peers evicted for being down too long remembered, so that a stale copy of their record
   * cannot re-add them; and for how long.
   */
  maxForgotten: number;
  forgetTtlMs: number;
  /** Membership events kept in memory; the adapter persists them. */
  logCapacity: number;
  /** Availability map caps: all entries, and entries of one peer. */
  maxFileEntries: number;
  maxFilesPerPeer: number;
  /** A record issued further in the future than this is absurd (clock skew allowance). */
  maxClockSkewMs: number;
  /** Rounds to wait before retrying the join addresses after all of them failed, doubled up to the max. */
  maxJoinBackoffRounds: number;
  /** Admission (admission.ts): unverified records held at most, waiting for this peer's own probe. */
  maxUnverified: number;
  /** New identities announced directly that one source address, and one subnet, may add per minute. */
  newPerAddressPerMinute: number;
  newPerSubnetPerMinute: number;
  /** Prefix lengths that make a subnet for the rate above (127.x addresses are each their own). */
  subnetBitsV4: number;
  subnetBitsV6: number;
  /**
   * Verification probes (sync requests to unverified records' addresses) per round, on top of the
   * fanout. Sized so that 100 peers joining at once verify each other within the join target
   * (each must reach the 99 others itself: 7 rounds in the simulation, against 9 with 16); a
   * settled network uses none, and one new peer costs each other peer one probe.
   */
  verifyPerRound: number;
  /** Verification probes in flight at once (the rest of the round's budget waits its turn). */
  verifyConcurrency: number;
  /** Failed probes of an address after which every unverified record naming it is dropped. */
  verifyAttempts: number;
  /**
   * Rounds an address waits after its second failed probe (the first is retried next round),
   * doubled at each further failure up to the max.
   */
  verifyBackoffRounds: number;
  maxVerifyBackoffRounds: number;
  /** Addresses (backoffs) and sources (rates) remembered at most. */
  maxAddressMemory: number;
  /**
   * Firewalled records (peers reachable only by connect-back) carried in one answer, newest first:
   * only those this peer failed to probe itself (one hop), so an answer grows by at most this many.
   */
  firewalledGossip: number;
  /**
   * A firewalled record signed longer ago than this is dropped (nobody can probe such a peer, so
   * its own re-signing is its only sign of life); an unreachable peer re-signs every third of it.
   */
  firewalledTtlMs: number;
  /**
   * Files news (sync-rounds.ts): a peer whose newer record says its shared-file list moved is asked
   * for it directly, on top of the fanout, by at most this many requests a round; the rest wait.
   */
  filesNewsPerRound: number;
  /** Peers with unheeded files news held at most (more are left to the random fanout). */
  maxFilesNews: number;
  /**
   * A files news ask waits a random 0 to filesNewsSpreadRounds − 1 rounds (1: none): every peer
   * asks the sharer once, and without a wait they all do within the few rounds its record takes
   * to spread; a wait of up to S rounds divides the sharer's peak by about S, for S rounds more.
   */
  filesNewsSpreadRounds: number;
  /**
   * The asks a sharer should get in one round from files news, on average: a peer holding N others
   * waits a random 0 to ceil(N / this) − 1 rounds before its ask (or filesNewsSpreadRounds − 1, if
   * more), so the sharer's peak stays near this number whatever the network's size; at 100 peers
   * nobody waits, at 10,000 the last ask comes ≈ 100 rounds after the news (without it, ≈ 10,000
   * asks in the round or two after the record spread: at 1,000 simulated peers 936 in one round).
   */
  filesNewsAsksPerSharerRound: number;
  /**
   * A changed shared-file list re-signs this peer's record at most once per this many rounds: the
   * first change after a quiet spell is signed the next round, a burst of shares costs one record.
   * Every record change costs the network about what a new peer's does (≈ 90 KiB per peer at 100
   * simulated peers, docs/SCALE.md "Files news"), so a peer sharing all the time re-signs at most
   * every 10 rounds (30 s at the default interval).
   */
  filesResignRounds: number;
  /**
   * Push (sync-rounds.ts "News pushed"): a peer new to this table is pushed, with the others new
   * within this many rounds, in every request this peer sends (at most newsPerRequest of them,
   * newest first); the rest of a partial view hears of it only when it asks a table holding it.
   */
  newsPushRounds: number;
  /** Records new to the table one request carries at most (the answerer takes at most MAX_NEWS_IN_REQUEST). */
  newsPerRequest: number;
  /**
   * Requests a round, on top of the fanout, that carry only news (answered without records) to
   * random peers of the table, while it has any: a partial view's newcomer reaches the tables
   * that would take it by these (0: news rides on the fanout's requests only).
   */
  newsPushPerRound: number;
}

export const DEFAULT_FETCH_CONFIG: Readonly<FetchConfig> = Object.freeze({
  ...FETCH_DEFAULTS, // the ones a user can set (shared/config.ts)
  downProbes: 1,
  suspectAfterRounds: 5,
  failuresToSuspect: 2,
  downAfterRounds: 10,
  evictAfterMs: 10 * 60_000,
  maxTombstones: 1_000,
  tombstoneTtlMs: 60 * 60_000,
  maxForgotten: 1_000,
  forgetTtlMs: 60 * 60_000,
  logCapacity: 1_000,
  maxFileEntries: 200_000,
  maxFilesPerPeer: 10_000,
  maxClockSkewMs: 10 * 60_000,
  maxJoinBackoffRounds: 8,
  verifyConcurrency: 4,
  maxVerifyBackoffRounds: 1_200,
  maxAddressMemory: 10_000,
  firewalledGossip: 32,
  firewalledTtlMs: 15 * 60_000,
  filesNewsPerRound: 2,
  maxFilesNews: 1_000,
  filesNewsSpreadRounds: 1,
  filesNewsAsksPerSharerRound: 100,
  filesResignRounds: 10,
  newsPushRounds: 10,
  newsPerRequest: 8,
  newsPushPerRound: 24,
});

/** Defaults overridden by `partial`; the service validates user settings before this. */
export function fetchConfig(partial: Partial<FetchConfig> = {}): FetchConfig {
  const config = { ...DEFAULT_FETCH_CONFIG, ...partial };
  if (!Number.isSafeInteger(config.failuresToSuspect) || config.failuresToSuspect < 1) {
    throw new RangeError('failuresToSuspect must be a whole number of at least 1');
  }
  if (config.downAfterRounds < config.suspectAfterRounds) {
    throw new RangeError('downAfterRounds must be at least suspectAfterRounds');
  }
  return config;
}
