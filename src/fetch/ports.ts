/**
 * The ports of the Fetch service (membership and file availability): what its domain needs from
 * the outside world, and what it offers the other services. Adapters: sqlite/ (PeerStore), http/
 * (FetchTransport, and the routes that call SyncRounds.answer); the Files service's change feed
 * stands behind SharedFileFeed (test/support/memory-file-feed.ts is an in-memory one, for tests).
 */
import type { PortMappingStatus } from './domain/port-mapping.ts';
import type { FileDelta, SyncRequest, SyncResponse } from './domain/messages.ts';
import type { MembershipEvent } from './domain/membership-log.ts';
import type { PeerRecord } from './domain/peer-record.ts';
import type { FileSource, NeighbourCandidate } from './domain/sync-rounds.ts';

export type { WallClock } from '../shared/clock.ts';
export type { Random } from './domain/random.ts';
export type { FileSource, NeighbourCandidate } from './domain/sync-rounds.ts';

/**
 * Known peers, the membership log and the join pins, kept in the data directory so a restart
 * rejoins without --join.
 */
export interface PeerStore extends JoinPinStore {
  /** Every record stored at the last run (alive and left), to seed the table at start. */
  loadRecords(): PeerRecord[];
  /** Insert or replace the stored record of one peer (a newer seq replaces an older one). */
  saveRecord(record: PeerRecord): void;
  /** Forget a peer that was evicted or whose tombstone expired. */
  removeRecord(peerId: string): void;
  /** Save and remove several records at once (one transaction). */
  updateRecords(save: readonly PeerRecord[], remove: readonly string[]): void;
  /** Append membership events, each passed once; the store numbers them across runs and keeps a bounded tail. */
  appendEvents(events: readonly MembershipEvent[]): void;
  /** The newest stored membership events, oldest first, at most `limit`, numbered by the store. */
  recentEvents(limit: number): MembershipEvent[];
  /** Release the database (the service calls it on stop). */
  close(): void;
}

/** The join address `address` (host:port) proved `peerId` on first contact (trust on first use). */
export interface JoinPin {
  address: string;
  peerId: string;
  /** ms since the epoch */
  pinnedAt: number;
}

/** Where the peer store keeps join pins (the SQLite peer store holds both). */
export interface JoinPinStore {
  /** Every pinned join address. */
  joinPins(): JoinPin[];
  /** Record what a join address proved (replacing any pin of that address). */
  pinJoin(pin: JoinPin): void;
  /** Drop the pins of `peerIdOrAddress` (a pinned id, or a join address); returns the pins dropped. */
  forgetJoinPins(peerIdOrAddress: string): JoinPin[];
}

/** An answer of another peer, with the id its TLS connection proved. */
export interface SyncAnswer {
  peerId: string;
  body: unknown;
}

/**
 * Talks to a remote peer's Fetch API over TLS 1.3, pinned to the id the caller expects: the
 * record's own id for a known peer, the pinned id for a join address seen before, undefined for
 * a join address never contacted (any id; the answer says which one it proved).
 */
export interface FetchTransport {
  /**
   * Ask the peer at `address` (host:port) for its view and file delta since the request's cursors.
   * Rejects with a PeershareError on timeout, refusal, an error status or another id than
   * `peerId` (PEER_ID_MISMATCH, details.expected and details.proven); an error answered by the
   * peer carries its HTTP status and JSON error as details.status and details.body, so a
   * refusal's details reach the domain.
   */
  sync(address: string, peerId: string | undefined, request: SyncRequest, signal?: AbortSignal): Promise<SyncAnswer>;
  /** Tell the peer `peerId` at `address` that this peer leaves (best effort, short deadline). */
  announceLeave(address: string, peerId: string, tombstone: PeerRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Ask the peer `peerId` at `address` to dial this peer back at the source address of this very
   * request and `port` (this peer's Fetch port): the address it saw, and whether the dial worked.
   */
  askDialBack(
    address: string,
    peerId: string,
    port: number,
    signal?: AbortSignal,
  ): Promise<{ observed: string; reachable: boolean }>;
  /** Whether a TLS connection to `address` proves `peerId` (connection and handshake only, within the deadline). */
  reach(address: string, peerId: string, signal?: AbortSignal): Promise<boolean>;
  /** Abort requests in flight and release every socket (the service calls it on stop). */
  close(): void;
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

/** A home router asked to forward this peer's ports (`--nat upnp`; adapters/nat/upnp-mapper.ts). */
export interface PortMapper {
  /** Ask for `ports` (TCP) forwarded from the same ports on the router's external address; the judged answer (domain/port-mapping.ts). */
  map(ports: readonly number[], signal: AbortSignal): Promise<PortMappingStatus>;
  /** Undo every mapping made (at stop); never throws. */
  close(): Promise<void>;
}

export type { PortMappingStatus };
