/**
 * The one HTTP client of peershare, for the requests one service makes to another: to other
 * peers over TLS pinned to the peer id it expects (or, for an address a user typed, to whatever
 * id the peer proves, which the caller then records), and to this peer's own services in
 * plaintext. Every request has a deadline (connection, TLS handshake, answer and body), a cap on
 * the body it reads, never follows a redirect, and fails with a PeershareError: the other side's
 * own error code when it answered with one (from this peer's own services, the error as it was
 * sent; from another peer, saying which peer), UNAVAILABLE when it did not answer (the transport's
 * code in `details.cause`: ECONNREFUSED, ETIMEDOUT for a deadline), PEER_UNVERIFIED or
 * PEER_ID_MISMATCH when it is not the peer meant. Nothing is sent to a peer before its id is
 * checked: the TLS connection is made and verified first, then the request goes over it. JSON
 * (json), bytes (bytes), Server-Sent Events (events) and streamed uploads (`upload`) are spoken.
 *
 * Requests to a peer whose id is known reuse verified connections (`PeerAgent`: keep-alive,
 * pooled per address and id, dropped after IDLE_MS unused, before the other side's 5 s), so a
 * Fetch round to a peer met a moment ago costs no new handshake. A request to an address whose
 * id is not known yet (a join address), and every local request, has a connection of its own. The range client of Download keeps its own connections for speed
 * (download/adapters/http/range-client.ts) and dials through `dialPeer` like everything else.
 */
import {
  Agent,
  request as httpRequest,
  type AgentOptions,
  type ClientRequest,
  type ClientRequestArgs,
  type IncomingMessage,
} from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import type { OnReadOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { splitAddress } from './address.ts';
import { isPeershareError, PeershareError, ERROR_CODES, type ErrorCode } from './errors.ts';
import { ALPN_HTTP, provenPeerId, type PeerTls } from './peer-tls.ts';
import { SseParser } from './sse-parser.ts';

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Where a request goes: another peer (TLS, its id checked) or this peer's own service (plaintext). */
export type Target =
  | {
      readonly kind: 'peer';
      readonly address: string;
      /** undefined: any id, returned (trust on first use) */ readonly peerId: string | undefined;
      /**
       * A connection the peer opened to us that already proved `peerId` (a connect-back, PUSH):
       * the request goes over it, and it is closed after the answer.
       */
      readonly socket?: Duplex;
    }
  | { readonly kind: 'local'; readonly baseUrl: string };

export interface RequestOptions {
  method?: string;
  /** Path and query, starting with '/'. */
  path: string;
  /** A JSON body. */
  json?: unknown;
  /** A body streamed as it is read, never held whole (its content-type and length go in `headers`). */
  upload?: AsyncIterable<Uint8Array>;
  headers?: Record<string, string>;
  /** The deadline; 0 for none. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

/** An answer whose body is still to be read; see HttpClient.open. */
export interface OpenAnswer {
  readonly response: IncomingMessage;
  /** The id the peer proved (peer targets). */
  readonly peerId?: string | undefined;
  /** Aborts when the deadline passes, the caller's signal aborts or the client closes. */
  readonly signal: AbortSignal;
  /** No deadline from now on: a stream lasts as long as it is read. */
  readonly endDeadline: () => void;
  /** Done with the answer (see HttpClient.open). Both are plain functions: callers take them out of it. */
  readonly release: () => void;
}

/** A stream of Server-Sent Events being read. */
export interface EventStream {
  /** Resolves when the stream ends, from either side. */
  readonly ended: Promise<void>;
  close(): void;
}

export interface JsonAnswer<T> {
  readonly status: number;
  readonly body: T;
  /** The id the peer proved (peer targets). */
  readonly peerId?: string;
}

function describe(target: Target): string {
  return target.kind === 'peer' ? `peer ${target.peerId ?? '(not yet known)'} at ${target.address}` : target.baseUrl;
}

function urlOf(target: Target, path: string): string {
  return target.kind === 'peer' ? `https://${target.address}${path}` : `${target.baseUrl.replace(/\/+$/, '')}${path}`;
}

/** Abort `controller` when `timeoutMs` has passed, saying so as a transport timeout (ETIMEDOUT). */
function deadline(controller: AbortController, target: Target, path: string, timeoutMs: number): NodeJS.Timeout {
  return setTimeout(() => {
    const message = `no answer from ${describe(target)} within ${timeoutMs} ms`;
    controller.abort(new PeershareError('UNAVAILABLE', message, { cause: 'ETIMEDOUT', url: urlOf(target, path) }));
  }, timeoutMs);
}

/** Transport codes that mean nothing answers at an address (no listener, no route, no such name). */
const NOT_ANSWERING = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
]);

