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
 */
import { addressOfUrl, formatPeerAddress, isAddress } from '../../shared/peer-address.ts';
import type { PeerInfo, SearchHit } from '../ports.ts';

/**
 * The most sources one download is asked with: the Download job's own cap
 * (src/download/domain/job.ts MAX_SOURCES_PER_JOB; test/client/forged-hits.test.ts checks they agree).
 * A file held by more peers is asked of the best ones (bestSources).
 */
export const MAX_DOWNLOAD_SOURCES = 64;

/** Peer states that count as verified, usable members. */
const USABLE_STATES = new Set(['alive', 'suspected']);

export interface Pick {
  fileId: string;
  /** The name most of its holders share it under. */
  name: string;
  size: number;
  /** Its best holders' File Management, each `peerId@host:port` (the id a download pins the address to). */
  sources: string[];
  /** Verified peers holding it (may be more than the sources kept). */
  holders: number;
}

/**
 * The verified members a holder id is checked against: the peers Fetch lists, alive or
 * suspected, other than this peer itself, by id.
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
  const ranked = [...holders].sort((a, b) => Number(a.state !== 'alive') - Number(b.state !== 'alive') || b.lastSeen - a.lastSeen);
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

/**
 * The file the most verified members hold among the hits, or undefined when no verified
 * member holds any. Hits from holders not in `members`, and hits whose name fails `isSafeName`
 * (shared/names.ts isSafeFileName, passed in so that the web UI's type check, which reads this
 * module's types, does not take in Node's), are not counted.
 */
export function pickMostHeld(hits: readonly SearchHit[], members: ReadonlyMap<string, PeerInfo>, isSafeName: (name: string) => boolean): Pick | undefined {
  const byFile = new Map<string, Candidate>();
  for (const hit of hits) {
    if (!members.has(hit.holderPeerId) || !isSafeName(hit.name)) continue;
    let candidate = byFile.get(hit.fileId);
    if (!candidate) byFile.set(hit.fileId, (candidate = { fileId: hit.fileId, size: hit.size, names: new Map() }));
    // One vote per holder for the name too: repeating a forged hit adds nothing.
    if (!candidate.names.has(hit.holderPeerId)) candidate.names.set(hit.holderPeerId, hit.name);
  }
  let best: Candidate | undefined;
  for (const c of byFile.values()) if (!best || c.names.size > best.names.size) best = c;
  if (!best) return undefined;
  return {
    fileId: best.fileId,
    name: mostCommon([...best.names.values()]),
    size: best.size,
    sources: bestSources([...best.names.keys()].map((id) => members.get(id)!)),
    holders: best.names.size,
  };
}

/**
 * `peerId@host:port` for a files address (a base URL such as http://host:port, or a bare
 * host:port); undefined when the address is not one.
 */
export function sourceAt(peerId: string, filesAddress: string): string | undefined {
  const address = isAddress(filesAddress) ? filesAddress : addressOfUrl(filesAddress);
  return address === undefined ? undefined : formatPeerAddress({ peerId, address });
}
