/**
 * The Client's use cases: what the `peershare` command and the web UI can do, over the ports of
 * the peer's other services. Most are a single call through; the ones with logic of their own
 * are status (one picture of the peer from every service), queueing by id (finding a name and
 * sources for a bare id) and queueing by name (search, then pick the file the most verified
 * peers hold: a hit's holders are hints, checked against Fetch's membership and counted only
 * where Fetch's availability map confirms them; the search wants only so many answers, and a
 * close vote asks for the wider search before picking; see pick.ts).
 */
import { isPeershareError, PeershareError } from '../../shared/errors.ts';
import { formatPeerAddress, parsePeerAddress } from '../../shared/peer-address.ts';
import { formatShareLink, parseShareLink, type ShareLink } from '../../shared/share-link.ts';
import type {
  ClientPorts,
  Defences,
  DownloadProgress,
  FileSource,
  FolderListing,
  JoinState,
  Limits,
  OverlayLink,
  PeerInfo,
  Reachability,
  SearchHit,
  SearchQuery,
} from '../ports.ts';
import { CLIENT_DEFAULTS } from '../../shared/defaults.ts';
import { networkView, peersToMap, type NetworkView } from './network.ts';
import {
  bestSources,
  candidateFileIds,
  FIREWALLED,
  isCloseVote,
  MAX_DOWNLOAD_SOURCES,
  needsWiderSearch,
  otherPeersAnswered,
  pickMostHeld,
  sourceAt,
  verifiedMembers,
  type Pick,
  type PickBasis,
  type VoteSettings,
} from './pick.ts';

/** How long a search for a bare id may take when Fetch knows no holder of it. */
const ID_SEARCH_TIMEOUT_MS = 2_000;

/**
 * Fetch availability look-ups (one per candidate file of a get by name) in flight at once: in one
 * process each is a map read, run apart each is a request to the local Fetch API. Every candidate
 * is asked (the search's own hit limit bounds them): skipping some would let a flood of forged
 * candidates push the honest file out of the ones checked.
 */
const AVAILABILITY_LOOKUPS_IN_FLIGHT = 16;

/** Hints a link made here carries after this peer's own address: other alive holders Fetch knows. */
const LINK_HOLDER_HINTS = 2;

export interface ClientIdentity {
  peerId: string;
  /** host:port of each of this peer's services, as configured. */
  addresses: Record<string, string>;
  startedAt: number;
}

export interface PeerStatus {
  peerId: string;
  addresses: Record<string, string>;
  uptimeMs: number;
  queue: string | null;
  links: OverlayLink[];
  counts: {
    sharedFiles: number | null;
    knownPeers: number | null;
    alivePeers: number | null;
    downloads: Record<string, number> | null;
  };
  /** Services that did not answer (run apart and not running, or failing). */
  unavailable: string[];
  /** What this peer's defences refused, evicted or cut (docs/SECURITY.md); null parts did not answer. */
  defences: Defences;
  /** Whether other hosts can reach this peer (null: Fetch did not answer). */
  reachability: Reachability | null;
  /** Whether this peer has joined the network (null: Fetch did not answer). */
  join: JoinState | null;
}

export interface QueuedDownload {
  download: DownloadProgress;
  /** How many holders the file was chosen (get by name) or found (get by id) with. */
  holders: number;
  /**
   * 'availability': those holders are ones Fetch lists as holding the file (each said so itself);
   * 'hits': Fetch listed no holder of any match yet, so verified search-hit holders were counted;
   * 'link': the sources are a link's hints (`linkHints` of them) and the holders Fetch knows.
   */
  basis: PickBasis | 'link';
  size: number | undefined;
  /** Of the sources, how many came from the link's hints (basis 'link'). */
  linkHints?: number;
  /** How a get by name searched and voted (absent for a get by id or link). */
  vote?: NameVote;
}

