/**
 * The ports of the Client service: the other four services of its peer, as the Client drives
 * them. In one process the composition root adapts the running services (src/peer/build-client.ts);
 * run alone, the HTTP adapters in adapters/http/ call their APIs. The Client's own types are
 * declared here, so the Client never imports another service's code.
 */

/** A file this peer shares. */
export interface SharedFile {
  id: string;
  name: string;
  names: string[];
  size: number;
  addedAt: number;
  /** Bytes of its content sent to other peers, all time. */
  uploaded?: number;
  paths?: string[];
}

/** A shared folder recorded as a collection (docs/PROTOCOL.md §11). */
export interface SharedCollection {
  id: string;
  /** The folder's name. */
  name: string;
  files: number;
  size: number;
  /** Files shared on their own but left out of the collection, and why. */
  omitted: Array<{ path: string; code: string; reason: string }>;
}

/** A shared folder, as File Management records it (a collection, docs/PROTOCOL.md §11). */
export interface SharedFolder {
  id: string;
  name: string;
  /** The local folder (admin callers). */
  folder?: string;
  files: number;
  size: number;
  addedAt: number;
  /** Whether this peer still shares every file in it. */
  complete: boolean;
}

export interface ShareResult {
  files: Array<{ id: string; name: string; path: string; size: number; hashed: boolean }>;
  skipped: Array<{ path: string; code: string; reason: string }>;
  /** Present when a folder was shared and recorded as a collection. */
  collection?: SharedCollection;
}

/** A share while it hashes (File Management reports it as the bytes go by). */
export interface ShareProgress {
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  bytesDone: number;
  /** The file being hashed. */
  path?: string;
}

export interface ShareOptions {
  onProgress?: (p: ShareProgress) => void;
  /** Aborting stops the share; the files hashed by then stay shared. */
  signal?: AbortSignal;
}

export interface FilesPort {
  /** Share a local file or folder in place, reporting progress while it hashes when asked. */
  share(path: string, options?: ShareOptions): Promise<ShareResult>;
  /** Shared files, newest first; `q` filters by terms. */
  list(q: string | undefined, limit: number): Promise<{ items: SharedFile[]; total: number }>;
  /** The shared folders recorded as collections, newest first. */
  folders(limit: number): Promise<{ items: SharedFolder[]; total: number }>;
  /** Stop sharing a file (FILE_NOT_FOUND when it is not shared). */
  unshare(id: string): Promise<void>;
  /**
   * Store a streamed upload under `name` (the web UI's "add by upload"); `size` is the declared
   * length when known. The body is streamed through, never held whole.
   */
  upload(
    body: AsyncIterable<Uint8Array>,
    name: string,
    size: number | undefined,
  ): Promise<{ file: SharedFile; created: boolean }>;
  /** The cap on content sent to other peers, bytes per second (0: none). */
  uploadLimit(): Promise<number>;
  /** Change it while the service runs; resolves with the cap now in force. */
  setUploadLimit(bytesPerSecond: number): Promise<number>;
}

export interface SearchHit {
  fileId: string;
  name: string;
  size: number;
  holderPeerId: string;
  /** host:port of the holder's File Management, as its hit said (a hint, never dialled as such). */
  filesAddress: string;
  hops: number;
  /** Present when the hit is a shared folder: fileId is its collection id, size its files' sum. */
  folder?: { files: number };
}

export interface SearchSummary {
  queryKey: string;
  peersAnswered: number;
  hits: number;
  duplicatesDropped: number;
  elapsedMs: number;
  /** Why it ended, as Search says: 'deadline', 'limit', 'enough' (`want` other peers answered) or 'cancelled'. */
  ended: string;
}

export interface SearchQuery {
  /** Words (every one must prefix a word of a name); exactly one of q and fileId. */
  q?: string;
  fileId?: string;
  timeoutMs?: number;
  limit?: number;
  /**
   * Dynamic querying: search near first (TTL 2, then 4, then the full TTL, a step a second, sooner
   * under a short deadline) and end once this many other peers answered ('enough'). Absent:
   * one flood at the full TTL, to the deadline.
   */
  want?: number;
}

/** A search in flight: hits as they arrive, then its summary. */
export interface SearchRun {
  /** Called for every hit from now on, the ones already in hand first. */
  onHit(listener: (hit: SearchHit) => void): void;
  readonly done: Promise<SearchSummary>;
  /** End it early (the caller went away). */
  cancel(): void;
}

