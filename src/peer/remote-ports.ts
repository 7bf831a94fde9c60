/**
 * Adapters that give one service a port of another service running in a different process
 * (`peershare service NAME`), over that service's HTTP API on this peer's host: plaintext
 * through the shared HTTP client (`kind: 'local'`; a peer port answers plaintext only from this
 * host). In one process the composition root passes the other service's objects directly instead.
 */
import type { SharedFileFeed } from '../fetch/ports.ts';
import type { LocalRegistry, SourceDirectory } from '../download/ports.ts';
import type { NeighbourSource } from '../search/ports.ts';
import { HttpClient } from '../shared/http-client.ts';
import { isPeershareError } from '../shared/errors.ts';
import { formatPeerAddress } from '../shared/peer-address.ts';
import { CLIENT_HEADER } from '../shared/site-guard.ts';
import type { Part } from './compose.ts';
import type { RequesterRecords } from './connect-back.ts';

const TIMEOUT_MS = 5_000;
/** A shared-file list of 10,000 files (the per-peer cap), names of up to 255 bytes, fits. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** Plaintext calls to this peer's own services on this host; no TLS credentials needed. */
const local = new HttpClient({ timeoutMs: TIMEOUT_MS, maxResponseBytes: MAX_ANSWER_BYTES });

/**
 * One JSON call to a service of this peer at `baseUrl`. Fails with a PeershareError: the
 * service's own code when it answered with one, UNAVAILABLE when it did not answer (or not JSON).
 */
async function call<T>(method: string, baseUrl: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {
    [CLIENT_HEADER]: 'service',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const answer = await local.json<T>(
    { kind: 'local', baseUrl },
    { method, path, headers, ...(body === undefined ? {} : { json: body }) },
  );
  return answer.body;
}

/** Fetch's view of this peer's shared files, from File Management's GET /changes. */
export function filesFeedOverHttp(filesUrl: string): SharedFileFeed {
  return {
    changesSince: (cursor) => call('GET', filesUrl, `/changes${cursor ? `?since=${encodeURIComponent(cursor)}` : ''}`),
  };
}

/**
 * Download's registry: a finished file is shared in place through File Management's
 * POST /shares/verified with the manifest its chunks were verified against, so it is not hashed
 * a second time (as in one process, FileManager.registerVerified).
 */
export function registryOverHttp(filesUrl: string, token: string | undefined): LocalRegistry {
  return {
    register: async (path, manifest) =>
      void (await call('POST', filesUrl, '/shares/verified', { path, manifest }, token)),
    sharedAt: (fileId) =>
      call<{ paths?: string[] }>('GET', filesUrl, `/files/${encodeURIComponent(fileId)}`, undefined, token).then(
        (file) => file.paths ?? [],
        (err: unknown) => {
          if (isPeershareError(err) && err.code === 'FILE_NOT_FOUND') return undefined;
          throw err;
        },
      ),
  };
}

/** Firewalled peers remembered at most (the newest seen kept). */
const MAX_FIREWALLED_SEEN = 4_096;

/**
 * The peers Fetch listed as firewalled holders in Download's latest directory answers (split
 * mode): Download asks these to connect back rather than dial them, as it asks Fetch in one
 * process. One listed alive again is dialled again.
 */
export class FirewalledSeen {
  readonly #ids = new Set<string>(); // oldest first

  note(alive: readonly string[], firewalled: readonly string[]): void {
    for (const id of alive) this.#ids.delete(id);
    for (const id of firewalled) {
      this.#ids.delete(id);
      this.#ids.add(id);
    }
    for (const id of this.#ids) {
      if (this.#ids.size <= MAX_FIREWALLED_SEEN) break;
      this.#ids.delete(id);
    }
  }

  has(peerId: string): boolean {
    return this.#ids.has(peerId);
  }
}

interface ListedSource {
  peerId: string;
  filesAddress: string;
  state: string;
}

/**
 * Download's source directory, from Fetch's GET /sources/:fileId: each live holder as
 * `peerId@host:port` (its File Management address and the id a TLS connection there must prove),
 * then, with `firewalled`, the firewalled holders (asked to connect back; noted there).
 */
export function sourcesOverHttp(fetchUrl: string, firewalled?: FirewalledSeen): SourceDirectory {
  return {
    sourcesFor: async (fileId) => {
      const answer = await call<{ sources: ListedSource[]; firewalled?: ListedSource[] }>(
        'GET',
        fetchUrl,
        `/sources/${encodeURIComponent(fileId)}`,
      );
      const alive = answer.sources.filter((s) => s.state === 'alive');
      const pushable = firewalled ? (answer.firewalled ?? []) : [];
      firewalled?.note(
        alive.map((s) => s.peerId),
        pushable.map((s) => s.peerId),
      );
      return [...alive, ...pushable].map((s) => formatPeerAddress({ peerId: s.peerId, address: s.filesAddress }));
    },
  };
}

/** This peer's files address as its signed record lists it (Fetch's GET /health `advertised`), or undefined before it has one. */
export function ownFilesAddressOverHttp(fetchUrl: string): () => Promise<string | undefined> {
  return async () => (await call<{ advertised?: { files: string } }>('GET', fetchUrl, '/health')).advertised?.files;
}

/** The holder's connect-back when Search runs apart: File Management dials the requester and serves it (its POST /connect-backs). */
export function connectBackOverFiles(
  filesUrl: string,
  token: string | undefined,
): (requester: string, address: string) => Promise<void> {
  return async (peerId, address) => void (await call('POST', filesUrl, '/connect-backs', { peerId, address }, token));
}

/** Have Search send a signed Push to the firewalled `holder` (its POST /push); fails UNAVAILABLE when none was sent. */
export function pushOverHttp(
  searchUrl: string,
): (holder: string, fileId: string, filesAddress: string) => Promise<void> {
  return async (holderPeerId, fileId, filesAddress) =>
    void (await call('POST', searchUrl, '/push', { holderPeerId, fileId, filesAddress }));
}

interface ListedPeer {
  peerId: string;
  addresses: { search: string; files: string };
  advertised?: Array<{ files: string }>;
}

/**
 * Search's view of Fetch's membership, refreshed from its GET /peers (the alive peers) every
 * `intervalMs`: the neighbour candidates, and the records a Push's requester is checked against
 * (the files address this peer dials it at, and whether its record lists the address named), as
 * Fetch answers them in one process.
 */
export function neighboursOverHttp(
  fetchUrl: string,
  fallback: string[],
  intervalMs = 5_000,
): NeighbourSource & RequesterRecords & Part {
  let known: ListedPeer[] = [];
  let byId = new Map<string, ListedPeer>();
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    try {
      ({ items: known } = await call<{ items: ListedPeer[] }>('GET', fetchUrl, '/peers?state=alive&limit=1000'));
      byId = new Map(known.map((p) => [p.peerId, p]));
    } catch {
      /* Fetch not up yet or gone: keep what we knew */
    }
  };
  return {
    candidates: () => [
      ...known.map((p) => ({ peerId: p.peerId, searchAddress: p.addresses.search })),
      ...fallback.map((searchAddress) => ({ searchAddress })),
    ],
    verifiedFilesAddress: (peerId) => byId.get(peerId)?.addresses.files,
    connectBackAddress: (peerId, named) => {
      const peer = byId.get(peerId);
      const sets = peer?.advertised ?? (peer ? [peer.addresses] : []);
      return sets.some((set) => set.files === named) ? peer?.addresses.files : undefined;
    },
    start: () => {
      void refresh();
      timer = setInterval(() => void refresh(), intervalMs);
    },
    stop: () => clearInterval(timer),
  };
}
