/**
 * Choosing what `get --name` downloads: of the files a search found, the one the most verified
 * peers hold (more sources make a faster, sturdier download), ties going to the one found first.
 *
 * A hit is a hint, not evidence: anyone on the path back can forge one, naming any holder id at
 * any address. So a holder counts, and becomes a source, only when it is a verified member of
 * this peer's Fetch membership (listed by Fetch, alive or suspected; Fetch lists only records it
 * has verified itself), and the address dialled is the files address of that peer's signed
 * record, never the one the hit carries. This peer's own id is never a source, and a hit whose
 * name is not a safe file name (a path, a control or bidi-override character) is ignored.
 *
 * Verified is not enough: a verified hostile peer can send hits naming *other* verified, honest
 * peers as holders of its file. So the vote is weighed by Fetch's availability map, which holds
 * each peer's own file list, synced from that peer over a link that proved its id (a peer cannot
 * put a file in another's list). A hit's holder counts only if Fetch lists that holder as a
 * source of that file id ("confirmed"); a holder only claimed by hits counts for nothing. The
 * download is then asked of the holders Fetch lists for the chosen file (verified members, at
 * their record addresses, the best MAX_DOWNLOAD_SOURCES), not of merely claimed ones: a holder
 * Fetch learns of later joins the running download through Download's own directory.
 *
 * Fetch learns a peer's files a round or so after the share (and only from peers it syncs with).
 * When Fetch lists no holder for *any* candidate (a brand-new share, nothing synced yet), the
 * choice falls back to counting verified hit holders, as before, and says so (basis 'hits'), so
 * that what an honest user just shared can still be fetched by name at once; the caller shows
 * the user that the holders were not confirmed. As soon as one candidate is confirmed, claims
 * alone no longer count: a confirmed file always beats a merely claimed one.
 *
 * A firewalled peer (it proved its key on a link it opened, but cannot be dialled) is a verified
 * member too, listed in state 'firewalled'. It is a holder, and a source, only where Fetch's
 * availability lists it as one (its own file list names the file), since this peer's Download
 * asks it to connect back (PUSH). So it never counts on hits alone, and dialable holders rank
 * before it.
 *
 * The search behind the vote asks for only so many answers (`want`, dynamic querying: it starts
 * near, widens only while fewer other peers answered, and ends once that many have). When it
 * ended so and the vote
 * over what arrived is close (isCloseVote: the leader's counted holders exceed the runner-up's by
 * less than a margin), the wider search is asked before picking (needsWiderSearch).
 */
import { filesHostPort, formatPeerAddress } from '../../shared/peer-address.ts';
import type { FileSource, PeerInfo, SearchHit } from '../ports.ts';

/**
 * The most sources one download is asked with: the Download job's own cap
 * (src/download/domain/job.ts MAX_SOURCES_PER_JOB; test/client/forged-hits.test.ts checks they agree).
 * A file held by more peers is asked of the best ones (bestSources).
 */
export const MAX_DOWNLOAD_SOURCES = 64;

/** A peer Fetch holds firewalled, as the Client lists it (PeerInfo.state). */
export const FIREWALLED = 'firewalled';

/** Peer states that count as verified, usable members (firewalled ones only where availability lists them: see the header). */
const USABLE_STATES = new Set(['alive', 'suspected', FIREWALLED]);

export interface Pick {
  fileId: string;
  /** The name most of its holders share it under. */
  name: string;
  size: number;
  /** Its best holders' File Management, each `peerId@host:port` (the id a download pins the address to). */
  sources: string[];
  /** Holders counted: confirmed by Fetch (basis 'availability'), else verified hit holders (basis 'hits'). */
  holders: number;
  /** Holders counted, on the same basis, for the runner-up: the best of the other candidates (0 when there is none). */
  runnerUp: number;
  /**
   * 'availability': the holders counted are ones Fetch lists as holding the file, and the sources
   * are Fetch's holders of it. 'hits': Fetch listed no holder for any candidate, so verified hit
   * holders were counted and asked (unconfirmed claims).
   */
  basis: PickBasis;
}

export type PickBasis = 'availability' | 'hits';