/** Whether `err` is this client's "nothing answers" (UNAVAILABLE with one of the codes above as its cause). */
export function isNotAnswering(err: unknown): err is PeershareError {
  return isPeershareError(err) && err.code === 'UNAVAILABLE' && NOT_ANSWERING.has(String(err.details?.cause));
}

/** Nothing answered: the transport's code is kept in `details.cause` (ECONNREFUSED: nothing listens there). */
function unreachable(target: Target, err: unknown, url: string): PeershareError {
  if (isPeershareError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  return new PeershareError(
    'UNAVAILABLE',
    `${describe(target)} does not answer: ${e.code ?? e.message}`,
    { cause: e.code ?? 'ERROR', url },
    { cause: err },
  );
}

/**
 * A TLS connection to the peer at host:port, verified before it is returned: TLS 1.3, and the id
 * its certificate proves is `expected` (when given). Rejects within `timeoutMs`, or on abort.
 */
export function dialPeer(
  tls: PeerTls,
  address: string,
  expected: string | undefined,
  options: {
    alpn?: readonly string[];
    timeoutMs?: number;
    signal?: AbortSignal;
    /** Source address to bind (a peer's own host). */
    localAddress?: string;
    /** net's onread: decrypted bytes read into one reused buffer. */
    onread?: OnReadOpts;
  } = {},
): Promise<{ socket: TLSSocket; peerId: string }> {
  const { host, port } = splitAddress(address);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new PeershareError('UNAVAILABLE', 'aborted'));
    const socket = tlsConnect({
      ...tls.clientOptions(options.alpn ?? [ALPN_HTTP]),
      host,
      port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.onread ? { onread: options.onread } : {}),
    } as ConnectionOptions);
    socket.setNoDelay(true);
    const fail = (err: unknown) => {
      cleanup();
      socket.destroy();
      reject(
        err instanceof PeershareError
          ? err
          : new PeershareError(
              'UNAVAILABLE',
              `peer at ${address} does not answer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
              undefined,
              { cause: err },
            ),
      );
    };
    const timer = setTimeout(
      () => fail(new PeershareError('UNAVAILABLE', `peer at ${address}: no TLS connection within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => fail(new PeershareError('UNAVAILABLE', 'aborted'));
    const cleanup = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      let peerId: string;
      try {
        peerId = provenPeerId(socket, expected);
      } catch (err) {
        return fail(err);
      }
      cleanup();
      resolve({ socket, peerId });
    });
  });
}

/** An idle verified connection to a peer is closed after this long (the peer's HTTP servers close theirs after 5 s). */
export const IDLE_MS = 4_000;
/** Connections kept to one peer at most, in use or idle. */
const MAX_SOCKETS_PER_PEER = 4;

interface PeerRequestArgs extends ClientRequestArgs {
  peerAddress: string;
  expectedPeerId: string;
  connectTimeoutMs: number;
}

/**
 * Node's keep-alive pool, with connections made by `dialPeer`: each is verified for the id it is
 * pooled under (address and id are the pool key), so a reused connection is the peer it was.
 */
class PeerAgent extends Agent {
  readonly #tls: PeerTls;

  constructor(tls: PeerTls, options: AgentOptions) {
    super(options);
    this.#tls = tls;
  }

  override getName(options?: ClientRequestArgs): string {
    const o = options as PeerRequestArgs;
    return `${o.peerAddress}|${o.expectedPeerId}`;
  }

  override createConnection(
    options: ClientRequestArgs,
    done: (err: Error | null, socket: Duplex) => void,
  ): Duplex | undefined {
    const o = options as PeerRequestArgs;
    dialPeer(this.#tls, o.peerAddress, o.expectedPeerId, { timeoutMs: o.connectTimeoutMs }).then(
      ({ socket }) => done(null, socket),
      (err: Error) => done(err, undefined as never),
    );
    return undefined;
  }
}

export class HttpClient {
  readonly #tls: PeerTls | undefined;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #inFlight = new Set<AbortController>();
  readonly #agent: PeerAgent | undefined;

