/**
 * A small HTTP client for the JSON and Server-Sent-Event APIs of peershare services, used by the
 * Client's adapters (split mode) and by the `peershare` command. An error answer comes back as
 * the PeershareError it was sent as; a service that does not answer is UNAVAILABLE, with the
 * transport's code kept in `details.cause` so callers can say "no peer is running".
 */
import { request, type IncomingMessage } from 'node:http';
import { ERROR_CODES, PeershareError, type ErrorCode } from '../../../shared/errors.ts';

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

export interface CallOptions {
  body?: unknown;
  /** API token for routes that change state on a non-loopback peer. */
  token?: string | undefined;
  /** Give up after this long without an answer; 0 for never (streams). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function unreachable(url: string, err: NodeJS.ErrnoException): PeershareError {
  return new PeershareError('UNAVAILABLE', `nothing answers at ${new URL(url).host} (${err.code ?? err.message})`, { cause: err.code ?? 'ERROR', url });
}

/** Open a request and resolve with the response once its headers are in; errors as above. */
export function open(method: string, url: string, options: CallOptions = {}, accept = 'application/json'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const req = request(url, {
      method,
      agent: false,
      headers: {
        accept,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
    });
    if (timeout > 0) {
      req.setTimeout(timeout, () => req.destroy(Object.assign(new Error(`no answer in ${timeout} ms`), { code: 'ETIMEDOUT' })));
    }
    req.once('response', (res) => {
      req.setTimeout(0);
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      readAll(res).then((text) => reject(errorFrom(res.statusCode ?? 500, text, url)), reject);
    });
    req.once('error', (err: NodeJS.ErrnoException) => reject(unreachable(url, err)));
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

function errorFrom(status: number, text: string, url: string): PeershareError {
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details?: Record<string, unknown> } };
    if (isErrorCode(error.code)) return new PeershareError(error.code, error.message, error.details);
  } catch {
    /* not one of ours: described below */
  }
  return new PeershareError(status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `${new URL(url).host} answered HTTP ${status}: ${text.slice(0, 200)}`);
}

/** Call a JSON route; resolves with the parsed body (undefined for 204). */
export async function call<T>(method: string, url: string, options: CallOptions = {}): Promise<T> {
  const res = await open(method, url, options);
  const text = await readAll(res);
  return (text === '' ? undefined : JSON.parse(text)) as T;
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

/** Follow a Server-Sent-Events route, calling `onEvent` for each event with its JSON data. */
export async function follow(url: string, onEvent: (e: SseEvent) => void, options: CallOptions = {}): Promise<SseStream> {
  const res = await open('GET', url, { ...options, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS }, 'text/event-stream');
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
      if (data.length > 0) onEvent({ event, data: JSON.parse(data.join('\n')) });
    }
  });
  const ended = new Promise<void>((resolve) => {
    res.once('end', resolve);
    res.once('close', resolve);
    res.once('error', () => resolve());
  });
  return { ended, close: () => res.destroy() };
}
