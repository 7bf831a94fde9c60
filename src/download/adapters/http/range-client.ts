/**
 * The hot path of a download: HTTP/1.1 range requests to File Management, over TLS 1.3 pinned to
 * the peer id each source names (dialled with the shared `dialPeer`, so a certificate that does
 * not prove that id ends the connection before a request is written), on keep-alive
 * connections per source that each read the decrypted bytes into one reused buffer (`onread`),
 * so receiving a file allocates nothing per read and leaves the garbage collector nothing to
 * chase. Node's HTTP client allocates a fresh buffer for every read and parses through a stream;
 * at hundreds of megabytes a second that was a good part of a downloader's CPU
 * (docs/PERFORMANCE.md).
 *
 * It speaks exactly the subset a range answer needs: one request at a time per connection, a
 * `206` with `Content-Range` and `Content-Length`, no transfer coding. Anything else fails the
 * request. Body bytes are handed to the sink as views of the read buffer, valid during the call
 * and until the promise the sink returns settles (reading pauses meanwhile).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { PeershareError } from '../../../shared/errors.ts';
import { dialPeer } from '../../../shared/http-client.ts';
import { parsePeerAddress, type PeerAddress } from '../../../shared/peer-address.ts';
import type { PeerTls } from '../../../shared/peer-tls.ts';
import type { RangeSink } from '../../ports.ts';

const READ_BUFFER_BYTES = 256 * 1024;
/**
 * TLS decrypts a whole batch of records per socket read and hands each to the callback, even
 * after the socket was paused; while the sink holds a piece (its promise pending), the pieces
 * that still arrive are read into buffers of their own (a TLS record's plaintext is at most
 * 16 KiB) and queued, so the held one is never overwritten. They are reused once the sink is done
 * with them, so a connection makes a few and then allocates nothing, under backpressure too.
 */
const OVERFLOW_BUFFER_BYTES = 16 * 1024;
const MAX_SPARE_BUFFERS = 16;
const MAX_HEADER_BYTES = 16 * 1024;
const IDLE_MS = 4_000;
/** A source whose address does not complete the TCP and TLS handshakes within this time has failed. */
export const CONNECT_TIMEOUT_MS = 10_000;
const HEADER_END = Buffer.from('\r\n\r\n');

/** The peer a source names (`peerId@host:port`), or BAD_REQUEST. */
export function peerOfSource(source: string): PeerAddress {
  const peer = parsePeerAddress(source);
  if (!peer)
    throw new PeershareError('BAD_REQUEST', `unsupported source address ${source} (peerId@host:port expected)`);
  return peer;
}

/**
 * For a source that cannot be dialled (firewalled): ask it to connect back and resolve with the
 * connection it opened, its id proven (the connect-back registry, shared/connect-backs.ts), or,
 * when File Management runs in another process, the plaintext socket it splices to that
 * connection on this host (files/adapters/http/connect-back-splice.ts).
 */
export type ConnectBack = (signal: AbortSignal) => Promise<Socket>;

/** What a connection does with the bytes it reads (`data`, a view of `buf`): the response in progress, if any. */
type Reader = (data: Buffer, buf: Uint8Array) => void;