/** How a get by name searched and voted (pick.ts isCloseVote, needsWiderSearch). */
export interface NameVote {
  /** Other peers its search wanted to answer: it widened while fewer did, and ended once that many did (0: one flood at the full TTL). */
  want: number;
  /** Distinct other peers that answered that search. */
  answered: number;
  /** Counted holders the picked file needs over the runner-up for a clear vote. */
  margin: number;
  /** The vote over that search's hits: the leader's counted holders and the runner-up's (0 and 0: nothing to pick). */
  first: { holders: number; runnerUp: number };
  /** Whether that vote was close. */
  close: boolean;
  /** Whether the wider search (the full TTL, no want) was asked, and the vote taken again over both searches' hits. */
  widened: boolean;
  /** The runner-up's counted holders in the vote that picked (the picked file's are QueuedDownload.holders). */
  runnerUp: number;
}

/** What get by name is given: where to save, the search deadline, and a want other than the peer's setting. */
export interface ByNameOptions {
  outDir?: string | undefined;
  timeoutMs?: number | undefined;
  want?: number | undefined;
}

/** A vote over a search's hits: the verified members it was checked against, and its pick. */
interface Vote {
  members: Map<string, PeerInfo>;
  pick: Pick | undefined;
}

/** A shared folder queued from its link: every file it lists is one download. */
export interface QueuedFolder {
  folder: { id: string; name: string; files: number; size: number; root: string };
  downloads: DownloadProgress[];
}

/** A shared folder's verified contents, as its holders sent them (nothing queued). */
export interface FolderContents {
  folder: { id: string; name: string; files: number; size: number };
  entries: FolderListing['entries'];
}

/** Which files of a folder to queue: relative paths of files, or of folders in it (everything under them). */
export type FolderSelection = readonly string[];

/** A file and its `peershare:` link. */
export type WithLink<T> = T & { link: string };

/** Hits once per holder and file, the first of each kept (two searches find the same ones). */
function withoutRepeats(hits: readonly SearchHit[]): SearchHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const pair = `${h.holderPeerId}/${h.fileId}`;
    if (seen.has(pair)) return false;
    seen.add(pair);
    return true;
  });
}

/** The folder's name a link gives, or one made of its id. */
const folderName = (link: ShareLink) => link.name ?? `folder-${link.fileId.slice(0, 12)}`;

/** A selection is for folders only: asked of a file, it is a mistake, said before anything is queued. */
function notAFolder(fileId: string, only: FolderSelection | undefined): void {
  if (only !== undefined)
    throw new PeershareError(
      'BAD_REQUEST',
      `${fileId} is a file, not a shared folder: there is nothing in it to choose (drop --only)`,
    );
}

/** The entries at or under each selected relative path; a path that names nothing is refused, naming it. */
function selected(entries: FolderListing['entries'], only: FolderSelection, id: string): FolderListing['entries'] {
  const paths = only.map((p) => p.replace(/^\/+|\/+$/g, ''));
  const under = (entry: { path: string }, p: string) => p === '' || entry.path === p || entry.path.startsWith(`${p}/`);
  const missing = paths.filter((p) => !entries.some((e) => under(e, p)));
  if (missing.length > 0)
    throw new PeershareError(
      'BAD_REQUEST',
      `folder ${id} has no file or folder ${missing.map((p) => `"${p}"`).join(', ')}; nothing was queued (list it with --list)`,
    );
  return entries.filter((e) => paths.some((p) => under(e, p)));
}

export class ClientApp {
  constructor(
    private readonly ports: ClientPorts,
    private readonly identity: ClientIdentity,
    /** Whether a name is one a share may have (shared/names.ts isSafeFileName): hits named otherwise are ignored. */
    private readonly isSafeName: (name: string) => boolean,
    private readonly now: () => number = Date.now,
    /** How get by name searches and weighs its vote (the getWant and getVoteMargin settings). */
    private readonly voting: VoteSettings = { want: CLIENT_DEFAULTS.getWant, margin: CLIENT_DEFAULTS.getVoteMargin },
  ) {}

  get files() {
    return this.ports.files;
  }

  get download() {
    return this.ports.download;
  }

  get fetch() {
    return this.ports.fetch;
  }

  search(query: SearchQuery) {
    return this.ports.search.search(query);
  }

  /** The bandwidth caps in force now, and where a change is kept. */
  async limits(): Promise<Limits & { keptIn?: string }> {
    const [maxDownloadRate, maxUploadRate] = await Promise.all([
      this.ports.download.downloadLimit(),
      this.ports.files.uploadLimit(),
    ]);
    return { maxDownloadRate, maxUploadRate, ...(this.ports.settings ? { keptIn: this.ports.settings.where } : {}) };
  }

