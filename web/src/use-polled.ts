/** A JSON route read now, again every `intervalMs` while the page is visible, and on demand. */
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

  const refresh = useCallback(() => {
    const mine = ++generation.current;
    call<T>('GET', path).then(
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
      if (!document.hidden) refresh();
    }, intervalMs);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [refresh, intervalMs, ...deps]);

  return { data, error, refresh };
}