export interface OverlayLink {
  peerId: string;
  searchAddress: string;
  direction: string;
  since: number;
}

export interface SearchPort {
  /** Start a search; throws BAD_REQUEST for a query with no searchable words. */
  search(query: SearchQuery): Promise<SearchRun>;
  /** The overlay links of this peer's Search service. */
  links(): Promise<OverlayLink[]>;
  /** What the overlay and the engine refused or cut; null if the service does not say. */
  defences(): Promise<LinkDefences | null>;
}

export interface PeerInfo {
  peerId: string;
  state: string;
  lastSeen: number;
  /** The address set this peer dials it at. */
  addresses: { files: string; search: string; fetch: string };
  /** Every address set its record lists, in order (absent from an older Fetch). */
  advertised?: Array<{ files: string; search: string; fetch: string }>;
  files: number;
}

export interface FileSource {
  peerId: string;
  /** host:port of the holder's File Management, from its verified record. */
  filesAddress: string;
  name: string;
  size: number;
  state: string;
  /**
   * A holder Fetch holds firewalled (it proved its key but cannot be dialled): this peer's
   * Download asks it to connect back (PUSH), in one process or split.
   */
  firewalled?: true;
}

/** A join address and the peer id it proved on first contact (trust on first use). */
export interface JoinPinInfo {
  address: string;
  peerId: string;
  pinnedAt: number;
  /** Another id the address proved since, refused until the pin is forgotten. */
  refused?: { peerId: string; at: number };
}

export interface FetchPort {
  /** Every peer this peer knows, with its state. */
  peers(): Promise<PeerInfo[]>;
  /** Peers known to hold a file: dialable ones, then firewalled ones, which Download asks to connect back (FileSource.firewalled). */
  sourcesFor(fileId: string): Promise<FileSource[]>;
  /** The pinned join addresses. */
  joinPins(): Promise<JoinPinInfo[]>;
  /** Forget the pins of a peer id or join address (accept a new key there); returns those dropped. */
  forgetJoinPins(key: string): Promise<JoinPinInfo[]>;
  /** What admission of peer records refused, evicted or verified; null if the service does not say. */
  defences(): Promise<MembershipDefences | null>;
  /** Whether other hosts can reach this peer; null if the service does not say. */
  reachability(): Promise<Reachability | null>;
  /** Whether this peer has joined the network; null if the service does not say. */
  joinState(): Promise<JoinState | null>;
}

/** Fetch's join state: joining while join addresses are given and none has answered yet (retried with backoff). */
export interface JoinState {
  state: 'stopped' | 'joining' | 'joined' | 'alone';
  /** Join attempts that failed so far. */
  failedAttempts: number;
}

/** Whether other hosts can reach this peer, and where its record says to dial it (Fetch's status). */
export interface Reachability {
  /** configured: --advertise or a bound address; learning: bound to a wildcard, nothing seen yet; reachable / unreachable: after a dial-back. */
  state: 'configured' | 'learning' | 'reachable' | 'unreachable';
  /** The address another host saw this peer at (reachable, unreachable). */
  address?: string;
  confirmedBy?: string;
  checkedBy?: string;
  /** The Fetch address this peer's record advertises (the first, when it lists several). */
  advertised?: string;
  /** Every Fetch address this peer's record lists, in the order others try them. */
  advertisedAll?: string[];
  /** The File Management address this peer's record advertises (a link's own hint). */
  advertisedFiles?: string;
  /** What the home router answered when asked to forward the peer ports (--nat upnp); absent when not asked. */
  portMapping?: { state: 'mapping' | 'mapped' | 'failed'; externalIp?: string; ports?: number[]; reason?: string };
}

export interface DownloadProgress {
  key: string;
  fileId: string;
  name: string;
  state: string;
  bytesDone: number;
  size?: number;
  rate: number;
  etaSeconds?: number;
  sources: string[];
  /** While it runs: verified bytes each source delivered since the download (re)started, and its rate now. */
  perSource?: Array<{ source: string; bytes: number; rate: number }>;
  finalPath?: string;
  /** Done, but the file is no longer at finalPath (deleted or moved): asked for again, it is downloaded anew. */
  gone?: true;
  error?: string;
}