  /**
   * Change either cap while the peer runs: in force at once (running transfers go on at the new
   * rate), then kept in the config file for the next start. A cap that could not be kept is still
   * in force, and the error says so.
   */
  async setLimits(change: Partial<Limits>): Promise<Limits & { keptIn?: string }> {
    if (change.maxDownloadRate !== undefined) await this.ports.download.setDownloadLimit(change.maxDownloadRate);
    if (change.maxUploadRate !== undefined) await this.ports.files.setUploadLimit(change.maxUploadRate);
    const now = await this.limits();
    const kept = {
      ...(change.maxDownloadRate !== undefined ? { maxDownloadRate: now.maxDownloadRate } : {}),
      ...(change.maxUploadRate !== undefined ? { maxUploadRate: now.maxUploadRate } : {}),
    };
    try {
      await this.ports.settings?.keep(kept);
    } catch (err) {
      throw new PeershareError(
        isPeershareError(err) ? err.code : 'UNAVAILABLE',
        `the new caps are in force until the peer stops, but were not kept: ${(err as Error).message}`,
        { ...now },
      );
    }
    return now;
  }

  /** Every service is asked at once; one that fails leaves its part null instead of failing the rest. */
  async status(): Promise<PeerStatus> {
    const { files, fetch, search, download } = this.ports;
    const [shared, peers, links, queue, downloads, membership, overlay, reachability, join] = await Promise.allSettled([
      files.list(undefined, 1),
      fetch.peers(),
      search.links(),
      download.queueBackend(),
      download.list(1000),
      fetch.defences(),
      search.defences(),
      fetch.reachability(),
      fetch.joinState(),
    ]);
    const value = <T>(r: PromiseSettledResult<T>): T | null => (r.status === 'fulfilled' ? r.value : null);
    // A service is unavailable when one of these calls fails; defences, reachability and join state do not count.
    const callsOf = [
      { service: 'files', answers: [shared] },
      { service: 'fetch', answers: [peers] },
      { service: 'search', answers: [links] },
      { service: 'download', answers: [queue, downloads] },
    ];
    const unavailable = callsOf
      .filter(({ answers }) => answers.some((answer) => answer.status === 'rejected'))
      .map(({ service }) => service);
    const byState: Record<string, number> = {};
    for (const d of value(downloads) ?? []) byState[d.state] = (byState[d.state] ?? 0) + 1;
    const known = value(peers);
    return {
      peerId: this.identity.peerId,
      addresses: this.identity.addresses,
      uptimeMs: this.now() - this.identity.startedAt,
      queue: value(queue),
      links: value(links) ?? [],
      counts: {
        sharedFiles: value(shared)?.total ?? null,
        knownPeers: known?.length ?? null,
        alivePeers: known ? known.filter((p) => p.state === 'alive').length : null,
        downloads: downloads.status === 'fulfilled' ? byState : null,
      },
      unavailable,
      defences: { membership: value(membership), links: value(overlay) },
      reachability: value(reachability),
      join: value(join),
    };
  }

  /**
   * The picture of the network: the peers Fetch knows and the overlay links reported by this
   * peer and by every alive peer that answers in time (at most MAX_PEERS_MAPPED are asked).
   */
  network(): Promise<NetworkView> {
    // Callers at the same time (several open pages polling) share one gathering.
    this.#network ??= this.#gatherNetwork().finally(() => (this.#network = undefined));
    return this.#network;
  }

  #network: Promise<NetworkView> | undefined;

