/**
 * One search at a time over GET /search: hits as they stream in, then the summary. A new search
 * (or leaving the page) ends the one running, which tells the peer to stop it too.
 */
import { FILE_ID_PATTERN } from '../../src/shared/ids.ts';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, asApiError, followEvents } from './api.ts';
import type { SearchHit, SearchSummary } from './types.ts';

export interface SearchState {
  /** What was searched, as typed; empty before the first search. */
  query: string;
  hits: SearchHit[];
  summary: SearchSummary | undefined;
  running: boolean;
  error: ApiError | undefined;
}

/** A file id as typed: the ids' pattern, in either case. */
const FILE_ID = new RegExp(FILE_ID_PATTERN, 'i');
const IDLE: SearchState = { query: '', hits: [], summary: undefined, running: false, error: undefined };

export function useSearch(): { state: SearchState; start: (query: string) => void; stop: () => void } {
  const [state, setState] = useState<SearchState>(IDLE);
  const current = useRef<AbortController | undefined>(undefined);

  const stop = useCallback(() => {
    current.current?.abort();
    current.current = undefined;
    setState((s) => ({ ...s, running: false }));
  }, []);

  const start = useCallback((raw: string) => {
    current.current?.abort();
    const query = raw.trim();
    const abort = new AbortController();
    current.current = abort;
    setState({ ...IDLE, query, running: true });
    // A whole file id searches for that file; anything else is words.
    const params = new URLSearchParams(FILE_ID.test(query) ? { fileId: query.toLowerCase() } : { q: query });
    let ended = false;
    followEvents(
      `/search?${params}`,
      (event, data) => {
        if (abort.signal.aborted) return;
        if (event === 'hit') setState((s) => ({ ...s, hits: [...s.hits, data as SearchHit] }));
        else if (event === 'summary') {
          ended = true;
          setState((s) => ({ ...s, summary: data as SearchSummary, running: false }));
        } else if (event === 'error') {
          ended = true;
          const e = data as { code?: string; message?: string };
          setState((s) => ({
            ...s,
            running: false,
            error: new ApiError(e.code ?? 'ERROR', e.message ?? 'the search failed', 0),
          }));
        }
      },
      abort.signal,
    ).then(
      () => {
        if (abort.signal.aborted || ended) return;
        setState((s) => ({
          ...s,
          running: false,
          error: new ApiError('UNAVAILABLE', 'The search ended before its summary: the peer closed the stream.', 0),
        }));
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setState((s) => ({ ...s, running: false, error: asApiError(err) }));
      },
    );
  }, []);

  useEffect(() => () => current.current?.abort(), []);
  return { state, start, stop };
}
