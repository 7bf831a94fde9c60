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

/** Download's registry: a finished file is shared in place through File Management's POST /shares. */
export function registryOverHttp(filesUrl: string, token: string | undefined): LocalRegistry {
  return {
    register: async (path) => void (await call('POST', filesUrl, '/shares', { path }, token)),
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

/**
 * Download's source directory, from Fetch's GET /sources/:fileId: each live holder as
 * `peerId@host:port` (its File Management address and the id a TLS connection there must prove).
 */
export function sourcesOverHttp(fetchUrl: string): SourceDirectory {
  return {
    sourcesFor: async (fileId) => {
      const { sources } = await call<{ sources: Array<{ peerId: string; filesAddress: string; state: string }> }>(
        'GET',
        fetchUrl,
        `/sources/${encodeURIComponent(fileId)}`,
      );
      return sources
        .filter((s) => s.state === 'alive')
        .map((s) => formatPeerAddress({ peerId: s.peerId, address: s.filesAddress }));
    },
  };
}

/** Search's neighbour candidates, refreshed from Fetch's GET /peers every `intervalMs`. */
export function neighboursOverHttp(fetchUrl: string, fallback: string[], intervalMs = 5_000): NeighbourSource & Part {
  let known: Array<{ peerId: string; searchAddress: string }> = [];
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    try {
      const { items } = await call<{ items: Array<{ peerId: string; state: string; addresses: { search: string } }> }>(
        'GET',
        fetchUrl,
        '/peers?state=alive&limit=1000',
      );
      known = items.map((p) => ({ peerId: p.peerId, searchAddress: p.addresses.search }));
    } catch {
      /* Fetch not up yet or gone: keep what we knew */
    }
  };
  return {
    candidates: () => [...known, ...fallback.map((searchAddress) => ({ searchAddress }))],
    start: () => {
      void refresh();
      timer = setInterval(() => void refresh(), intervalMs);
    },
    stop: () => clearInterval(timer),
  };
}
