/**
 * The Client's ports over the other services' HTTP APIs, for a Client run alone
 * (`peershare service client`): File Management's /files and /shares, Search's GET /search
 * (Server-Sent Events) and /links, Fetch's /peers and /sources, Download's /downloads; and, in
 * either mode, other peers' Search /links for the network picture (over TLS, pinned to the peer).
 */
import { PeershareError } from '../../../shared/errors.ts';
import { isNotAnswering, type HttpClient } from '../../../shared/http-client.ts';
import { hostPort } from '../../../shared/address.ts';
import type {
  DownloadPort,
  DownloadProgress,
  FetchPort,
  FileSource,
  FilesPort,
  JoinPinInfo,
  OverlayLink,
  OverlayPort,
  PeerInfo,
  SearchHit,
  SearchPort,
  SearchRun,
  SearchSummary,
  SharedFile,
  SharedFolder,
} from '../../ports.ts';
import { linkDefences, membershipDefences } from '../../domain/defences.ts';
import { joinStateOf } from '../../domain/join-state.ts';
import { reachabilityOf } from '../../domain/reachability.ts';
import { firewalledInfo } from '../../domain/pick.ts';
import { COLLECTION_MEDIA_TYPE, MAX_COLLECTION_BYTES, parseCollection } from '../../../shared/collection.ts';
import { call, callWithProgress, followEvents, sendStream, type CallOptions, type SseEvent } from './http-json.ts';

export function filesOverHttp(url: string, token: string | undefined): FilesPort {
  const api = new ServiceApi('files', url);
  return {
    share: (path, options) =>
      options?.onProgress || options?.signal
        ? api.callWithProgress('POST', '/shares', options.onProgress ?? (() => {}), {
            body: { path },
            token,
            ...(options.signal ? { signal: options.signal } : {}),
          })
        : api.call('POST', '/shares', { body: { path }, token, timeoutMs: 0 }),
    list: async (q, limit) => {
      // Only what the in-process port answers too: the same JSON whichever way the peer runs.
      const { items, total } = await api.call<{ items: SharedFile[]; total: number }>(
        'GET',
        `/files?limit=${limit}${q ? `&q=${encodeURIComponent(q)}` : ''}`,
        { token },
      );
      return { items, total };
    },
    folders: async (limit) => {
      const { items, total } = await api.call<{ items: SharedFolder[]; total: number }>(
        'GET',
        `/collections?limit=${limit}`,
        { token },
      );
      return { items, total };
    },
    unshare: (id) => api.call('DELETE', `/files/${encodeURIComponent(id)}`, { token }),
    async upload(body, name, size) {
      const answer = await api.upload<SharedFile>(`/files?name=${encodeURIComponent(name)}`, body, {
        token,
        contentLength: size,
      });
      return { file: answer.body, created: answer.status === 201 };
    },
    uploadLimit: async () => (await api.call<{ maxUploadRate: number }>('GET', '/limits')).maxUploadRate,
    setUploadLimit: async (maxUploadRate) =>
      (await api.call<{ maxUploadRate: number }>('PUT', '/limits', { body: { maxUploadRate }, token })).maxUploadRate,
  };
}

/** How long another peer has to send a folder's collection (at most MAX_COLLECTION_BYTES). */
const COLLECTION_TIMEOUT_MS = 15_000;

/** How long another peer's Search API has to tell its links for the network picture. */
const LINKS_TIMEOUT_MS = 1_000;

/**
 * Other peers' overlay links, from their Search API's GET /links: on the host of their
 * advertised addresses, at the port this peer's own Search API uses (peer records do not carry
 * that port; a network's peers keep the default ports). The request goes over TLS with the
 * shared client, pinned to the peer meant: another peer answering there fails the handshake
 * check (PEER_ID_MISMATCH) before anything is asked.
 */
