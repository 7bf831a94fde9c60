/**
 * Adapters that give one service a port of another service running in a different process
 * (`peershare service NAME`), over that service's HTTP API on this peer's host. In one process
 * the composition root passes the other service's objects directly instead.
 */
import { request } from 'node:http';
import type { SharedFileFeed } from '../fetch/ports.ts';
import type { LocalRegistry, SourceDirectory } from '../download/ports.ts';
import type { NeighbourSource } from '../search/ports.ts';
import { CLIENT_HEADER } from '../shared/site-guard.ts';
import type { Part } from './compose.ts';

const TIMEOUT_MS = 5_000;

function call<T>(method: string, url: string, body?: unknown, token?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, {
      method,
      agent: false,
      timeout: TIMEOUT_MS,
      headers: {
        accept: 'application/json',
        [CLIENT_HEADER]: 'service',
        ...(payload ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${url}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        else {
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new Error(`${method} ${url}: the answer is not JSON: ${text.slice(0, 200)}`)); // not our service on that port
          }
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Fetch's view of this peer's shared files, from File Management's GET /changes. */
export function filesFeedOverHttp(filesUrl: string): SharedFileFeed {
  return {
    changesSince: (cursor) => call('GET', `${filesUrl}/changes${cursor ? `?since=${encodeURIComponent(cursor)}` : ''}`),
  };
}

/** Download's registry: a finished file is shared in place through File Management's POST /shares. */
export function registryOverHttp(filesUrl: string, token: string | undefined): LocalRegistry {
  return { register: async (path) => void (await call('POST', `${filesUrl}/shares`, { path }, token)) };
}

/** Download's source directory, from Fetch's GET /sources/:fileId. */
export function sourcesOverHttp(fetchUrl: string): SourceDirectory {
  return {
    sourcesFor: async (fileId) => {
      const { sources } = await call<{ sources: Array<{ filesAddress: string; state: string }> }>('GET', `${fetchUrl}/sources/${fileId}`);
      return sources.filter((s) => s.state === 'alive').map((s) => `http://${s.filesAddress}`);
    },
  };
}

/** Search's neighbour candidates, refreshed from Fetch's GET /peers every `intervalMs`. */
export function neighboursOverHttp(fetchUrl: string, fallback: string[], intervalMs = 5_000): NeighbourSource & Part {
  let known: Array<{ peerId: string; searchAddress: string }> = [];
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    try {
      const { items } = await call<{ items: Array<{ peerId: string; state: string; addresses: { search: string } }> }>('GET', `${fetchUrl}/peers?state=alive&limit=1000`);
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
