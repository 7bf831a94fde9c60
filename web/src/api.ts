/**
 * The UI's only way out: the Client API of the peer that served the page (same origin, so no
 * CORS and no address to configure). JSON calls, Server-Sent-Event streams read with fetch, and
 * uploads. An error answer becomes an ApiError with the API's code and message, for the UI to
 * show as it is. A peer off loopback needs its API token for changes: it is kept in this
 * browser (localStorage) once given, and sent as a Bearer token. Changes also carry the client
 * header, which the peer requires of them (a page of another site cannot send it).
 */
import { sseParser } from './sse.ts';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Any thrown value as an ApiError, to show. */
export const asApiError = (err: unknown): ApiError =>
  err instanceof ApiError ? err : new ApiError('ERROR', String(err), 0);

const TOKEN_KEY = 'peershare.apiToken';
const tokenListeners = new Set<(needed: boolean) => void>();

export function apiToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setApiToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused (private mode): the token lasts until reload */
  }
  for (const l of tokenListeners) l(false);
}

/** Called with true when a change was refused for want of the API token. */
export function onTokenNeeded(listener: (needed: boolean) => void): () => void {
  tokenListeners.add(listener);
  return () => void tokenListeners.delete(listener);
}

/** The header the peer requires of a change without a JSON body (src/shared/site-guard.ts). */
const CLIENT_HEADER = 'x-peershare-client';

/** Headers of a request that changes state: the client header, and the API token once given. */
function authHeaders(): Record<string, string> {
  const token = apiToken();
  return { [CLIENT_HEADER]: 'web', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

const unreachable = () => new ApiError('UNAVAILABLE', 'The peer does not answer. Is it still running?', 0);

function errorFrom(status: number, text: string): ApiError {
  let error: ApiError;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    error = new ApiError(body.error?.code ?? 'ERROR', body.error?.message ?? `HTTP ${status}`, status);
  } catch {
    error = new ApiError('ERROR', `The peer answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, status);
  }
  if (error.code === 'UNAUTHORIZED') for (const l of tokenListeners) l(true);
  return error;
}

/** Call a JSON route; resolves with the parsed answer (undefined for 204). */
export async function call<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(method !== 'GET' ? authHeaders() : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw unreachable();
  }
  const text = await res.text();
  if (!res.ok) throw errorFrom(res.status, text);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/**
 * Follow a Server-Sent-Events route until it ends or `signal` aborts; `onEvent` gets each event's
 * name and parsed data. Resolves when the stream ends (also when aborted); rejects with the
 * API's error when the route refuses, or UNAVAILABLE when the connection drops.
 */
export async function followEvents(
  path: string,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'text/event-stream' }, signal });
  } catch {
    if (signal.aborted) return;
    throw unreachable();
  }
  if (!res.ok) throw errorFrom(res.status, await res.text());
  await readEvents(res, onEvent, signal);
}

/** Read an event stream to its end (or until `signal` aborts), calling `onEvent` per event. */
async function readEvents(
  res: Response,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  if (!res.body) return;
  const parser = sseParser(({ event, data }) => onEvent(event, JSON.parse(data)));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof SyntaxError) throw new ApiError('ERROR', 'The peer sent an event that is not JSON', 0);
    throw unreachable();
  }
}

/**
 * A change that reports progress (sharing a folder hashes every file): asked for an event
 * stream, the peer answers `progress` events, then `result` or `error`. A peer that answers
 * plain JSON instead is taken at its word. Aborting `signal` stops the operation on the peer.
 */
export async function callWithProgress<T, P>(
  path: string,
  body: unknown,
  onProgress: (p: P) => void,
  signal: AbortSignal,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json', ...authHeaders() },
      body: JSON.stringify(body),
      signal,
    });
  } catch {
    if (signal.aborted) throw new ApiError('ABORTED', 'Stopped.', 0);
    throw unreachable();
  }
  if (!res.ok) throw errorFrom(res.status, await res.text());
  if (!/^text\/event-stream/i.test(res.headers.get('content-type') ?? '')) {
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
  let outcome: { result: T } | { error: ApiError } | undefined;
  await readEvents(
    res,
    (event, data) => {
      if (event === 'progress') onProgress(data as P);
      else if (event === 'result') outcome = { result: data as T };
      else if (event === 'error') {
        const e = data as { code?: string; message?: string };
        outcome = { error: new ApiError(e.code ?? 'ERROR', e.message ?? 'the peer reported an error', 0) };
      }
    },
    signal,
  );
  if (signal.aborted) throw new ApiError('ABORTED', 'Stopped.', 0);
  if (!outcome) throw new ApiError('UNAVAILABLE', 'The peer ended its answer before the result.', 0);
  if ('error' in outcome) throw outcome.error;
  return outcome.result;
}

export interface Upload<T> {
  readonly done: Promise<T>;
  /** Cancel the upload (a plain function: it can be passed on without its object). */
  readonly abort: () => void;
}

/**
 * Send a file as a streamed upload (the browser reads it from disk as it goes; nothing is held
 * in memory) and report bytes sent. XMLHttpRequest, because fetch cannot report upload progress.
 */
export function upload<T>(path: string, file: Blob, onProgress: (sent: number, total: number) => void): Upload<T> {
  const xhr = new XMLHttpRequest();
  const done = new Promise<T>((resolve, reject) => {
    xhr.open('POST', path);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as T);
      else reject(errorFrom(xhr.status, xhr.responseText));
    };
    xhr.onerror = () =>
      reject(
        new ApiError('UNAVAILABLE', 'The upload was cut off: the peer closed the connection or stopped answering.', 0),
      );
    xhr.onabort = () => reject(new ApiError('ABORTED', 'Upload cancelled.', 0));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
