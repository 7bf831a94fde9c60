/** A JSON route read now, again every `intervalMs` while the page is visible (unless the last read is still out), and on demand. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { asApiError, call, type ApiError } from './api.ts';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  refresh: () => void;
}

export function usePolled<T>(path: string, intervalMs: number, deps: readonly unknown[] = []): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);
  const inFlight = useRef(false);

  const refresh = useCallback(() => {
    const mine = ++generation.current;
    inFlight.current = true;
    call<T>('GET', path)
      .finally(() => {
        if (mine === generation.current) inFlight.current = false;
      })
      .then(
        (value) => {
          if (mine !== generation.current) return;
          setData(value);
          setError(undefined);
        },
        (err: unknown) => {
          if (mine !== generation.current) return;
          setError(asApiError(err));
        },
      );
  }, [path]);

  useEffect(() => {
    refresh();
    const timer = setInterval(() => {
      // A slow answer is not asked for again on top of itself.
      if (!document.hidden && !inFlight.current) refresh();
    }, intervalMs);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [refresh, intervalMs, ...deps]);

  return { data, error, refresh };
}
