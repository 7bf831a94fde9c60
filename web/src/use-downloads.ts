/**
 * Every download of this peer, kept live from GET /downloads/events: a snapshot on each
 * connection, then one progress event per change, and the keys of downloads cleared from the list. A dropped stream is reopened with backoff
 * (and its snapshot replaces what we had, so nothing is missed in between).
 */
import { useEffect, useState } from 'preact/hooks';
import { asApiError, followEvents, type ApiError } from './api.ts';
import type { DownloadProgress } from './types.ts';

export interface LiveDownloads {
  /** Newest first. */
  list: DownloadProgress[];
  /** False while the stream is down (the list may be stale). */
  live: boolean;
  error: ApiError | undefined;
  /** Counts downloads seen finishing, so views can refresh what a finished download changes. */
  finished: number;
}

const RETRY_MS = [500, 1000, 2000, 5000];

export function useDownloads(): LiveDownloads {
  const [state, setState] = useState<LiveDownloads>({ list: [], live: false, error: undefined, finished: 0 });

  useEffect(() => {
    const abort = new AbortController();
    let failures = 0;
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          await followEvents(
            '/downloads/events',
            (event, data) => {
              if (event === 'snapshot') {
                failures = 0;
                setState((s) => ({ ...s, list: data as DownloadProgress[], live: true, error: undefined }));
              } else if (event === 'progress') {
                const p = data as DownloadProgress;
                setState((s) => {
                  const before = s.list.find((d) => d.key === p.key);
                  const list = before ? s.list.map((d) => (d.key === p.key ? p : d)) : [p, ...s.list];
                  const finished = p.state === 'done' && before?.state !== 'done' ? s.finished + 1 : s.finished;
                  return { ...s, list, finished };
                });
              } else if (event === 'cleared') {
                const gone = new Set((data as { keys: string[] }).keys);
                setState((s) => ({ ...s, list: s.list.filter((d) => !gone.has(d.key)) }));
              }
            },
            abort.signal,
          );
          if (abort.signal.aborted) return;
          setState((s) => ({ ...s, live: false }));
        } catch (err) {
          setState((s) => ({ ...s, live: false, error: asApiError(err) }));
        }
        const delay = RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]!;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    };
    void run();
    return () => abort.abort();
  }, []);

  return state;
}