class Connection {
  socket!: Socket; // set by attach(), once dialled and verified (or connected back)
  readonly key: string;
  readonly address: string;
  reader: Reader | undefined;
  /** Why the connection ended, for the response in progress. */
  onEnd: ((err: Error) => void) | undefined;
  used = false;
  /** The sink holds a view of a read buffer: the next reads must not go into the shared one. */
  held = false;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  readonly #spare: Uint8Array[] = [];
  readonly onread = {
    // Asked for the buffer of each next read.
    buffer: () => (this.held ? (this.#spare.pop() ?? Buffer.allocUnsafeSlow(OVERFLOW_BUFFER_BYTES)) : this.#buffer),
    callback: (n: number, buf: Uint8Array) => {
      const data = Buffer.from(buf.buffer, buf.byteOffset, n);
      if (this.reader) this.reader(data, buf);
      else this.unasked(); // bytes nobody asked for: the connection is not trusted again
      return true;
    },
  };

  constructor(key: string, address: string) {
    this.key = key;
    this.address = address;
  }

  #unasked = false;

  /** `buf` is free again (the sink is done with what was read into it); the shared buffer always is. */
  free(buf: Uint8Array): void {
    if (buf !== this.#buffer && this.#spare.length < MAX_SPARE_BUFFERS) this.#spare.push(buf);
  }

  unasked(): void {
    this.#unasked = true;
    this.socket?.destroy(); // (before attach(): destroyed there)
  }

  /**
   * The verified TLS socket dialled for this connection; `readsByEvent`: one not dialled here (a
   * connect-back the source opened, or the splice to one), so it reads through 'data' events
   * rather than `onread`.
   */
  attach(socket: Socket, onIdleEnd: (c: Connection) => void, readsByEvent = false): void {
    this.socket = socket;
    if (readsByEvent) socket.on('data', (chunk: Buffer) => this.onread.callback(chunk.length, chunk));
    if (this.#unasked) socket.destroy(); // the source spoke before it was asked
    const ended = (err: Error) => {
      this.clearIdle();
      const onEnd = this.onEnd;
      this.onEnd = undefined;
      this.reader = undefined;
      if (onEnd) onEnd(err);
      else onIdleEnd(this);
    };
    socket.on('error', (err) => ended(err));
    socket.on('end', () => {
      socket.destroy();
      ended(new PeershareError('UNAVAILABLE', 'source closed the connection'));
    });
    socket.on('close', () => ended(new PeershareError('UNAVAILABLE', 'source closed the connection')));
  }

  idle(onTimeout: () => void): void {
    this.socket.unref();
    this.#idleTimer = setTimeout(onTimeout, IDLE_MS);
    this.#idleTimer.unref();
  }

  clearIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.socket.ref();
  }
}

export class RangeClient {
  readonly #tls: PeerTls;
  readonly #idle = new Map<string, Connection[]>();
  readonly #maxIdlePerOrigin: number;
  readonly #connectTimeoutMs: number;
  #closed = false;

  constructor(tls: PeerTls, maxIdlePerOrigin = 8, connectTimeoutMs = CONNECT_TIMEOUT_MS) {
    this.#tls = tls;
    this.#maxIdlePerOrigin = maxIdlePerOrigin;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * GET `path` from the source `peerId@host:port` with `Range: bytes=start-end` (and `If-Range:
   * ifRange`), streaming exactly end - start + 1 body bytes into `sink`. A reused connection that
   * the source closed before answering is replaced once by a new one. Rejects with
   * PEER_ID_MISMATCH or PEER_UNVERIFIED when the address is not the peer the source names.
   */
  async get(
    source: string,
    path: string,
    start: number,
    end: number,
    ifRange: string,
    signal: AbortSignal,
    sink: RangeSink,
    connectBack?: ConnectBack,
  ): Promise<void> {
    if (this.#closed) throw new PeershareError('UNAVAILABLE', 'range client closed');
    const peer = peerOfSource(source);
    const key = source; // connections are per (peer id, address): one proven for one id never serves another
    const reused = this.#takeIdle(key);
    const open = () =>
      connectBack ? this.#connectBack(connectBack, key, peer, signal) : this.#dial(peer, key, signal);
    try {
      return await this.#exchange(reused ?? (await open()), peer, path, start, end, ifRange, signal, sink);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      // The kept-alive connection was closed before it answered: once more, on a new one.
      return await this.#exchange(await open(), peer, path, start, end, ifRange, signal, sink);
    }
  }

  /** A connection the firewalled source opened to us (PUSH): pooled for that source like a dialled one. */
  async #connectBack(
    connectBack: ConnectBack,
    key: string,
    peer: PeerAddress,
    signal: AbortSignal,
  ): Promise<Connection> {
    const socket = await connectBack(signal);
    if (this.#closed) {
      socket.destroy();
      throw new PeershareError('UNAVAILABLE', 'range client closed');
    }
    const conn = new Connection(key, peer.address);
    conn.attach(socket, (c) => this.#forget(c), true);
    return conn;
  }

  async #dial(peer: PeerAddress, key: string, signal: AbortSignal): Promise<Connection> {
    const conn = new Connection(key, peer.address);
    let socket: TLSSocket;
    try {
      ({ socket } = await dialPeer(this.#tls, peer.address, peer.peerId, {
        timeoutMs: this.#connectTimeoutMs,
        signal,
        onread: conn.onread,
      }));
    } catch (err) {
      // An address that swallows the handshake (a black hole, a full accept queue) fails on its
      // own deadline (dialPeer's), shorter than a request's silence, and says so.
      throw signal.aborted ? signal.reason : err;
    }
    if (this.#closed) {
      socket.destroy();
      throw new PeershareError('UNAVAILABLE', 'range client closed');
    }
    conn.attach(socket, (c) => this.#forget(c));
    return conn;
  }

  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const c of list) c.socket.destroy();
    this.#idle.clear();
  }

  #takeIdle(key: string): Connection | undefined {
    const list = this.#idle.get(key);
    const conn = list?.pop();
    if (list && list.length === 0) this.#idle.delete(key);
    conn?.clearIdle();
    return conn;
  }

  #forget(conn: Connection): void {
    const list = this.#idle.get(conn.key);
    const i = list?.indexOf(conn) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.#idle.delete(conn.key);
  }

  #release(conn: Connection): void {
    const list = this.#idle.get(conn.key) ?? [];
    if (this.#closed || list.length >= this.#maxIdlePerOrigin || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    conn.used = true;
    list.push(conn);
    this.#idle.set(conn.key, list);
    conn.idle(() => {
      this.#forget(conn);
      conn.socket.destroy();
    });
  }

  #exchange(
    conn: Connection,
    peer: PeerAddress,
    path: string,
    start: number,
    end: number,
    ifRange: string,
    signal: AbortSignal,
    sink: RangeSink,
  ): Promise<void> {
    const length = end - start + 1;
    const wasUsed = conn.used;
    return new Promise<void>((resolve, reject) => {
      const header = Buffer.allocUnsafe(MAX_HEADER_BYTES);
      let headerLength = 0;
      let inBody = false;
      let received = 0; // body bytes
      let settled = false;
      let pending: Promise<void> | undefined;
      /** Pieces read while the sink held one (each in a buffer of its own), in order. */
      const queued: Array<[Buffer, Uint8Array]> = [];

      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        conn.reader = undefined;
        conn.onEnd = undefined;
        conn.held = false;
        if (err === undefined) {
          conn.socket.resume(); // it may have been paused for the sink's last piece
          this.#release(conn);
          resolve();
        } else {
          conn.socket.destroy();
          reject(err);
        }
      };
      const onAbort = () => finish(signal.reason);
      if (signal.aborted) return finish(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });

      conn.onEnd = (err) => {
        // A reused connection that dies before any answer was probably closed while idle.
        if (wasUsed && headerLength === 0 && !inBody) finish(new StaleConnection(err));
        else
          finish(
            err instanceof PeershareError
              ? err
              : new PeershareError('UNAVAILABLE', `source connection failed: ${err.message}`),
          );
      };

      const body = (data: Buffer, buf: Uint8Array) => {
        if (received + data.length > length) {
          finish(new PeershareError('BAD_SOURCE', `source sent more than the ${length} bytes asked for`));
          return;
        }
        received += data.length;
        let result: void | Promise<void>;
        try {
          result = sink(data);
        } catch (err) {
          finish(err);
          return;
        }
        const complete = received === length;
        if (!result) conn.free(buf);
        if (result) {
          conn.held = true;
          conn.socket.pause();
          const current = (pending = result.then(
            () => {
              if (pending === current) pending = undefined;
              conn.free(buf);
              if (settled) return;
              if (complete && queued.length === 0) finish();
              else flush();
            },
            (err: unknown) => finish(err),
          ));
        } else if (complete) finish();
      };
      /** Hand the sink what was read while it held a piece, then read on. */
      const flush = () => {
        while (!pending && !settled && queued.length > 0) body(...queued.shift()!);
        if (pending || settled) return;
        conn.held = false;
        conn.socket.resume();
      };

      conn.reader = (data, buf) => {
        if (settled) return;
        if (pending) {
          queued.push([data, buf]); // in a buffer of its own (conn.held)
          return;
        }
        if (inBody) {
          body(data, buf);
          return;
        }
        // Headers: gather until the blank line, then the rest of this read is body.
        const room = MAX_HEADER_BYTES - headerLength;
        const take = Math.min(room, data.length);
        data.copy(header, headerLength, 0, take);
        const searchFrom = Math.max(0, headerLength - 3);
        headerLength += take;
        const at = header.subarray(0, headerLength).indexOf(HEADER_END, searchFrom);
        if (at < 0) {
          conn.free(buf); // copied
          if (headerLength >= MAX_HEADER_BYTES)
            finish(new PeershareError('BAD_SOURCE', 'source sent oversized response headers'));
          return;
        }
        const problem = checkHead(header.subarray(0, at).toString('latin1'), start, end, length);
        if (problem) {
          finish(problem);
          return;
        }
        inBody = true;
        const bodyStart = at + HEADER_END.length - (headerLength - take); // offset in `data`
        if (length === 0 || bodyStart < data.length) body(data.subarray(bodyStart), buf);
        else conn.free(buf);
      };

      conn.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${peer.address}\r\nRange: bytes=${start}-${end}\r\nIf-Range: ${ifRange}\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n`,
      );
    });
  }
}

/** The source closed a kept-alive connection before answering: try once more on a new one. */
class StaleConnection extends PeershareError {
  constructor(cause: Error) {
    super('UNAVAILABLE', `source connection failed: ${cause.message}`);
  }
}

/** Why a response head is not the range asked for (undefined when it is). */
function checkHead(head: string, start: number, end: number, length: number): PeershareError | undefined {
  if (!head.startsWith('HTTP/1.'))
    return new PeershareError('BAD_SOURCE', 'source sent something other than an HTTP answer');
  const lines = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const range = fields.get('content-range') ?? '';
  if (status?.[1] !== '206' || !range.startsWith(`bytes ${start}-${end}/`)) {
    return new PeershareError('UNAVAILABLE', `range answer: HTTP ${status?.[1] ?? '?'} ${range}`);
  }
  if (fields.has('transfer-encoding') || fields.get('content-length') !== String(length)) {
    return new PeershareError(
      'BAD_SOURCE',
      `range answer of ${fields.get('content-length') ?? 'no'} bytes for ${length} asked`,
    );
  }
  return undefined;
}