export interface DownloadRequest {
  fileId: string;
  name: string;
  /** File Management base URLs known to hold the file. */
  sources?: string[];
  outDir?: string;
  /** The size the file should have (a link's): the download fails if its verified manifest says otherwise. */
  size?: number;
}

export interface DownloadPort {
  /** Queue a download; resolves once the job is durable. */
  request(req: DownloadRequest): Promise<DownloadProgress>;
  list(limit: number): Promise<DownloadProgress[]>;
  /** One download as it is now (NOT_FOUND when no download has `key`). */
  get(key: string): Promise<DownloadProgress>;
  /** Follow every download's progress; returns the unsubscribe function. */
  watch(listener: (p: DownloadProgress) => void, onCleared?: (keys: string[]) => void): Promise<() => void>;
  act(key: string, action: 'pause' | 'resume' | 'cancel'): Promise<DownloadProgress>;
  /** Forget every download that ended (done, failed, cancelled); returns their keys. */
  clear(): Promise<string[]>;
  /** 'embedded' or 'rabbitmq'. */
  queueBackend(): Promise<string>;
  /** The folder downloads are saved in when none is asked for. */
  folder(): Promise<string>;
  /** The cap on all downloads together, bytes per second (0: none). */
  downloadLimit(): Promise<number>;
  /** Change it while downloads run; resolves with the cap now in force. */
  setDownloadLimit(bytesPerSecond: number): Promise<number>;
}

/** The bandwidth caps, bytes per second; 0 for none. */
export interface Limits {
  maxDownloadRate: number;
  maxUploadRate: number;
}

/** Where settings changed while the peer runs are kept for its next start (the config file). */
export interface SettingsPort {
  /** Where they are kept, for the user. */
  readonly where: string;
  keep(values: Partial<Limits>): Promise<void>;
}

/** A shared folder's files, as its verified collection lists them (relative paths, canonical order). */
export interface FolderListing {
  entries: Array<{ path: string; size: number; fileId: string }>;
  size: number;
}

/** Other peers, asked directly over TLS pinned to their ids: for the network picture, and a folder's collection. */
export interface OverlayPort {
  /**
   * The overlay links another peer's Search service reports; rejects when nothing answers in a
   * short time, or when another peer than `peer` answers at its address.
   */
  linksOf(peer: PeerInfo): Promise<OverlayLink[]>;
  /**
   * Collection `id` (a shared folder, docs/PROTOCOL.md §11) from the File Management of `peerId`
   * at `filesAddress` (host:port), verified against the id: INVALID_COLLECTION when the bytes
   * are not the canonical encoding that id names.
   */
  collectionFrom(peerId: string, filesAddress: string, id: string): Promise<FolderListing>;
}

export interface ClientPorts {
  files: FilesPort;
  search: SearchPort;
  fetch: FetchPort;
  download: DownloadPort;
  overlay: OverlayPort;
  /** Absent: caps changed at run time last until the peer stops. */
  settings?: SettingsPort;
}

/** Fetch's admission of peer records (src/fetch/domain/admission.ts). */
export interface MembershipDefences {
  /** Records waiting for this peer's own probe of their address. */
  unverified: number;
  /** Peers that proved their key on an inbound link but cannot be reached. */
  firewalled: number;
  /** New identities refused over the per-address or per-subnet rate. */
  refusedNew: number;
  /** Records refused while their address waits out a failed probe's backoff. */
  refusedBackoff: number;
  evictedUnverified: number;
  verificationsOk: number;
  verificationsFailed: number;
  droppedAfterFailures: number;
  /** Verified new peers not taken because the table was full, and entries they displaced (the table is then a random sample). */
  tableFull: number;
  sampledOut: number;
}

/** Search's overlay and engine (src/search/adapters/tcp/overlay-counters.ts, domain/counters.ts). */
export interface LinkDefences {
  inboundRefused: { perIp: number; perSubnet: number; pending: number; full: number };
  evictions: number;
  frameDeadlineCloses: number;
  /** Neighbours' queries dropped over their rate. */
  queriesRateLimited: number;
  /** Neighbours cut for flooding. */
  neighboursCut: number;
  /** This peer's own searches refused by its local limit (429). */
  ownSearchesRateLimited: number;
  /** Results of hits dropped for a name no share may have. */
  hitResultsBadName: number;
}

export interface Defences {
  membership: MembershipDefences | null;
  links: LinkDefences | null;
}
