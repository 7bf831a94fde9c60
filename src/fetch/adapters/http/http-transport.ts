/**
 * The FetchTransport over HTTP (node:http): POST /sync and POST /leave to another peer's Fetch
 * API. Every request has a deadline and a response size cap; redirects are never followed (a
 * peer must not make us dial an address it names); each request uses its own connection
 * (agent: false), so nothing lingers in a pool once the answer is in and close() has little to do.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { PeershareError } from '../../../shared/errors.ts';
import type { PeerRecord } from '../../domain/peer-record.ts';
import type { SyncRequest } from '../../domain/messages.ts';
import type { FetchTransport } from '../../ports.ts';

export interface HttpTransportOptions {
  /** Deadline of one sync request, connection included. */
  timeoutMs?: number;
  /** Largest response body read; a bigger one fails the request (a full view of 10,000 peers is ~7 MB). */
  maxResponseBytes?: number;
}

/** A failed request; `body` holds the peer's JSON error when it answered with one. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

export class HttpFetchTransport implements FetchTransport {
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #inFlight = new Set<ClientRequest>();

  constructor(options: HttpTransportOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  }

  sync(address: string, request: SyncRequest, signal?: AbortSignal): Promise<unknown> {
    return this.#post(address, '/sync', request, signal);
  }

  async announceLeave(address: string, tombstone: PeerRecord, signal?: AbortSignal): Promise<void> {
    await this.#post(address, '/leave', tombstone, signal);
  }

  close(): void {
    // Destroying emits 'close' on each request, which settles (rejects) its promise.
    for (const req of [...this.#inFlight]) req.destroy();
  }

  #post(address: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const { host, port } = splitAddress(address);
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new TransportError('aborted'));
      const req = httpRequest({
        host,
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, connection: 'close' },
      });
      this.#inFlight.add(req);
      let settled = false;
      const settle = (err: Error | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#inFlight.delete(req);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value);
      };
      const timer = setTimeout(() => settle(new TransportError(`no answer from ${address} within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      const onAbort = () => settle(new TransportError('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('error', (err) => settle(err));
      req.once('close', () => settle(new TransportError(`connection to ${address} closed before the answer`)));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#maxResponseBytes) settle(new PeershareError('PAYLOAD_TOO_LARGE', `answer from ${address} is over ${this.#maxResponseBytes} bytes`));
          else chunks.push(chunk);
        });
        res.once('error', (err) => settle(err));
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = size === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return settle(new TransportError(`answer from ${address} is not JSON`, status));
          }
          // Anything but 200, redirects included, is a failure: never follow a peer elsewhere.
          if (status !== 200) return settle(new TransportError(`${address} answered ${status}`, status, parsed));
          settle(undefined, parsed);
        });
      });
      req.end(payload);
    });
  }
}
