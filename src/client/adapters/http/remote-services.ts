/**
 * The Client's ports over the other services' HTTP APIs, for a Client run alone
 * (`peershare service client`): File Management's /files and /shares, Search's GET /search
 * (Server-Sent Events) and /links, Fetch's /peers and /sources, Download's /downloads.
 */
import { PeershareError } from '../../../shared/errors.ts';
import type { DownloadPort, DownloadProgress, FetchPort, FilesPort, PeerInfo, SearchHit, SearchPort, SearchRun, SearchSummary } from '../../ports.ts';
import { call, follow } from './http-json.ts';

export function filesOverHttp(url: string, token: string | undefined): FilesPort {
  return {
    share: (path) => call('POST', `${url}/shares`, { body: { path }, token, timeoutMs: 0 }),
    list: (q, limit) => call('GET', `${url}/files?limit=${limit}${q ? `&q=${encodeURIComponent(q)}` : ''}`, { token }),
    unshare: (id) => call('DELETE', `${url}/files/${encodeURIComponent(id)}`, { token }),
  };
}

export function searchOverHttp(url: string): SearchPort {
  return {
    async search(query) {
      const params = new URLSearchParams();
      if (query.q !== undefined) params.set('q', query.q);
      if (query.fileId !== undefined) params.set('fileId', query.fileId);
      if (query.timeoutMs !== undefined) params.set('timeout', String(query.timeoutMs));
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      const seen: SearchHit[] = [];
      const listeners: Array<(hit: SearchHit) => void> = [];
      let summary: SearchSummary | undefined;
      const stream = await follow(`${url}/search?${params}`, ({ event, data }) => {
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
    links: async () => (await call<{ links: Array<{ peerId: string; searchAddress: string; direction: string; since: number }> }>('GET', `${url}/links`)).links,
  };
}

export function fetchOverHttp(url: string): FetchPort {
  return {
    peers: async () => (await call<{ items: PeerInfo[] }>('GET', `${url}/peers?limit=1000`)).items,
    sourcesFor: async (fileId) => (await call<{ sources: Awaited<ReturnType<FetchPort['sourcesFor']>> }>('GET', `${url}/sources/${encodeURIComponent(fileId)}`)).sources,
  };
}

export function downloadOverHttp(url: string, token: string | undefined): DownloadPort {
  return {
    request: (req) => call('POST', `${url}/downloads`, { body: req, token }),
    list: (limit) => call('GET', `${url}/downloads?limit=${limit}`),
    async watch(listener) {
      const stream = await follow(`${url}/downloads/events`, ({ event, data }) => {
        if (event === 'progress') listener(data as DownloadProgress);
      }, { timeoutMs: 0 });
      return () => stream.close();
    },
    act: (key, action) => call('POST', `${url}/downloads/${encodeURIComponent(key)}/${action}`, { token }),
    queueBackend: async () => (await call<{ queue: string }>('GET', `${url}/health`)).queue,
  };
}
