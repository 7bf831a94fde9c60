/**
 * The FetchTransport over the shared HTTP client (shared/http-client.ts): POST /sync, POST /leave
 * and POST /dial-back to another peer's Fetch API (and a bare pinned handshake for a dial-back), over TLS 1.3 pinned to the peer id expected, nothing sent
 * before the id is checked. Every request has a deadline (connection, handshake and answer) and
 * a response size cap; redirects are never followed (a peer must not make us dial an address it
 * names); each request uses its own connection, so nothing lingers once the answer is in.
 * Failures are the client's PeershareErrors: a refusal carries the peer's status and JSON error
 * as details.status and details.body.
 */
import { FETCH_DEFAULTS } from '../../../shared/defaults.ts';
import { PeershareError } from '../../../shared/errors.ts';
import { dialPeer, HttpClient } from '../../../shared/http-client.ts';
import type { PeerTls } from '../../../shared/peer-tls.ts';
import type { PeerRecord } from '../../domain/peer-record.ts';
import type { SyncRequest } from '../../domain/messages.ts';
import type { FetchTransport, SyncAnswer } from '../../ports.ts';

export interface HttpTransportOptions {
  /** This peer's TLS credentials. */
  tls: PeerTls;
  /** Deadline of one sync request, connection and handshake included (the fetch-sync-timeout setting). */
  timeoutMs?: number;
  /** Largest response body read; a bigger one fails the request (a full view of 10,000 peers is ~7 MB). */
  maxResponseBytes?: number;
}

export const SYNC_TIMEOUT_MS = FETCH_DEFAULTS.syncTimeoutMs;
export const MAX_SYNC_RESPONSE_BYTES = 16 * 1024 * 1024;

export class HttpFetchTransport implements FetchTransport {
  readonly #client: HttpClient;
  readonly #tls: PeerTls;
  readonly #timeoutMs: number;

  constructor(options: HttpTransportOptions) {
    this.#tls = options.tls;
    this.#timeoutMs = options.timeoutMs ?? SYNC_TIMEOUT_MS;
    this.#client = new HttpClient({
      tls: options.tls,
      timeoutMs: options.timeoutMs ?? SYNC_TIMEOUT_MS,
      maxResponseBytes: options.maxResponseBytes ?? MAX_SYNC_RESPONSE_BYTES,
    });
  }

  async sync(
    address: string,
    peerId: string | undefined,
    request: SyncRequest,
    signal?: AbortSignal,
  ): Promise<SyncAnswer> {
    const answer = await this.#client.json<unknown>(
      { kind: 'peer', address, peerId },
      { method: 'POST', path: '/sync', json: request, ...(signal ? { signal } : {}) },
    );
    // The client returns the proven id for every peer target; it is `peerId` when one was expected.
    return { peerId: answer.peerId ?? (peerId as string), body: answer.body };
  }

  async announceLeave(address: string, peerId: string, tombstone: PeerRecord, signal?: AbortSignal): Promise<void> {
    await this.#client.json(
      { kind: 'peer', address, peerId },
      { method: 'POST', path: '/leave', json: tombstone, ...(signal ? { signal } : {}) },
    );
  }

  async askDialBack(
    address: string,
    peerId: string,
    port: number,
    signal?: AbortSignal,
  ): Promise<{ observed: string; reachable: boolean }> {
    // The asked peer dials back within its own deadline: allow for it on top of ours.
    const answer = await this.#client.json<{ observed?: unknown; reachable?: unknown }>(
      { kind: 'peer', address, peerId },
      {
        method: 'POST',
        path: '/dial-back',
        json: { port },
        timeoutMs: 2 * this.#timeoutMs,
        ...(signal ? { signal } : {}),
      },
    );
    const { observed, reachable } = answer.body;
    if (typeof observed !== 'string' || typeof reachable !== 'boolean')
      throw new PeershareError('UNAVAILABLE', `${address} answered a dial-back without observed and reachable`);
    return { observed, reachable };
  }

  async reach(address: string, peerId: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const { socket } = await dialPeer(this.#tls, address, peerId, {
        timeoutMs: this.#timeoutMs,
        ...(signal ? { signal } : {}),
      });
      socket.destroy();
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#client.close();
  }
}