  constructor(options: { tls?: PeerTls; timeoutMs?: number; maxResponseBytes?: number } = {}) {
    this.#tls = options.tls;
    this.#agent = options.tls
      ? new PeerAgent(options.tls, {
          keepAlive: true,
          maxSockets: MAX_SOCKETS_PER_PEER,
          maxFreeSockets: MAX_SOCKETS_PER_PEER,
          timeout: IDLE_MS,
          scheduling: 'lifo',
        })
      : undefined;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * How a request reaches `target`: a peer whose id is known over a pooled verified connection;
   * one whose id is not known yet over a connection of its own, dialled and verified first (its
   * proven id returned); this peer's own services in plaintext, a connection each.
   */
  async #connectionTo(
    target: Target,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{
    peerId?: string;
    via: Partial<PeerRequestArgs> & Pick<ClientRequestArgs, 'agent' | 'createConnection'>;
  }> {
    if (target.kind === 'local') return { via: { agent: false } };
    if (target.socket) {
      const socket = target.socket;
      return { peerId: target.peerId, via: { createConnection: () => socket } };
    }
    if (!this.#tls || !this.#agent) throw new Error('HttpClient has no TLS credentials for peer requests');
    if (target.peerId !== undefined) {
      return {
        peerId: target.peerId, // every pooled connection proved it
        via: {
          agent: this.#agent,
          peerAddress: target.address,
          expectedPeerId: target.peerId,
          connectTimeoutMs: timeoutMs,
        },
      };
    }
    const { socket, peerId } = await dialPeer(this.#tls, target.address, undefined, { signal, timeoutMs });
    return { peerId, via: { createConnection: () => socket } };
  }

  /**
   * Send a request and return the answer's head, its body unread (for streams: SSE, content).
   * The deadline covers the connection and the head, and the body until `release()` (or
   * `endDeadline()`, for a stream that lasts as long as it is read); `release()` must be called when done.
   */
  async open(target: Target, options: RequestOptions): Promise<OpenAnswer> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timer = timeoutMs > 0 ? deadline(controller, target, options.path, timeoutMs) : undefined;
    const onAbort = () => controller.abort(new PeershareError('UNAVAILABLE', 'aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let req: ClientRequest | undefined;
    let uploadFailure: Error | undefined;
    const endDeadline = () => clearTimeout(timer);
    const release = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.#inFlight.delete(controller);
      // An upload refused before it was all sent: its connection is done with.
      if (req && !req.writableFinished) req.destroy();
    };
    try {
      if (options.signal?.aborted) throw new PeershareError('UNAVAILABLE', 'aborted');
      const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
      const pooled = target.kind === 'peer' && target.peerId !== undefined && !target.socket;
      const headers: Record<string, string | number> = {
        accept: 'application/json',
        ...(pooled ? {} : { connection: 'close' }),
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        ...options.headers,
      };
      const url = new URL(urlOf(target, options.path));
      const { peerId, via } = await this.#connectionTo(target, timeoutMs, controller.signal);
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        req = httpRequest(
          {
            host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: url.port,
            path: url.pathname + url.search,
            method: options.method ?? 'GET',
            headers,
            signal: controller.signal,
            ...via,
          } as ClientRequestArgs,
          resolve,
        );
        // `on`, not `once`: a refused upload can fail twice (EPIPE, then a reset) after its answer.
        req.on('error', (err) =>
          reject(
            controller.signal.aborted
              ? (controller.signal.reason as Error)
              : (uploadFailure ?? unreachable(target, err, url.href)),
          ),
        );
        if (options.upload) {
          sendUpload(req, options.upload, (err) => {
            uploadFailure = err;
          });
        } else req.end(payload);
      });
      return { response, peerId, signal: controller.signal, endDeadline, release };
    } catch (err) {
      release();
      if (uploadFailure) throw uploadFailure; // the body's own failure (its sender went away), as it was
      throw controller.signal.aborted && !isPeershareError(err)
        ? (controller.signal.reason as Error)
        : unreachable(target, err, urlOf(target, options.path));
    }
  }

  /**
   * A JSON request: the parsed answer of a 2xx, else the other side's error (its code when it
   * sent one of ours, UNAVAILABLE otherwise), with `details.status` and `details.body`.
   */
  async json<T>(target: Target, options: RequestOptions): Promise<JsonAnswer<T>> {
    const { response, peerId, signal, release } = await this.open(target, options);
    try {
      const text = await readText(
        response,
        options.maxResponseBytes ?? this.#maxResponseBytes,
        describe(target),
        signal,
      );
      const status = response.statusCode ?? 0;
      let body: unknown;
      try {
        body = text.length === 0 ? undefined : JSON.parse(text);
      } catch {
        throw new PeershareError(
          'UNAVAILABLE',
          `the answer of ${describe(target)} (HTTP ${status}) is not JSON: ${text.slice(0, 120)}`,
          { status },
        );
      }
      if (status < 200 || status >= 300) throw answerError(target, status, body);
      return { status, body: body as T, peerId };
    } finally {
      release();
    }
  }

  /**
   * A request whose 2xx answer is bytes, not JSON (a collection's canonical encoding): the body,
   * at most `maxResponseBytes`; an error answer as json() reports it.
   */
  async bytes(target: Target, options: RequestOptions): Promise<{ status: number; body: Buffer; peerId?: string }> {
    const { response, peerId, signal, release } = await this.open(target, options);
    try {
      const body = await readBody(
        response,
        options.maxResponseBytes ?? this.#maxResponseBytes,
        describe(target),
        signal,
      );
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) throw answerError(target, status, jsonOrUndefined(body.toString('utf8')));
      return { status, body, ...(peerId !== undefined ? { peerId } : {}) };
    } finally {
      release();
    }
  }

