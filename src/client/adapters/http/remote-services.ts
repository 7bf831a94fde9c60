/**
 * The Client's ports over the other services' HTTP APIs, for a Client run alone
 * (`peershare service client`): File Management's /files and /shares, Search's GET /search
 * (Server-Sent Events) and /links, Fetch's /peers and /sources, Download's /downloads; and, in
 * either mode, other peers' Search /links for the network picture (over TLS, pinned to the peer).
 */
import { isPeershareError, PeershareError } from '../../../shared/errors.ts';
import type { HttpClient } from '../../../shared/http-client.ts';
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
import { call, callWithProgress, followEvents, sendStream } from './http-json.ts';

export function filesOverHttp(url: string, token: string | undefined): FilesPort {
  return explained('files', url, {
    share: (path, options) =>
      options?.onProgress || options?.signal
        ? callWithProgress('POST', `${url}/shares`, options.onProgress ?? (() => {}), {
            body: { path },
            token,
            ...(options.signal ? { signal: options.signal } : {}),
          })
        : call('POST', `${url}/shares`, { body: { path }, token, timeoutMs: 0 }),
    list: async (q, limit) => {
      // Only what the in-process port answers too: the same JSON whichever way the peer runs.
      const { items, total } = await call<{ items: SharedFile[]; total: number }>(
        'GET',
        `${url}/files?limit=${limit}${q ? `&q=${encodeURIComponent(q)}` : ''}`,
        { token },
      );
      return { items, total };
    },
    folders: async (limit) => {
      const { items, total } = await call<{ items: SharedFolder[]; total: number }>(
        'GET',
        `${url}/collections?limit=${limit}`,
        { token },
      );
      return { items, total };
    },
    unshare: (id) => call('DELETE', `${url}/files/${encodeURIComponent(id)}`, { token }),
    async upload(body, name, size) {
      const answer = await sendStream<SharedFile>(`${url}/files?name=${encodeURIComponent(name)}`, body, {
        token,
        contentLength: size,
      });
      return { file: answer.body, created: answer.status === 201 };
    },
    uploadLimit: async () => (await call<{ maxUploadRate: number }>('GET', `${url}/limits`)).maxUploadRate,
    setUploadLimit: async (maxUploadRate) =>
      (await call<{ maxUploadRate: number }>('PUT', `${url}/limits`, { body: { maxUploadRate }, token })).maxUploadRate,
  });
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
  return explained('search', url, {
    async search(query) {
      const params = new URLSearchParams();
      if (query.q !== undefined) params.set('q', query.q);
      if (query.fileId !== undefined) params.set('fileId', query.fileId);
      if (query.timeoutMs !== undefined) params.set('timeout', String(query.timeoutMs));
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      const seen: SearchHit[] = [];
      const listeners: Array<(hit: SearchHit) => void> = [];
      let summary: SearchSummary | undefined;
      const stream = await followEvents(`${url}/search?${params}`, ({ event, data }) => {
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
        await call<{ links: Array<{ peerId: string; searchAddress: string; direction: string; since: number }> }>(
          'GET',
          `${url}/links`,
        )
      ).links,
    defences: async () => linkDefences(await call('GET', `${url}/health`)),
  });
}

/** Peers asked of Fetch's GET /peers at a time (its most). */
const PEERS_PAGE = 1_000;

export function fetchOverHttp(url: string): FetchPort {
  return explained('fetch', url, {
    // Every page, as in one process: get --name checks hit holders against the whole membership.
    async peers() {
      const all: PeerInfo[] = [];
      let firewalled: PeerInfo[] = [];
      for (;;) {
        const page = await call<{
          items: PeerInfo[];
          total: number;
          firewalled?: Array<Parameters<typeof firewalledInfo>[0]>;
        }>('GET', `${url}/peers?offset=${all.length}&limit=${PEERS_PAGE}`);
        all.push(...page.items);
        if (all.length === page.items.length) firewalled = (page.firewalled ?? []).map(firewalledInfo);
        if (page.items.length === 0 || all.length >= page.total) return [...all, ...firewalled];
      }
    },
    // Firewalled holders after the dialable ones: Download asks them to connect back.
    async sourcesFor(fileId) {
      const answer = await call<{ sources: FileSource[]; firewalled?: FileSource[] }>(
        'GET',
        `${url}/sources/${encodeURIComponent(fileId)}`,
      );
      return [...answer.sources, ...(answer.firewalled ?? [])];
    },
    joinPins: async () => (await call<{ pins: JoinPinInfo[] }>('GET', `${url}/join-pins`)).pins,
    forgetJoinPins: async (key) =>
      (await call<{ pins: JoinPinInfo[] }>('DELETE', `${url}/join-pins/${encodeURIComponent(key)}`)).pins,
    defences: async () => membershipDefences(await call('GET', `${url}/health`)),
    reachability: async () => reachabilityOf(await call('GET', `${url}/health`)),
    joinState: async () => joinStateOf(await call('GET', `${url}/health`)),
  });
}

export function downloadOverHttp(url: string, token: string | undefined): DownloadPort {
  return explained('download', url, {
    request: (req) => call('POST', `${url}/downloads`, { body: req, token }),
    list: (limit) => call('GET', `${url}/downloads?limit=${limit}`),
    get: (key) => call('GET', `${url}/downloads/${encodeURIComponent(key)}`),
    async watch(listener, onCleared) {
      const stream = await followEvents(
        `${url}/downloads/events`,
        ({ event, data }) => {
          if (event === 'progress') listener(data as DownloadProgress);
          else if (event === 'cleared') onCleared?.((data as { keys: string[] }).keys);
        },
        { timeoutMs: 0 },
      );
      return () => stream.close();
    },
    act: (key, action) => call('POST', `${url}/downloads/${encodeURIComponent(key)}/${action}`, { token }),
    clear: async () => (await call<{ cleared: string[] }>('DELETE', `${url}/downloads`, { token })).cleared,
    queueBackend: async () => (await call<{ queue: string }>('GET', `${url}/health`)).queue,
    folder: async () => (await call<{ downloadsDir: string }>('GET', `${url}/health`)).downloadsDir,
    downloadLimit: async () => (await call<{ maxDownloadRate: number }>('GET', `${url}/limits`)).maxDownloadRate,
    setDownloadLimit: async (maxDownloadRate) =>
      (await call<{ maxDownloadRate: number }>('PUT', `${url}/limits`, { body: { maxDownloadRate }, token }))
        .maxDownloadRate,
  });
}

/** Transport codes that mean nothing listens at the address. */
const NOT_ANSWERING = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EADDRNOTAVAIL',
]);

/**
 * A port whose calls, when the service does not answer, fail saying which service of this peer
 * is down and how it is started; the Client itself is up, so "no peer answers" would mislead.
 */
function explained<T extends object>(service: string, url: string, port: T): T {
  const { host, hostname } = new URL(url);
  const explain = (err: unknown): never => {
    if (!isPeershareError(err) || err.code !== 'UNAVAILABLE' || !NOT_ANSWERING.has(String(err.details?.cause)))
      throw err;
    throw new PeershareError(
      'UNAVAILABLE',
      `this peer's ${service} service does not answer at ${host} (${err.details?.cause}); start it with: peershare service ${service} --host ${hostname.replace(/^\[|\]$/g, '')} (and the peer's --data)`,
      { service },
    );
  };
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(port) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    wrapped[name] = (...args: unknown[]) => fn(...args).catch(explain);
  }
  return wrapped as T;
}