export function overlayOverTls(http: HttpClient, searchApiPort: number): OverlayPort {
  return {
    async linksOf(peer) {
      const address = peer.addresses.search;
      const host = address.startsWith('[')
        ? address.slice(1, address.indexOf(']'))
        : address.slice(0, address.lastIndexOf(':'));
      // One deadline for the whole exchange (connection, handshake, answer): a peer that is gone must not hold the picture.
      const answer = await http.json<{ links: OverlayLink[] }>(
        { kind: 'peer', address: hostPort(host, searchApiPort), peerId: peer.peerId },
        { path: '/links', timeoutMs: LINKS_TIMEOUT_MS },
      );
      return answer.body.links;
    },
    async collectionFrom(peerId, filesAddress, id) {
      const answer = await http.bytes(
        { kind: 'peer', address: filesAddress, peerId },
        {
          path: `/collections/${encodeURIComponent(id)}`,
          timeoutMs: COLLECTION_TIMEOUT_MS,
          maxResponseBytes: MAX_COLLECTION_BYTES,
          headers: { accept: `${COLLECTION_MEDIA_TYPE}, application/json` },
        },
      );
      const { entries, size } = parseCollection(answer.body, id);
      return { entries, size };
    },
  };
}

export function searchOverHttp(url: string): SearchPort {
  const api = new ServiceApi('search', url);
  return {
    async search(query) {
      const params = new URLSearchParams();
      if (query.q !== undefined) params.set('q', query.q);
      if (query.fileId !== undefined) params.set('fileId', query.fileId);
      if (query.timeoutMs !== undefined) params.set('timeout', String(query.timeoutMs));
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      if (query.want !== undefined) params.set('want', String(query.want));
      const seen: SearchHit[] = [];
      const listeners: Array<(hit: SearchHit) => void> = [];
      let summary: SearchSummary | undefined;
      const stream = await api.follow(`/search?${params.toString()}`, ({ event, data }) => {
        if (event === 'hit') {
          seen.push(data as SearchHit);
          for (const l of listeners) l(data as SearchHit);
        } else if (event === 'summary') summary = data as SearchSummary;
      });
      const done = stream.ended.then(() => {
        if (!summary) throw new PeershareError('UNAVAILABLE', 'the search service ended the search without a summary');
        return summary;
      });
      const run: SearchRun = {
        onHit(listener) {
          for (const hit of seen) listener(hit);
          listeners.push(listener);
        },
        done,
        // Closing the stream is how Search's API learns that nobody waits for this search.
        cancel: () => stream.close(),
      };
      return run;
    },
    links: async () =>
      (
        await api.call<{
          links: Array<{ peerId: string; searchAddress: string; direction: string; since: number }>;
        }>('GET', '/links')
      ).links,
    defences: async () => linkDefences(await api.call('GET', '/health')),
  };
}

/** Peers asked of Fetch's GET /peers at a time (its most). */
const PEERS_PAGE = 1_000;

export function fetchOverHttp(url: string): FetchPort {
  const api = new ServiceApi('fetch', url);
  return {
    // Every page, as in one process: get --name checks hit holders against the whole membership.
    async peers() {
      const all: PeerInfo[] = [];
      let firewalled: PeerInfo[] = [];
      for (;;) {
        const page = await api.call<{
          items: PeerInfo[];
          total: number;
          firewalled?: Array<Parameters<typeof firewalledInfo>[0]>;
        }>('GET', `/peers?offset=${all.length}&limit=${PEERS_PAGE}`);
        all.push(...page.items);
        if (all.length === page.items.length) firewalled = (page.firewalled ?? []).map(firewalledInfo);
        if (page.items.length === 0 || all.length >= page.total) return [...all, ...firewalled];
      }
    },
    // Firewalled holders after the dialable ones: Download asks them to connect back.
    async sourcesFor(fileId) {
      const answer = await api.call<{ sources: FileSource[]; firewalled?: FileSource[] }>(
        'GET',
        `/sources/${encodeURIComponent(fileId)}`,
      );
      return [...answer.sources, ...(answer.firewalled ?? [])];
    },
    joinPins: async () => (await api.call<{ pins: JoinPinInfo[] }>('GET', '/join-pins')).pins,
    forgetJoinPins: async (key) =>
      (await api.call<{ pins: JoinPinInfo[] }>('DELETE', `/join-pins/${encodeURIComponent(key)}`)).pins,
    defences: async () => membershipDefences(await api.call('GET', '/health')),
    reachability: async () => reachabilityOf(await api.call('GET', '/health')),
    joinState: async () => joinStateOf(await api.call('GET', '/health')),
  };
}

