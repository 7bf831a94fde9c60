/**
 * The ports of the Search service: what its domain needs from the outside world. The composition
 * root (src/peer/build-search.ts) fills LocalIndex with File Management's query port
 * (peer/local-index.ts) and NeighbourSource with Fetch's live peers (its neighbour candidates in
 * one process, its GET /peers when Search runs alone) and then the --neighbours list from config;
 * the service factory (service.ts) fills Links with the TCP overlay adapter (adapters/tcp/) and
 * Clock with real time. The simulator (src/sim) fills Links, LocalIndex and Clock in memory.
 */
import type { Hit, Push, Query } from '../protocol/gen/wire_pb.ts';
import type { LinkId } from './domain/flood-router.ts';
import type { RouteTable } from '../protocol/route-table.ts';

export type { LinkId };

/** One shared file (or shared folder) that matches a query on this peer. */
export interface IndexEntry {
  /** The file id; a folder's collection id. */
  readonly id: string;
  readonly name: string;
  /** Bytes; a folder's: the sum of its files. */
  readonly size: number;
  /** Present for a shared folder (a collection, docs/PROTOCOL.md §11): how many files it lists. */
  readonly folder?: { readonly files: number };
}

/** This peer's shared files, as File Management answers for them. */
export interface LocalIndex {
  /** Cut a user's query text into the folded terms sent on the wire (at most 16, each 1-64 chars). */
  parseTerms(text: string): string[];
  /** Files, then shared folders, whose name matches every term, at most `limit` entries. */
  match(terms: readonly string[], limit: number): Promise<IndexEntry[]>;
  /** Every name the file with this id is shared under, or the shared folder this collection id names (empty when neither is shared here). */
  lookup(fileId: string): Promise<IndexEntry[]>;
  /**
   * The query routing table of every shared name and id (feature "qrp", protocol/route-table.ts),
   * sized with RouteTable.sizeFor. Optional: a peer whose index has none sends no tables, and its
   * neighbours flood to it as to a peer of an earlier release.
   */
  routeTable?(): Promise<RouteTable>;
}

/** A peer the overlay may link to. `peerId` is known when the source learned it (Fetch), not from config. */
export interface NeighbourCandidate {
  readonly peerId?: string;
  /** host:port of its Search listener. */
  readonly searchAddress: string;
}

/** Where overlay links are chosen from. */
export interface NeighbourSource {
  /** Peers to link to, in order of preference; called at every overlay maintenance round. */
  candidates(): readonly NeighbourCandidate[];
}

/** A ready link to a neighbour, as the domain sees it. */
export interface LinkInfo {
  readonly id: LinkId;
  readonly peerId: string;
  readonly searchAddress: string;
  /** Who opened the underlying connection. */
  readonly direction: 'inbound' | 'outbound';
  readonly remoteIp: string;
  readonly since: number;
}

/** Who is at the other end of a link: the identity TLS proved and the address it comes from. */
export interface LinkPeer {
  readonly peerId: string;
  readonly remoteIp: string;
}

/** The overlay links the domain floods over (driven side); the adapter also calls back into the engine. */
export interface Links {
  /** The ids of every ready link. */
  ids(): readonly LinkId[];
  /** Send a Query over a link; false if the link is gone or not ready. Never blocks. */
  sendQuery(link: LinkId, query: Query): boolean;
  /** Send a Hit over a link; false if the link is gone or not ready. Never blocks. */
  sendHit(link: LinkId, hit: Hit): boolean;
  /** Close a misbehaving link (rate limit, bad input) with a reason the peer is told. */
  disconnect(link: LinkId, reason: string): void;
  /** The peer of a ready link, so rate state outlives the link (undefined: gone, or unknown). */
  peerOf?(link: LinkId): LinkPeer | undefined;
  /** The link carried something useful (a query handled, a hit delivered or passed on). */
  markUseful?(link: LinkId): void;
  /** Send a Push over a link; false if the link is gone, not ready, or did not negotiate "push". */
  sendPush?(link: LinkId, push: Push): boolean;
  /**
   * Send our route table of `level` (0: our own shares; d: ours and our neighbours' tables of level
   * d - 1) over a link; the adapter sends it whole or as a patch against what it sent before on that
   * link. False if the link is gone, not ready, or did not negotiate "qrp".
   */
  sendRouteTable?(link: LinkId, level: number, table: RouteTable): boolean;
  /** A ready link to `peerId` (its proven id), if there is one. */
  linkTo?(peerId: string): LinkId | undefined;
}

/** Time, injected so the domain runs unchanged inside a simulator (one Clock for every domain). */
export type { Cancel, Clock } from '../shared/clock.ts';
