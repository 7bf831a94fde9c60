/**
 * The ports of the Fetch service (membership and file availability): what its domain needs from
 * the outside world, and what it offers the other services. Adapters to come: sqlite/ (PeerStore),
 * http/ (FetchTransport and the routes that call SyncRounds.answer), and the Files service's
 * change feed behind SharedFileFeed.
 */
import type { FileDelta, SyncRequest, SyncResponse } from './domain/messages.ts';
import type { MembershipEvent } from './domain/membership-log.ts';
import type { PeerRecord } from './domain/peer-record.ts';
import type { FileSource, NeighbourCandidate } from './domain/sync-rounds.ts';

export type { Clock, Random } from './domain/random.ts';
export type { FileSource, NeighbourCandidate } from './domain/sync-rounds.ts';

/** Known peers and the membership log, kept in the data directory so a restart rejoins without --join. */
export interface PeerStore {
  /** Every record stored at the last run (alive and left), to seed the table at start. */
  loadRecords(): PeerRecord[];
  /** Insert or replace the stored record of one peer (a newer seq replaces an older one). */
  saveRecord(record: PeerRecord): void;
  /** Forget a peer that was evicted or whose tombstone expired. */
  removeRecord(peerId: string): void;
  /** Append membership events (numbers increase; events already stored are skipped). */
  appendEvents(events: readonly MembershipEvent[]): void;
  /** The newest stored membership events, oldest first, at most `limit`. */
  recentEvents(limit: number): MembershipEvent[];
}

/** Talks to a remote peer's Fetch API. */
export interface FetchTransport {
  /** Ask the peer at `address` (host:port) for its view and file delta since the request's cursors; rejects on timeout, refusal or an error status. */
  sync(address: string, request: SyncRequest, signal?: AbortSignal): Promise<unknown>;
  /** Tell the peer at `address` that this peer leaves (best effort, short deadline). */
  announceLeave(address: string, tombstone: PeerRecord, signal?: AbortSignal): Promise<void>;
}

/** This peer's own shared files, as the Files service reports their changes. */
export interface SharedFileFeed {
  /** Files added and removed since `cursor` (everything, with reset=true, for none or an unknown cursor). */
  changesSince(cursor: string | undefined): Promise<FileDelta>;
}

/** Offered to the Download service. */
export interface SourceDirectory {
  /** Live peers that listed `fileId`, alive ones first, with the address of their Files API. */
  sourcesFor(fileId: string): FileSource[];
}

/** Offered to the Search service. */
export interface NeighbourDirectory {
  /** Alive peers with their search address, most recently heard first, to pick overlay links from. */
  neighbourCandidates(): NeighbourCandidate[];
}

/** What a Fetch answer looks like once the service adds its file delta to the domain's view. */
export type { SyncResponse };
