/**
 * A small HTTP client for the JSON, upload and Server-Sent-Event APIs of peershare services, used by the
 * Client's adapters (split mode) and by the `peershare` command. An error answer comes back as
 * the PeershareError it was sent as; a service that does not answer is UNAVAILABLE, with the
 * transport's code kept in `details.cause` so callers can say "no peer is running". Every request
 * carries the client header, which routes that change state require of a body-less request.
 */
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ERROR_CODES, PeershareError, type ErrorCode } from '../../../shared/errors.ts';
import { CLIENT_HEADER } from '../../../shared/site-guard.ts';

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

export interface CallOptions {
  body?: unknown;
  /** API token for routes that change state on a non-loopback peer. */
  token?: string | undefined;
  /** Give up after this long without an answer; 0 for never (streams). */
  timeoutMs?: number;
  /** Abort the whole exchange (connecting included) when this signal aborts. */
  signal?: AbortSignal | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function unreachable(url: string, err: NodeJS.ErrnoException): PeershareError {
  return new PeershareError('UNAVAILABLE', `nothing answers at ${new URL(url).host} (${err.code ?? err.message})`, {
    cause: err.code ?? 'ERROR',
    url,
  });
}

/** Open a request and resolve with the response once its headers are in; errors as above. */
export function open(
  method: string,
  url: string,
  options: CallOptions = {},
  accept = 'application/json',
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const req = request(url, {
      method,
      agent: false,
      ...(options.signal ? { signal: options.signal } : {}),
      headers: {
        accept,
        [CLIENT_HEADER]: 'cli',
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
    });
    if (timeout > 0) {
      req.setTimeout(timeout, () =>
        req.destroy(Object.assign(new Error(`no answer in ${timeout} ms`), { code: 'ETIMEDOUT' })),
      );
    }
    req.once('response', (res) => {
      req.setTimeout(0);
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      readAll(res).then((text) => reject(errorFrom(res.statusCode ?? 500, text, url)), reject);
    });
    req.once('error', (err: NodeJS.ErrnoException) =>
      reject(options.signal?.aborted ? options.signal.reason : unreachable(url, err)),
    );
    req.end(payload);
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on('data', (c: Buffer) => parts.push(c));
    res.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    res.once('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return err as Error;
  }
}

function errorFrom(status: number, text: string, url: string): PeershareError {
  try {
    const { error } = JSON.parse(text) as {
      error: { code: string; message: string; details?: Record<string, unknown> };
    };
    if (isErrorCode(error.code)) return new PeershareError(error.code, error.message, error.details);
  } catch {
    /* not one of ours: described below */
  }
  return new PeershareError(
    status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE',
    `${new URL(url).host} answered HTTP ${status}: ${text.slice(0, 200)}`,
  );
}

/** Call a JSON route; resolves with the parsed body (undefined for 204). */
export async function call<T>(method: string, url: string, options: CallOptions = {}): Promise<T> {
  const res = await open(method, url, options);
  const text = await readAll(res);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/**
 * Stream `body` to a route (an upload, never held whole) and resolve with the status and parsed
 * JSON answer. An answer that comes before the body is sent (a refusal) ends the upload there.
 */
export function sendStream<T>(
  url: string,
  body: AsyncIterable<Uint8Array>,
  options: { token?: string | undefined; contentLength?: number | undefined },
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const source = Readable.from(body, { objectMode: false });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: {
        accept: 'application/json',
        [CLIENT_HEADER]: 'cli',
        'content-type': 'application/octet-stream',
        ...(options.contentLength !== undefined ? { 'content-length': String(options.contentLength) } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
    });
    req.once('response', (res) => {
      // The answer is final: whatever of the body is not sent yet is not needed (a refusal).
      source.unpipe(req);
      if (!source.readableEnded) source.destroy();
      readAll(res).then(
        (text) => {
          const status = res.statusCode ?? 500;
          // A 2xx answer that is not JSON must reject this call, not throw where nobody listens.
          const parsed = status < 300 ? parseJson(text) : undefined;
          settle(() =>
            status >= 300
              ? reject(errorFrom(status, text, url))
              : parsed instanceof Error
                ? reject(errorFrom(status, text, url))
                : resolve({ status, body: parsed as T }),
          );
          if (!req.writableFinished) req.destroy();
        },
        (err: Error) => settle(() => reject(err)),
      );
    });
    // `on`, not `once`: a refused upload can fail twice (EPIPE, then a reset) after its answer.
    req.on('error', (err: NodeJS.ErrnoException) => settle(() => reject(unreachable(url, err))));
    source.on('error', (err) => {
      settle(() => reject(err));
      req.destroy();
    });
    source.pipe(req);
  });
}

export interface SseEvent {
  event: string;
  data: unknown;
}

export interface SseStream {
  /** Resolves when the stream ends, from either side. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Call `onEvent` for each Server-Sent Event of a response, with its JSON data. */
function readEvents(res: IncomingMessage, onEvent: (e: SseEvent) => void): void {
  res.setEncoding('utf8');
  let buffer = '';
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      try {
        if (data.length > 0) onEvent({ event, data: JSON.parse(data.join('\n')) });
      } catch (err) {
        return void res.destroy(err as Error); // not an event stream we understand: end this stream, not the process
      }
    }
  });
}

/** Follow a Server-Sent-Events route, calling `onEvent` for each event with its JSON data. */
export async function followEvents(
  url: string,
  onEvent: (e: SseEvent) => void,
  options: CallOptions = {},
): Promise<SseStream> {
  const res = await open(
    'GET',
    url,
    { ...options, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    'text/event-stream',
  );
  readEvents(res, onEvent);
  const ended = new Promise<void>((resolve) => {
    res.once('end', resolve);
    res.once('close', resolve);
    res.once('error', () => resolve());
  });
  return { ended, close: () => res.destroy() };
}

/**
 * Call a route that can answer with its progress (see answerWithProgress in shared/sse.ts):
 * `onProgress` gets each `progress` event, and the call resolves with the `result` event's data
 * or rejects with the `error` event's PeershareError. A plain JSON answer is taken as the result.
 * Aborting `signal` closes the request, which tells the service to stop.
 */
export async function callWithProgress<T, P>(
  method: string,
  url: string,
  onProgress: (p: P) => void,
  options: CallOptions & { signal?: AbortSignal } = {},
): Promise<T> {
  const res = await open(method, url, { timeoutMs: 0, ...options }, 'text/event-stream');
  if (!/^text\/event-stream/i.test(res.headers['content-type'] ?? '')) {
    const text = await readAll(res);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', abort);
      fn();
    };
    const abort = () => {
      res.destroy();
      settle(() => reject(options.signal?.reason ?? new PeershareError('UNAVAILABLE', 'aborted')));
    };
    if (options.signal?.aborted) return abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    readEvents(res, ({ event, data }) => {
      if (event === 'progress') onProgress(data as P);
      else if (event === 'result') settle(() => resolve(data as T));
      else if (event === 'error') {
        const e = data as { code: unknown; message: string; details?: Record<string, unknown> };
        settle(() => reject(new PeershareError(isErrorCode(e.code) ? e.code : 'INTERNAL', e.message, e.details)));
      }
    });
    const ended = () =>
      settle(() =>
        reject(new PeershareError('UNAVAILABLE', `${new URL(url).host} ended the answer before its result`)),
      );
    res.once('end', ended).once('close', ended).once('error', ended);
  });
}
