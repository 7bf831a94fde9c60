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
 * and until the promise the sink returns settles (reading pauses meanwhile). When the sink lends
 * its own memory (a `RangeTarget`: the chunk's pool buffer at its fill offset), the body is read
 * straight into it instead, and the sink is only told how many bytes landed: no copy, and no
 * piece handed on per TLS record. Node asks `onread.buffer` for the buffer of each next read
 * after every callback, and TLS copies each decrypted record into it, splitting a record at the
 * buffer's end; a view never longer than the body bytes still due means no byte past the range
 * reaches the sink's memory (what follows goes to the connection's own buffer and fails the
 * request). The first body bytes, which share a read with the head, and every read while the
 * sink has no memory to lend or holds a piece, take the copying path.
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

/** What a connection does with the `n` bytes it read into `buf`: the response in progress, if any. */
type Reader = (n: number, buf: Uint8Array) => void;

class Connection {
  socket!: Socket; // set by attach(), once dialled and verified (or connected back)
  readonly key: string;
  readonly address: string;
  reader: Reader | undefined;
  /** Where the response in progress wants the next read to go (a view of its sink's memory), if anywhere. */
  target: (() => Uint8Array | undefined) | undefined;
  /** Why the connection ended, for the response in progress. */
  onEnd: ((err: Error) => void) | undefined;
  used = false;
  /** The sink holds a view of a read buffer: the next reads must not go into the shared one. */
  held = false;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  readonly #spare: Uint8Array[] = [];
  /** The overflow buffers this connection made (only those go back to #spare). */
  readonly #spares = new WeakSet<Uint8Array>();
  readonly onread = {
    // Asked for the buffer of each next read, after every callback (and must not throw: Node calls it from C++).
    buffer: () => (this.held ? this.#overflowBuffer() : (this.target?.() ?? this.#buffer)),
    callback: (n: number, buf: Uint8Array) => {
      if (this.reader) this.reader(n, buf);
      else this.unasked(); // bytes nobody asked for: the connection is not trusted again
      return true;
    },
  };

  constructor(key: string, address: string) {
    this.key = key;
    this.address = address;
  }

  #unasked = false;

  #overflowBuffer(): Uint8Array {
    const spare = this.#spare.pop();
    if (spare) return spare;
    const made = Buffer.allocUnsafeSlow(OVERFLOW_BUFFER_BYTES);
    this.#spares.add(made);
    return made;
  }

  /**
   * `buf` is free again (the sink is done with what was read into it); the shared buffer always is,
   * and the sink's own memory or a 'data' event's buffer is not the connection's to reuse.
   */
  free(buf: Uint8Array): void {
    if (this.#spares.has(buf) && this.#spare.length < MAX_SPARE_BUFFERS) this.#spare.push(buf);
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
      this.target = undefined;
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
    const request = { host: peer.address, path, start, end, ifRange };
    return new RangeExchange(conn, request, signal, sink, (c) => this.#release(c)).run();
  }
}

interface RangeRequest {
  host: string;
  path: string;
  /** First and last byte asked for (inclusive). */
  start: number;
  end: number;
  ifRange: string;
}

/**
 * One range request on one connection, step by step: write the request; gather the response head
 * and check that it is the range asked for; read the body into the sink's memory where it lends
 * some, else hand each body piece to the sink, pausing the socket while the sink holds one (or
 * makes us wait) and queueing what still arrives meanwhile. It completes when every body byte
 * asked for was handed on and the sink let go of the last one (the connection goes back to the
 * pool), and fails at the first error, abort, or byte more than asked (the connection is
 * destroyed).
 */
class RangeExchange {
  readonly #conn: Connection;
  readonly #request: RangeRequest;
  readonly #signal: AbortSignal;
  readonly #sink: RangeSink;
  readonly #release: (conn: Connection) => void;
  /** Body bytes asked for. */
  readonly #length: number;
  /** A kept-alive connection: one that dies before answering was probably closed while idle. */
  readonly #reused: boolean;
  readonly #head = Buffer.allocUnsafe(MAX_HEADER_BYTES);
  #headLength = 0;
  #inBody = false;
  /** Body bytes handed to the sink, or read into its memory, so far. */
  #received = 0;
  /** The view of the sink's memory the next read goes into, if one is lent. */
  #lent: Uint8Array | undefined;
  #settled = false;
  /** The sink holds a piece until this settles. */
  #held: Promise<void> | undefined;
  /** Pieces read while the sink held one (each in a buffer of its own), in order. */
  readonly #queued: Array<[Buffer, Uint8Array]> = [];
  #resolve!: () => void;
  #reject!: (err: unknown) => void;
  readonly #onAbort = () => this.#finish(this.#signal.reason);

  constructor(
    conn: Connection,
    request: RangeRequest,
    signal: AbortSignal,
    sink: RangeSink,
    release: (conn: Connection) => void,
  ) {
    this.#conn = conn;
    this.#request = request;
    this.#signal = signal;
    this.#sink = sink;
    this.#release = release;
    this.#length = request.end - request.start + 1;
    this.#reused = conn.used;
  }

  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (this.#signal.aborted) {
      this.#finish(this.#signal.reason);
      return done;
    }
    this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#conn.onEnd = (err) => this.#connectionEnded(err);
    this.#conn.reader = (n, buf) => this.#read(n, buf);
    if (this.#sink.target) this.#conn.target = () => this.#lend();
    const { host, path, start, end, ifRange } = this.#request;
    this.#conn.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nRange: bytes=${start}-${end}\r\nIf-Range: ${ifRange}\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n`,
    );
    return done;
  }

  /** Every body byte was handed on and the sink holds none of them. */
  get #complete(): boolean {
    return this.#received === this.#length && !this.#held && this.#queued.length === 0;
  }

