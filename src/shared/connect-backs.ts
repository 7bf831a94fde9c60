/**
 * Connect-backs awaited by this peer (PUSH, docs/PROTOCOL.md §6a): Download asks a firewalled
 * holder, through Search, to connect back, and waits here for a TLS connection that proved that
 * holder's id; File Management's peer port hands each connect-back it accepts to offer(). A
 * connection nobody waits for (unasked, late, or one too many) is closed at once, and a wait ends
 * at its deadline. The registry lives in the process of File Management: Download waits on it
 * directly when it runs there too, and through File Management's splice route when it runs in a
 * process of its own (files/adapters/http/connect-back-splice.ts).
 */
import type { TLSSocket } from 'node:tls';
import { PeershareError } from './errors.ts';

/** How long a requester waits for the holder to connect back once the Push is sent. */
export const CONNECT_BACK_TIMEOUT_MS = 10_000;
/** Waits held at once, all holders together. */
export const MAX_CONNECT_BACK_WAITS = 256;

interface Wait {
  resolve(socket: TLSSocket): void;
  reject(err: Error): void;
}

export class ConnectBacks {
  readonly #waits = new Map<string, Wait[]>();
  readonly #maxWaits: number;
  readonly #timeoutMs: number;
  #size = 0;
  readonly counters = { taken: 0, unasked: 0, timedOut: 0 };

  /** Bounds: waits held at once, and how long each waits unless expect() says. */
  constructor(o: { maxWaits?: number; timeoutMs?: number } = {}) {
    this.#maxWaits = o.maxWaits ?? MAX_CONNECT_BACK_WAITS;
    this.#timeoutMs = o.timeoutMs ?? CONNECT_BACK_TIMEOUT_MS;
  }

  /** Waits held now. */
  get waiting(): number {
    return this.#size;
  }

  /** Whether every place for a wait is taken (expect() would refuse). */
  get full(): boolean {
    return this.#size >= this.#maxWaits;
  }

  /** Wait for `peerId` to connect back, within `timeoutMs`, or until `signal` aborts. */
  expect(peerId: string, timeoutMs = this.#timeoutMs, signal?: AbortSignal): Promise<TLSSocket> {
    if (this.full) return Promise.reject(new PeershareError('UNAVAILABLE', 'too many connect-backs awaited at once'));
    return new Promise<TLSSocket>((resolve, reject) => {
      const wait: Wait = {
        resolve: (socket) => {
          done();
          resolve(socket);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.counters.timedOut++;
        wait.reject(
          new PeershareError('UNAVAILABLE', `firewalled peer ${peerId} did not connect back within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const onAbort = () => wait.reject(new PeershareError('UNAVAILABLE', 'aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const list = this.#waits.get(peerId);
        const i = list?.indexOf(wait) ?? -1;
        if (i < 0) return;
        list!.splice(i, 1);
        this.#size--;
        if (list!.length === 0) this.#waits.delete(peerId);
      };
      const list = this.#waits.get(peerId) ?? [];
      list.push(wait);
      this.#waits.set(peerId, list);
      this.#size++;
      if (signal?.aborted) onAbort();
    });
  }

  /** A connect-back from `peerId` arrived: to the oldest wait for it, or closed. Returns whether it was taken. */
  offer(socket: TLSSocket, peerId: string): boolean {
    const wait = this.#waits.get(peerId)?.[0];
    if (!wait) {
      this.counters.unasked++;
      socket.destroy();
      return false;
    }
    this.counters.taken++;
    wait.resolve(socket);
    return true;
  }
}