export function downloadOverHttp(url: string, token: string | undefined): DownloadPort {
  const api = new ServiceApi('download', url);
  return {
    request: (req) => api.call('POST', '/downloads', { body: req, token }),
    list: (limit) => api.call('GET', `/downloads?limit=${limit}`),
    get: (key) => api.call('GET', `/downloads/${encodeURIComponent(key)}`),
    async watch(listener, onCleared) {
      const stream = await api.follow(
        '/downloads/events',
        ({ event, data }) => {
          if (event === 'progress') listener(data as DownloadProgress);
          else if (event === 'cleared') onCleared?.((data as { keys: string[] }).keys);
        },
        { timeoutMs: 0 },
      );
      return () => stream.close();
    },
    act: (key, action) => api.call('POST', `/downloads/${encodeURIComponent(key)}/${action}`, { token }),
    clear: async () => (await api.call<{ cleared: string[] }>('DELETE', '/downloads', { token })).cleared,
    queueBackend: async () => (await api.call<{ queue: string }>('GET', '/health')).queue,
    folder: async () => (await api.call<{ downloadsDir: string }>('GET', '/health')).downloadsDir,
    downloadLimit: async () => (await api.call<{ maxDownloadRate: number }>('GET', '/limits')).maxDownloadRate,
    setDownloadLimit: async (maxDownloadRate) =>
      (await api.call<{ maxDownloadRate: number }>('PUT', '/limits', { body: { maxDownloadRate }, token }))
        .maxDownloadRate,
  };
}

/**
 * Calls to one service of this peer over its HTTP API at `url`. A call the service does not
 * answer fails saying which service of this peer is down and how it is started: the Client
 * itself is up, so "no peer answers" would mislead.
 */
class ServiceApi {
  constructor(
    private readonly service: string,
    private readonly url: string,
  ) {}

  call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    return call<T>(method, this.url + path, options).catch((err: unknown) => this.explain(err));
  }

  callWithProgress<T, P>(method: string, path: string, onProgress: (p: P) => void, options: CallOptions): Promise<T> {
    return callWithProgress<T, P>(method, this.url + path, onProgress, options).catch((err: unknown) =>
      this.explain(err),
    );
  }

  follow(path: string, onEvent: (e: SseEvent) => void, options: CallOptions = {}): ReturnType<typeof followEvents> {
    return followEvents(this.url + path, onEvent, options).catch((err: unknown) => this.explain(err));
  }

  upload<T>(
    path: string,
    body: AsyncIterable<Uint8Array>,
    options: Parameters<typeof sendStream>[2],
  ): Promise<{ status: number; body: T }> {
    return sendStream<T>(this.url + path, body, options).catch((err: unknown) => this.explain(err));
  }

  private explain(err: unknown): never {
    if (!isNotAnswering(err)) throw err;
    const { host, hostname } = new URL(this.url);
    throw new PeershareError(
      'UNAVAILABLE',
      `this peer's ${this.service} service does not answer at ${host} (${String(err.details?.cause)}); start it with: peershare service ${this.service} --host ${hostname.replace(/^\[|\]$/g, '')} (and the peer's --data)`,
      { service: this.service },
    );
  }
}
