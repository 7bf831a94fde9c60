/**
 * Calls to a peer's own HTTP APIs in plaintext, over the shared HTTP client (shared/http-client.ts):
 * the Client's calls to this peer's services (split mode) and the `peershare` command's calls to a
 * peer's Client API. JSON, uploads and Server-Sent Events. An error answer comes back as the
 * PeershareError it was sent as; a service that does not answer is UNAVAILABLE, with the
 * transport's code in `details.cause` and the URL asked in `details.url`, so callers can say which
 * service or peer is not running. Every request carries the client header, which routes that
 * change state require of a body-less request.
 */
import { ERROR_CODES, PeershareError, type ErrorCode } from '../../../shared/errors.ts';
import { HttpClient, type EventStream, type RequestOptions, type Target } from '../../../shared/http-client.ts';
import { CLIENT_HEADER } from '../../../shared/site-guard.ts';

export interface CallOptions {
  body?: unknown;
  /** API token for routes that change state on a non-loopback peer. */
  token?: string | undefined;
  /** Give up after this long without an answer; 0 for never (streams). */
  timeoutMs?: number;
  /** Abort the whole exchange (connecting included) when this signal aborts. */
  signal?: AbortSignal | undefined;
}

export interface SseEvent {
  event: string;
  data: unknown;
}

export type SseStream = EventStream;

const DEFAULT_TIMEOUT_MS = 10_000;
/** The answers are a peer's own (pages of up to 1,000 peers, files or downloads): a generous cap. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const http = new HttpClient({ timeoutMs: DEFAULT_TIMEOUT_MS, maxResponseBytes: MAX_ANSWER_BYTES });

/** Where a call to `url` goes, and how, for the shared client. */
function requestTo(
  method: string,
  url: string,
  options: CallOptions,
  headers: Record<string, string> = {},
): [Target, RequestOptions] {
  const { origin, pathname, search } = new URL(url);
  return [
    { kind: 'local', baseUrl: origin },
    {
      method,
      path: pathname + search,
      headers: {
        [CLIENT_HEADER]: 'cli',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...headers,
      },
      ...(options.body !== undefined ? { json: options.body } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  ];
}

/** Call a JSON route; resolves with the parsed body (undefined for 204). */
export async function call<T>(method: string, url: string, options: CallOptions = {}): Promise<T> {
  return (await http.json<T>(...requestTo(method, url, options))).body;
}

/**
 * Stream `body` to a route (an upload, never held whole) and resolve with the status and parsed
 * JSON answer. An answer that comes before the body is sent (a refusal) ends the upload there.
 */
export async function sendStream<T>(
  url: string,
  body: AsyncIterable<Uint8Array>,
  options: { token?: string | undefined; contentLength?: number | undefined },
): Promise<{ status: number; body: T }> {
  const [target, request] = requestTo(
    'POST',
    url,
    { token: options.token, timeoutMs: 0 },
    {
      'content-type': 'application/octet-stream',
      ...(options.contentLength !== undefined ? { 'content-length': String(options.contentLength) } : {}),
    },
  );
  const answer = await http.json<T>(target, { ...request, upload: body });
  return { status: answer.status, body: answer.body };
}

/** Follow a Server-Sent-Events route, calling `onEvent` for each event with its JSON data. */
export function followEvents(
  url: string,
  onEvent: (e: SseEvent) => void,
  options: CallOptions = {},
): Promise<SseStream> {
  return http.events(...requestTo('GET', url, options), (event, data) => onEvent({ event, data }));
}

/**
 * Call a route that answers with its progress (see answerWithProgress in shared/sse.ts):
 * `onProgress` gets each `progress` event, and the call resolves with the `result` event's data
 * or rejects with the `error` event's PeershareError. Aborting `signal` closes the request,
 * which tells the service to stop.
 */
export async function callWithProgress<T, P>(
  method: string,
  url: string,
  onProgress: (p: P) => void,
  options: CallOptions = {},
): Promise<T> {
  // The first `result` or `error` event is the answer; what the stream says after it does not count.
  const answer: { result?: { value: T }; error?: PeershareError } = {};
  const stream = await http
    .events(...requestTo(method, url, { timeoutMs: 0, ...options }), (event, data) => {
      if (answer.result || answer.error) return;
      if (event === 'progress') onProgress(data as P);
      else if (event === 'result') answer.result = { value: data as T };
      else if (event === 'error') answer.error = sentError(data);
    })
    .catch((err: unknown) => {
      throw options.signal?.aborted ? (options.signal.reason as Error) : err;
    });
  await stream.ended;
  if (answer.result) return answer.result.value;
  if (answer.error) throw answer.error;
  if (options.signal?.aborted) throw options.signal.reason as Error;
  throw new PeershareError('UNAVAILABLE', `${new URL(url).host} ended the answer before its result`);
}

/** The PeershareError an `error` event carries (the error body's `error` object). */
function sentError(data: unknown): PeershareError {
  const e = data as { code: unknown; message: string; details?: Record<string, unknown> };
  const code = typeof e.code === 'string' && Object.hasOwn(ERROR_CODES, e.code) ? (e.code as ErrorCode) : 'INTERNAL';
  return new PeershareError(code, e.message, e.details);
}