  async #gatherNetwork(): Promise<NetworkView> {
    const [peers, own] = await Promise.all([
      this.ports.fetch.peers(),
      this.ports.search.links().catch(() => undefined),
    ]);
    const reported = new Map<string, OverlayLink[]>();
    if (own) reported.set(this.identity.peerId, own);
    const asked = peersToMap(peers);
    const answers = await Promise.allSettled(asked.map((p) => this.ports.overlay.linksOf(p)));
    answers.forEach((answer, i) => {
      if (answer.status === 'fulfilled') reported.set(asked[i]!.peerId, answer.value);
    });
    return networkView(this.identity.peerId, peers, reported);
  }

  /**
   * Queue a file by id: its name and sources from Fetch's availability map (its alive holders,
   * the best MAX_DOWNLOAD_SOURCES of them), else from a search for the id. An id the search finds
   * as a shared folder (a collection id) queues the folder, as its link would.
   */
  async queueById(fileId: string, outDir?: string, only?: FolderSelection): Promise<QueuedDownload | QueuedFolder> {
    const known = (await this.ports.fetch.sourcesFor(fileId)).filter(
      (s) => s.state === 'alive' && s.peerId !== this.identity.peerId,
    );
    if (known.length > 0) {
      notAFolder(fileId, only);
      // The availability map is Fetch's own (each holder told it directly), so its addresses are
      // the holders' record addresses; ranked by when each was last heard.
      const members = verifiedMembers(await this.ports.fetch.peers(), this.identity.peerId);
      const holders = known.map(
        (s): PeerInfo =>
          members.get(s.peerId) ?? {
            peerId: s.peerId,
            state: s.state,
            lastSeen: 0,
            addresses: { files: s.filesAddress, search: '', fetch: '' },
            files: 0,
          },
      );
      const download = await this.ports.download.request({
        fileId,
        name: known[0]!.name,
        sources: bestSources(holders),
        ...(outDir ? { outDir } : {}),
      });
      return { download, holders: known.length, size: known[0]!.size, basis: 'availability' };
    }
    const hits = await this.collect({ fileId, timeoutMs: ID_SEARCH_TIMEOUT_MS });
    const folders = hits.filter((h) => h.folder !== undefined && h.fileId === fileId);
    if (folders.length > 0) return this.queueFolder(await this.foundFolder(fileId, folders), outDir, only);
    notAFolder(fileId, only);
    return this.queuePick(hits, outDir, {
      none: `no peer is known to hold file ${fileId}`,
      unverified: `no verified peer is known to hold file ${fileId}`,
    });
  }

  /**
   * A shared folder's contents, by its collection id (searched for, as `get ID` does) or its
   * `folder=` link: asked of its holders and verified against the id; nothing is queued.
   */
  async folderContents(ref: { fileId: string } | { link: string }): Promise<FolderContents> {
    let link: ShareLink;
    if ('link' in ref) {
      const read = parseShareLink(ref.link);
      if (!read.ok) throw new PeershareError('BAD_REQUEST', `not a usable peershare: link: ${read.reason}`);
      if (!read.link.folder)
        throw new PeershareError('BAD_REQUEST', 'the link names a file, not a folder: it has no contents to list');
      link = read.link;
    } else {
      const hits = await this.collect({ fileId: ref.fileId, timeoutMs: ID_SEARCH_TIMEOUT_MS });
      const folders = hits.filter((h) => h.folder !== undefined && h.fileId === ref.fileId);
      if (folders.length === 0)
        throw new PeershareError('COLLECTION_NOT_FOUND', `no peer answered for a shared folder with id ${ref.fileId}`);
      link = await this.foundFolder(ref.fileId, folders);
    }
    const { listing } = await this.folderListing(link);
    return {
      folder: { id: link.fileId, name: folderName(link), files: listing.entries.length, size: listing.size },
      entries: listing.entries,
    };
  }

  /**
   * The link to the shared folder a search for its collection id found. As with a hit for a
   * file, a holder is a hint: only verified members that can be dialled are named, each at its
   * own record's files address, and the collection they send must hash to the id (folderListing).
   */
  private async foundFolder(id: string, hits: readonly SearchHit[]): Promise<ShareLink> {
    const members = verifiedMembers(await this.ports.fetch.peers(), this.identity.peerId);
    const dialable = (peerId: string) => members.has(peerId) && members.get(peerId)!.state !== FIREWALLED;
    const holders = hits.filter((h) => dialable(h.holderPeerId) && this.isSafeName(h.name));
    const hints = bestSources(new Set(holders.map((h) => members.get(h.holderPeerId)!)));
    if (hints.length === 0) {
      throw new PeershareError(
        'FILE_NOT_FOUND',
        `folder ${id} was found only at peers this peer has not verified or cannot dial (firewalled): a folder is asked of verified, reachable holders`,
      );
    }
    const name = holders.find((h) => h.holderPeerId === parsePeerAddress(hints[0]!)?.peerId)?.name ?? holders[0]!.name;
    return { fileId: id, folder: true, name, hints };
  }

  /**
   * Queue the file a `peershare:` link names (shared/share-link.ts), asking the link's hints
   * first, then every alive holder Fetch knows. Only the id is trusted: each hint is dialled
   * pinned to its peer id, the name passed the share rules, and the download fails if the
   * verified manifest's size is not the link's.
   */
  async queueByLink(text: string, outDir?: string, only?: FolderSelection): Promise<QueuedDownload | QueuedFolder> {
    const read = parseShareLink(text);
    if (!read.ok) throw new PeershareError('BAD_REQUEST', `not a usable peershare: link: ${read.reason}`);
    if (read.link.folder) return this.queueFolder(read.link, outDir, only);
    notAFolder(read.link.fileId, only);
    const { fileId, name, size, hints } = read.link;
    const self = this.identity.peerId;
    const fromLink = hints.filter((h) => parsePeerAddress(h)?.peerId !== self);
    const known = (await this.ports.fetch.sourcesFor(fileId).catch(() => [])).filter(
      (s) => s.state === 'alive' && s.peerId !== self,
    );
    const fromFetch = known.map((s) => sourceAt(s.peerId, s.filesAddress)).filter((s) => s !== undefined);
    const sources = [...new Set([...fromLink, ...fromFetch])].slice(0, MAX_DOWNLOAD_SOURCES);
    if (sources.length === 0)
      throw new PeershareError(
        'FILE_NOT_FOUND',
        `the link names no peer other than this one, and no other peer is known to hold file ${fileId}`,
      );
    const request = {
      fileId,
      name: name ?? known[0]?.name ?? fileId,
      sources,
      ...(size !== undefined ? { size } : {}),
      ...(outDir ? { outDir } : {}),
    };
    const download = await this.ports.download.request(request);
    return {
      download,
      holders: sources.length,
      size: size ?? known[0]?.size,
      basis: 'link',
      linkHints: fromLink.length,
    };
  }

  /**
   * Queue a shared folder a `folder=` link names: its collection is asked of the link's hints
   * (pinned by TLS) and verified against the id, then every file it lists (or, given `only`, the
   * files at or under those relative paths) is queued into the same relative folder under
   * `outDir` (default: the downloads folder) / the folder's name, each verified as any download
   * is. Asked again, the same downloads answer (one per file and folder).
   */
  async queueFolder(link: ShareLink, outDir?: string, only?: FolderSelection): Promise<QueuedFolder> {
    const { listing, hints } = await this.folderListing(link);
    const entries = only === undefined ? listing.entries : selected(listing.entries, only, link.fileId);
    const name = folderName(link);
    const root = `${(outDir ?? (await this.ports.download.folder())).replace(/\/+$/, '')}/${name}`;
    const sources = hints.map((h) => formatPeerAddress(h));
    const downloads: DownloadProgress[] = [];
    for (const entry of entries) {
      const slash = entry.path.lastIndexOf('/');
      const dir = slash < 0 ? root : `${root}/${entry.path.slice(0, slash)}`;
      downloads.push(
        await this.ports.download.request({
          fileId: entry.fileId,
          name: entry.path.slice(slash + 1),
          sources,
          outDir: dir,
          size: entry.size,
        }),
      );
    }
    return {
      folder: { id: link.fileId, name, files: entries.length, size: entries.reduce((sum, e) => sum + e.size, 0), root },
      downloads,
    };
  }

  /** The verified collection a folder link names, from the first of its hints that sends it, and the hints. */
  private async folderListing(
    link: ShareLink,
  ): Promise<{ listing: FolderListing; hints: Array<{ peerId: string; address: string }> }> {
    const self = this.identity.peerId;
    const hints = link.hints.flatMap((text) => {
      const hint = parsePeerAddress(text);
      return hint && hint.peerId !== self ? [hint] : [];
    });
    if (hints.length === 0)
      throw new PeershareError(
        'FILE_NOT_FOUND',
        `the link names no peer other than this one to ask for folder ${link.fileId}`,
      );
    let listing: FolderListing | undefined;
    let failure: unknown;
    for (const hint of hints) {
      try {
        listing = await this.ports.overlay.collectionFrom(hint.peerId, hint.address, link.fileId);
        break;
      } catch (err) {
        failure = err;
      }
    }
    if (!listing) {
      const why = (failure as Error)?.message ?? String(failure);
      throw new PeershareError(
        isPeershareError(failure) && failure.code === 'INVALID_COLLECTION' ? 'INVALID_COLLECTION' : 'UNAVAILABLE',
        `no peer the link names sent folder ${link.fileId}: ${why}`,
      );
    }
    if (link.size !== undefined && listing.size !== link.size) {
      throw new PeershareError(
        'BAD_REQUEST',
        `folder ${link.fileId} holds ${listing.size} bytes by its verified collection, not the ${link.size} the link says (a wrong link?); nothing was queued`,
      );
    }
    return { listing, hints };
  }

  /**
   * Each file with its `peershare:` link: hinted at this peer's advertised files address, then at
   * up to LINK_HOLDER_HINTS other alive holders Fetch knows. A Fetch that does not answer leaves
   * the configured address and no other holder.
   */
  async withLinks<T extends { id: string; name: string; size: number }>(
    files: readonly T[],
  ): Promise<Array<WithLink<T>>> {
    const self = this.identity.peerId;
    const reachability = await this.ports.fetch.reachability().catch(() => null);
    const own = formatPeerAddress({
      peerId: self,
      address: reachability?.advertisedFiles ?? this.identity.addresses.files ?? '',
    });
    const holders = await this.availability(files.map((f) => f.id)).catch(() => new Map<string, FileSource[]>());
    return files.map((f) => {
      // A firewalled holder is no hint: someone new to the network cannot ask it to connect back.
      const others = (holders.get(f.id) ?? [])
        .filter((s) => s.state === 'alive' && !s.firewalled && s.peerId !== self)
        .map((s) => sourceAt(s.peerId, s.filesAddress));
      const hints = [own, ...others.filter((s) => s !== undefined).slice(0, LINK_HOLDER_HINTS)];
      return {
        ...f,
        link: formatShareLink({
          fileId: f.id,
          ...(this.isSafeName(f.name) ? { name: f.name } : {}),
          size: f.size,
          hints,
        }),
      };
    });
  }

  /** Each shared folder with its `folder=` link, hinted at this peer's advertised files address (only this peer is known to hold the collection). */
  async withFolderLinks<T extends { id: string; name: string; size: number }>(
    folders: readonly T[],
  ): Promise<Array<WithLink<T>>> {
    const reachability = folders.length > 0 ? await this.ports.fetch.reachability().catch(() => null) : null;
    const own = formatPeerAddress({
      peerId: this.identity.peerId,
      address: reachability?.advertisedFiles ?? this.identity.addresses.files ?? '',
    });
    return folders.map((f) => ({
      ...f,
      link: formatShareLink({
        fileId: f.id,
        folder: true,
        ...(this.isSafeName(f.name) ? { name: f.name } : {}),
        size: f.size,
        hints: [own],
      }),
    }));
  }

  /**
   * Search by words and queue the file the most verified peers hold. The search wants `want`
   * other peers to answer (default: the getWant setting; 0: one flood at the full TTL). When it
   * ended at that many ('enough') and the vote over what arrived is close, the wider search (the
   * full TTL, no want) is asked, and the vote taken again over both searches' hits (pick.ts
   * needsWiderSearch); the answer says so (`vote`).
   */
  async queueByName(q: string, o: ByNameOptions = {}): Promise<QueuedDownload> {
    const want = o.want ?? this.voting.want;
    const settings = { want, margin: this.voting.margin };
    const plain: SearchQuery = { q, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) };
    let hits = await this.collect(want > 0 ? { ...plain, want } : plain);
    let vote = await this.vote(hits);
    const first = { holders: vote.pick?.holders ?? 0, runnerUp: vote.pick?.runnerUp ?? 0 };
    const report = {
      want,
      answered: otherPeersAnswered(hits),
      margin: settings.margin,
      first,
      close: isCloseVote(vote.pick, settings.margin),
      widened: needsWiderSearch(hits, vote.pick, settings),
    };
    if (report.widened) {
      hits = withoutRepeats([...hits, ...(await this.collect(plain))]);
      vote = await this.vote(hits);
    }
    const queued = await this.queueVoted(hits, vote, o.outDir, {
      none: `no file on the network matches "${q}"`,
      unverified: `no verified peer holds a file matching "${q}"`,
    });
    return { ...queued, vote: { ...report, runnerUp: vote.pick?.runnerUp ?? 0 } };
  }

  /**
   * Queue the file the most verified members hold among `hits` (pick.ts): a hit's holder is only
   * a hint, checked against Fetch's membership once the search is over, counted only where Fetch's
   * availability map lists it as holding that file (unless Fetch lists no holder of any
   * candidate yet), and dialled at the files address of its own signed record.
   */
  private async queuePick(
    hits: SearchHit[],
    outDir: string | undefined,
    notFound: { none: string; unverified: string },
  ): Promise<QueuedDownload> {
    if (hits.length === 0) throw new PeershareError('FILE_NOT_FOUND', notFound.none);
    return this.queueVoted(hits, await this.vote(hits), outDir, notFound);
  }

  /** The vote over `hits`: checked against Fetch's membership and availability as they are now. */
  private async vote(hits: readonly SearchHit[]): Promise<Vote> {
    if (hits.length === 0) return { members: new Map(), pick: undefined }; // nothing to check: Fetch is not asked
    const members = verifiedMembers(await this.ports.fetch.peers(), this.identity.peerId);
    const availability = await this.availability(candidateFileIds(hits, members, this.isSafeName));
    return { members, pick: pickMostHeld(hits, members, this.isSafeName, availability) };
  }

  /** Queue what `vote` picked among `hits`, or say why nothing could be. */
  private async queueVoted(
    hits: readonly SearchHit[],
    { members, pick }: Vote,
    outDir: string | undefined,
    notFound: { none: string; unverified: string },
  ): Promise<QueuedDownload> {
    if (hits.length === 0) throw new PeershareError('FILE_NOT_FOUND', notFound.none);
    if (!pick) {
      const self = this.identity.peerId;
      const what = hits.every((h) => h.folder !== undefined)
        ? 'what matches are shared folders: get one by the id or link search prints'
        : hits.every((h) => h.holderPeerId === self)
          ? 'only this peer itself shares it, and it is no source of its own downloads'
          : hits.some((h) => members.get(h.holderPeerId)?.state === FIREWALLED)
            ? 'its holders are firewalled, and Fetch lists none of them as holding it yet: a firewalled holder is asked to connect back only for a file its own list names'
            : `${hits.length} hit${hits.length === 1 ? '' : 's'} named only holders this peer has not verified: a hit's holder counts once Fetch has verified that peer`;
      throw new PeershareError('FILE_NOT_FOUND', `${notFound.unverified} (${what})`);
    }
    const download = await this.ports.download.request({
      fileId: pick.fileId,
      name: pick.name,
      sources: pick.sources,
      ...(outDir ? { outDir } : {}),
    });
    return { download, holders: pick.holders, size: pick.size, basis: pick.basis };
  }

  /** Fetch's sources of each file id, at most AVAILABILITY_LOOKUPS_IN_FLIGHT asked at a time. */
  private async availability(fileIds: readonly string[]): Promise<Map<string, FileSource[]>> {
    const found = new Map<string, FileSource[]>();
    let next = 0;
    const worker = async () => {
      while (next < fileIds.length) {
        const fileId = fileIds[next++]!;
        found.set(fileId, await this.ports.fetch.sourcesFor(fileId));
      }
    };
    await Promise.all(Array.from({ length: Math.min(AVAILABILITY_LOOKUPS_IN_FLIGHT, fileIds.length) }, worker));
    return found;
  }

  private async collect(query: SearchQuery): Promise<SearchHit[]> {
    const run = await this.ports.search.search(query);
    const hits: SearchHit[] = [];
    run.onHit((hit) => hits.push(hit));
    await run.done;
    return hits;
  }
}