  /**
   * Follow a Server-Sent-Events route: `onEvent` gets each event with its JSON data, from when
   * this resolves (the stream's head is in: the deadline covers that far) until either side
   * closes the stream. An error answer fails as json() reports it.
   */
  async events(
    target: Target,
    options: RequestOptions,
    onEvent: (event: string, data: unknown) => void,
  ): Promise<EventStream> {
    const opened = await this.open(target, {
      ...options,
      headers: { accept: 'text/event-stream', ...options.headers },
    });
    const { response, release } = opened;
    const status = response.statusCode ?? 0;
    const isStream = /^text\/event-stream/i.test(response.headers['content-type'] ?? '');
    if (status < 200 || status >= 300 || !isStream) {
      try {
        const max = options.maxResponseBytes ?? this.#maxResponseBytes;
        const text = await readText(response, max, describe(target), opened.signal);
        throw status < 200 || status >= 300
          ? answerError(target, status, jsonOrUndefined(text))
          : new PeershareError('UNAVAILABLE', `the answer of ${describe(target)} is not an event stream`, { status });
      } finally {
        release();
      }
    }
    opened.endDeadline();
    const ended = new Promise<void>((resolve) => {
      response.once('end', resolve);
      response.once('close', resolve);
      response.once('error', () => resolve());
    });
    void ended.then(release);
    readEvents(response, onEvent);
    return { ended, close: () => response.destroy() };
  }

  /** Abort every request in flight (at stop). */
  close(): void {
    for (const controller of this.#inFlight) controller.abort(new PeershareError('UNAVAILABLE', 'stopping'));
    this.#agent?.destroy();
  }
}

/** The error an answer that is not 2xx stands for; a 3xx is a failure too (redirects are never followed). */
function answerError(target: Target, status: number, body: unknown): PeershareError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const ours = typeof error?.code === 'string' && error.code in ERROR_CODES;
  const code = ours ? (error.code as ErrorCode) : 'UNAVAILABLE';
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  // This peer's own service: its error is passed on as it was sent (the Client shows it to the user as it is).
  if (target.kind === 'local' && ours) {
    const details = typeof error.details === 'object' && error.details !== null ? error.details : undefined;
    return new PeershareError(code, message, details as Record<string, unknown> | undefined);
  }
  return new PeershareError(code, `${describe(target)}: ${message}`, { status, body });
}

/**
 * Stream an upload into `req`. An answer that comes before it is all sent (a refusal) ends the
 * upload there; a failure of the body itself goes to `failed` and ends the request.
 */
function sendUpload(req: ClientRequest, body: AsyncIterable<Uint8Array>, failed: (err: Error) => void): void {
  const source = Readable.from(body, { objectMode: false });
  source.once('error', (err) => {
    failed(err);
    req.destroy(err);
  });
  req.once('response', () => {
    source.unpipe(req);
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(req);
}

/** Call `onEvent` for each Server-Sent Event of a response, with its JSON data. */
function readEvents(response: IncomingMessage, onEvent: (event: string, data: unknown) => void): void {
  response.setEncoding('utf8');
  const parser = new SseParser();
  response.on('data', (chunk: string) => {
    for (const { event, data } of parser.push(chunk)) {
      try {
        onEvent(event, JSON.parse(data));
      } catch (err) {
        return void response.destroy(err as Error); // not an event stream we understand: end this stream, not the process
      }
    }
  });
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A response body as text, at most `max` bytes. */
async function readText(response: IncomingMessage, max: number, from: string, signal: AbortSignal): Promise<string> {
  return (await readBody(response, max, from, signal)).toString('utf8');
}

/** A response body, at most `max` bytes. */
function readBody(response: IncomingMessage, max: number, from: string, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      reject(err);
      response.destroy();
    };
    const onAbort = () => fail(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) fail(new PeershareError('PAYLOAD_TOO_LARGE', `the answer of ${from} is over ${max} bytes`));
      else parts.push(chunk);
    });
    response.once('error', (err) => fail(unreachableText(from, err)));
    response.once('aborted', () => fail(new PeershareError('UNAVAILABLE', `${from} closed the connection mid-answer`)));
    response.once('end', () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(parts, size));
    });
  });
}

function unreachableText(from: string, err: Error): PeershareError {
  return isPeershareError(err)
    ? err
    : new PeershareError('UNAVAILABLE', `${from}: ${err.message}`, undefined, { cause: err });
}
