/**
 * Follow a Download service's progress through its Server-Sent Events stream: the latest state
 * of every download (the "snapshot" first, then each "progress" event), and a way to await a
 * condition over them without polling. Closed when the test ends.
 */
import { onTestFinished } from 'vitest';
import type { Progress } from '../../src/download/domain/progress.ts';
import { SseParser } from '../../src/shared/sse-parser.ts';

export interface DownloadEvents {
  /** The latest progress of every download seen, by key. */
  readonly latest: Map<string, Progress>;
  /** Every state each download went through, in order (consecutive repeats folded). */
  readonly states: Map<string, string[]>;
  /** Resolves once `until` holds over `latest` (checked on every event); rejects if the stream ends. */
  until(until: (latest: Map<string, Progress>) => boolean): Promise<void>;
  close(): Promise<void>;
}

export async function followDownloads(url: string): Promise<DownloadEvents> {
  const res = await fetch(`${url}/downloads/events`);
  if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const latest = new Map<string, Progress>();
  const states = new Map<string, string[]>();
  const waiters = new Set<{ check: () => boolean; reject: (e: Error) => void }>();
  let ended: Error | undefined;

  const note = (p: Progress) => {
    latest.set(p.key, p);
    const seen = states.get(p.key) ?? [];
    if (seen.at(-1) !== p.state) seen.push(p.state);
    states.set(p.key, seen);
  };
  const pump = (async () => {
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const { event, data } of parser.push(value)) {
          if (event === 'snapshot') for (const p of JSON.parse(data) as Progress[]) note(p);
          else note(JSON.parse(data) as Progress);
          for (const w of [...waiters]) if (w.check()) waiters.delete(w);
        }
      }
    } catch {
      /* cancelled */
    }
    ended = new Error('download event stream ended');
    for (const w of waiters) w.reject(ended);
    waiters.clear();
  })();

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= reader
      .cancel()
      .catch(() => undefined)
      .then(() => pump));
  onTestFinished(close);
  return {
    latest,
    states,
    until(until) {
      return new Promise<void>((resolve, reject) => {
        if (until(latest)) return resolve();
        if (ended) return reject(ended);
        waiters.add({ check: () => (until(latest) ? (resolve(), true) : false), reject });
      });
    },
    close,
  };
}

export function requestDownload(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}