/** Fetch's availability for candidate file ids: the sources Fetch lists for each (absent: none). */
export type Availability = ReadonlyMap<string, readonly FileSource[]>;

/** A peer Fetch holds firewalled, as a member: heard of last when it signed its record (it cannot be asked). */
export function firewalledInfo(p: {
  peerId: string;
  addresses: PeerInfo['addresses'];
  advertised?: PeerInfo['advertised'];
  issuedAt: number;
  files: number;
}): PeerInfo {
  return {
    peerId: p.peerId,
    state: FIREWALLED,
    lastSeen: p.issuedAt,
    addresses: p.addresses,
    ...(p.advertised ? { advertised: p.advertised } : {}),
    files: p.files,
  };
}

/**
 * The verified members a holder id is checked against: the peers Fetch lists, alive,
 * suspected or firewalled, other than this peer itself, by id.
 */
export function verifiedMembers(peers: readonly PeerInfo[], selfId: string): Map<string, PeerInfo> {
  const members = new Map<string, PeerInfo>();
  for (const p of peers) if (p.peerId !== selfId && USABLE_STATES.has(p.state)) members.set(p.peerId, p);
  return members;
}

/**
 * The download sources of verified holders, best first: alive before suspected, then the most
 * recently heard; at most `max`. Each is the holder's id at its record's files address.
 */
export function bestSources(holders: Iterable<PeerInfo>, max = MAX_DOWNLOAD_SOURCES): string[] {
  const ranked = [...holders].sort(
    (a, b) => Number(a.state !== 'alive') - Number(b.state !== 'alive') || b.lastSeen - a.lastSeen,
  );
  const sources: string[] = [];
  for (const p of ranked) {
    const source = sourceAt(p.peerId, p.addresses.files);
    if (source !== undefined && !sources.includes(source)) sources.push(source);
    if (sources.length === max) break;
  }
  return sources;
}

function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const [v, n] of counts) if (n > counts.get(best)!) best = v;
  return best;
}

/** One file's hits from verified holders: each holder once, with the name it gave first. */
interface Candidate {
  fileId: string;
  size: number;
  names: Map<string, string>;
}

/** The files verified members answered with under safe names, by id, in the order first found. */
function candidates(
  hits: readonly SearchHit[],
  members: ReadonlyMap<string, PeerInfo>,
  isSafeName: (name: string) => boolean,
): Map<string, Candidate> {
  const byFile = new Map<string, Candidate>();
  for (const hit of hits) {
    // A shared folder is no file to pick: it is fetched by its id or link (ClientApp.queueFolder).
    if (hit.folder !== undefined || !members.has(hit.holderPeerId) || !isSafeName(hit.name)) continue;
    let candidate = byFile.get(hit.fileId);
    if (!candidate) byFile.set(hit.fileId, (candidate = { fileId: hit.fileId, size: hit.size, names: new Map() }));
    // One vote per holder for the name too: repeating a forged hit adds nothing.
    if (!candidate.names.has(hit.holderPeerId)) candidate.names.set(hit.holderPeerId, hit.name);
  }
  return byFile;
}

/**
 * The file ids worth asking Fetch's availability about: those of hits from verified members
 * under safe names (the only ones pickMostHeld can choose), in the order first found.
 */
export function candidateFileIds(
  hits: readonly SearchHit[],
  members: ReadonlyMap<string, PeerInfo>,
  isSafeName: (name: string) => boolean,
): string[] {
  return [...candidates(hits, members, isSafeName).keys()];
}

/**
 * The file the most confirmed holders hold among the hits (see the header): a hit's holder
 * counts if it is a verified member and `availability` lists it as a source of that file.
 * When no candidate has a confirmed holder (or no availability is given), the verified hit
 * holders are counted instead (basis 'hits'). Undefined when no verified member holds any.
 * Hits from holders not in `members`, and hits whose name fails `isSafeName` (shared/names.ts
 * isSafeFileName, passed in so that the web UI's type check, which reads this module's types,
 * does not take in Node's), are never counted.
 */