  /** `n` bytes read from the connection into `buf`. */
  #read(n: number, buf: Uint8Array): void {
    if (this.#settled) return;
    if (buf === this.#lent) return this.#landed(n);
    const data = Buffer.from(buf.buffer, buf.byteOffset, n);
    if (this.#held)
      this.#queued.push([data, buf]); // in a buffer of its own (conn.held)
    else if (this.#inBody) this.#deliver(data, buf);
    else this.#readHead(data, buf);
  }

  /** Gather the head until the blank line, check it, and hand on the rest of this read as body. */
  #readHead(data: Buffer, buf: Uint8Array): void {
    const take = Math.min(MAX_HEADER_BYTES - this.#headLength, data.length);
    data.copy(this.#head, this.#headLength, 0, take);
    const searchFrom = Math.max(0, this.#headLength - 3);
    this.#headLength += take;
    const at = this.#head.subarray(0, this.#headLength).indexOf(HEADER_END, searchFrom);
    if (at < 0) {
      this.#conn.free(buf); // copied
      if (this.#headLength >= MAX_HEADER_BYTES)
        this.#finish(new PeershareError('BAD_SOURCE', 'source sent oversized response headers'));
      return;
    }
    const { start, end } = this.#request;
    const problem = checkHead(this.#head.subarray(0, at).toString('latin1'), start, end, this.#length);
    if (problem) return this.#finish(problem);
    this.#inBody = true;
    const bodyStart = at + HEADER_END.length - (this.#headLength - take); // offset in `data`
    if (this.#length === 0 || bodyStart < data.length) this.#deliver(data.subarray(bodyStart), buf);
    else this.#conn.free(buf);
  }

  /** Hand a body piece to the sink; while the sink holds it, reading pauses. */
  #deliver(data: Buffer, buf: Uint8Array): void {
    if (this.#received + data.length > this.#length)
      return this.#finish(
        new PeershareError('BAD_SOURCE', `source sent more than the ${this.#length} bytes asked for`),
      );
    this.#received += data.length;
    let held: void | Promise<void>;
    try {
      held = this.#sink.take(data);
    } catch (err) {
      return this.#finish(err);
    }
    this.#after(held, buf);
  }

  /**
   * Where the next read goes (asked after each read): a view of the sink's memory while the body
   * streams and nothing is held or queued, otherwise undefined (the connection's own buffer).
   * A view never reaches the body's last byte: that one, and whatever follows it in the same
   * read, comes through #deliver, which fails the request if the source sent more than it
   * declared (and the last chunk is not completed), as it did before views were lent.
   */
  #lend(): Uint8Array | undefined {
    this.#lent = undefined;
    const lendable = this.#length - this.#received - 1;
    if (this.#settled || !this.#inBody || this.#held || this.#queued.length > 0 || lendable <= 0) return undefined;
    let view: Uint8Array | undefined;
    try {
      view = this.#sink.target!.next(lendable);
    } catch (err) {
      this.#finish(err);
      return undefined;
    }
    if (!view || view.length === 0) return undefined;
    this.#lent = view.length > lendable ? view.subarray(0, lendable) : view;
    return this.#lent;
  }

  /** `n` body bytes were read into the view lent (never more than it holds, so never past the range). */
  #landed(n: number): void {
    this.#lent = undefined;
    this.#received += n;
    let held: void | Promise<void>;
    try {
      held = this.#sink.target!.landed(n);
    } catch (err) {
      return this.#finish(err);
    }
    this.#after(held, undefined);
  }

  /** The sink took bytes (from `buf`, when they were handed on as a piece): read on, or pause until it is done. */
  #after(held: void | Promise<void>, buf: Uint8Array | undefined): void {
    if (!held) {
      if (buf) this.#conn.free(buf);
      if (this.#complete) this.#finish();
      return;
    }
    this.#conn.held = true;
    this.#conn.socket.pause();
    this.#held = held.then(
      () => this.#letGo(buf),
      (err: unknown) => this.#finish(err),
    );
  }

  /** The sink is done with what it held (the piece in `buf`, if any): complete, or hand on what queued meanwhile and read on. */
  #letGo(buf: Uint8Array | undefined): void {
    this.#held = undefined;
    if (buf) this.#conn.free(buf);
    if (this.#settled) return;
    if (this.#complete) return this.#finish();
    while (!this.#held && !this.#settled && this.#queued.length > 0) this.#deliver(...this.#queued.shift()!);
    if (this.#held || this.#settled) return;
    this.#conn.held = false;
    this.#conn.socket.resume();
  }

  #connectionEnded(err: Error): void {
    if (this.#reused && this.#headLength === 0 && !this.#inBody) return this.#finish(new StaleConnection(err));
    this.#finish(
      err instanceof PeershareError
        ? err
        : new PeershareError('UNAVAILABLE', `source connection failed: ${err.message}`),
    );
  }

  /** Settle once: without `err` the connection goes back to the pool, with one it is destroyed. */
  #finish(err?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    const conn = this.#conn;
    conn.reader = undefined;
    conn.target = undefined;
    conn.onEnd = undefined;
    conn.held = false;
    if (err === undefined) {
      conn.socket.resume(); // it may have been paused for the sink's last piece
      this.#release(conn);
      this.#resolve();
    } else {
      conn.socket.destroy();
      // TLS hands the records it already decrypted to the buffer of the next read even past a
      // destroy (from C++, with ticks and microtasks run between them), and asks for no other one:
      // while a view of the sink's memory is that buffer, settle only once the socket has closed,
      // so the sink cannot reuse the memory before the last write into it.
      const lent = this.#lent !== undefined;
      this.#lent = undefined;
      if (lent && !conn.socket.closed) conn.socket.once('close', () => this.#reject(err));
      else this.#reject(err);
    }
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