export function pickMostHeld(
  hits: readonly SearchHit[],
  members: ReadonlyMap<string, PeerInfo>,
  isSafeName: (name: string) => boolean,
  availability: Availability = new Map(),
): Pick | undefined {
  const byFile = candidates(hits, members, isSafeName);
  const listed = (fileId: string) => new Set((availability.get(fileId) ?? []).map((s) => s.peerId));
  // Each candidate's votes: its hit holders that Fetch lists as holding it.
  const confirmed = new Map<string, string[]>();
  for (const c of byFile.values()) {
    const sources = listed(c.fileId);
    const votes = [...c.names.keys()].filter((id) => sources.has(id));
    if (votes.length > 0) confirmed.set(c.fileId, votes);
  }
  const basis: PickBasis = confirmed.size > 0 ? 'availability' : 'hits';
  // On hits alone a firewalled holder counts for nothing: nothing says this peer can reach it.
  const votesOf = (c: Candidate) =>
    basis === 'availability'
      ? (confirmed.get(c.fileId) ?? [])
      : [...c.names.keys()].filter((id) => members.get(id)?.state !== FIREWALLED);
  let best: Candidate | undefined;
  let bestVotes: string[] = [];
  let runnerUp = 0;
  for (const c of byFile.values()) {
    const votes = votesOf(c);
    if (votes.length > bestVotes.length) {
      runnerUp = bestVotes.length;
      [best, bestVotes] = [c, votes];
    } else runnerUp = Math.max(runnerUp, votes.length);
  }
  if (!best) return undefined;
  // Sources: with confirmation, every verified member Fetch lists for the file (each listed it
  // itself), never a holder only claimed by a hit; without, the verified hit holders.
  const holders = basis === 'availability' ? [...listed(best.fileId)].filter((id) => members.has(id)) : bestVotes;
  return {
    fileId: best.fileId,
    name: mostCommon(bestVotes.map((id) => best.names.get(id)!)),
    size: best.size,
    sources: bestSources(holders.map((id) => members.get(id)!)),
    holders: bestVotes.length,
    runnerUp,
    basis,
  };
}

/** How `get --name` searches and weighs its vote (settings getWant and getVoteMargin, shared/defaults.ts). */
export interface VoteSettings {
  /** Distinct other peers its search wants to answer before it stops widening; 0: one flood at the full TTL. */
  want: number;
  /** Counted holders the picked file must have over the runner-up for the vote to be clear. */
  margin: number;
}

/**
 * Whether a vote is close: the picked file's counted holders exceed the runner-up's by less than
 * `margin`. A file with no rival counts against 0 (so with a margin of 2 one holder alone is a
 * close vote), and no pick at all is 0 against 0, the closest there is.
 */
export function isCloseVote(pick: Pick | undefined, margin: number): boolean {
  return (pick === undefined ? 0 : pick.holders - pick.runnerUp) < margin;
}

/** Distinct other peers that answered: the holders of hits that crossed a link, as Search counts them against `want`. */
export function otherPeersAnswered(hits: readonly SearchHit[]): number {
  return new Set(hits.filter((h) => h.hops > 0).map((h) => h.holderPeerId)).size;
}

/**
 * Whether `get --name` asks for the wider search (the full TTL, no `want`) before it picks: its
 * search had a `want`, ended because that many other peers answered (so it may have asked only
 * the near rings, and heard only the first answers), and the vote over what arrived is close.
 * Answers counted here are claims (any hit's holder, verified or not, as Search counts them), so
 * forged holders that end the search early leave a thin verified vote, which is close, and the
 * wider search (no `want`: it runs to its deadline) is asked.
 * With fewer answers than `want` the search already widened to its full TTL: a wider one would
 * repeat it, so the pick is made from what arrived.
 */
export function needsWiderSearch(hits: readonly SearchHit[], pick: Pick | undefined, settings: VoteSettings): boolean {
  return settings.want > 0 && otherPeersAnswered(hits) >= settings.want && isCloseVote(pick, settings.margin);
}

/**
 * `peerId@host:port` for a files address (host:port, or the base URL an earlier release's hit
 * carries); undefined when the address is not one.
 */
export function sourceAt(peerId: string, filesAddress: string): string | undefined {
  const address = filesHostPort(filesAddress);
  return address === undefined ? undefined : formatPeerAddress({ peerId, address });
}
