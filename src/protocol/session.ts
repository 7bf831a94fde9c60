/**
 * A protocol session: one link to one peer over any Duplex stream (a TLS socket, or an in-memory
 * pair in tests). It sends our Hello at once, expects the peer's Hello within the handshake
 * timeout (its version ours, its id the one TLS proved when the transport proved one, see
 * `remotePeerId`), negotiates features, then emits every Query and Hit as a typed 'message'; it answers Pings,
 * sends its own as keepalive, and closes on idle. Any bad input closes this link only, with a
 * Close that says why; nothing here throws out to the stream or the process.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { fromWireCode, wireCode, type ErrorCode } from '../shared/errors.ts';
import { CLOSE_CODES, type CloseInfo, type CloseReason } from './close-reasons.ts';
import { decodeMessage, encodeFrame, type OutgoingMessage, type WireMessage } from './codec.ts';
import { peerIdFromPublicKey } from '../shared/keys.ts';
import { FrameDecoder } from './framing.ts';
import type { Hello } from './gen/wire_pb.ts';
import * as limits from './limits.ts';

/** What we announce in our Hello. */
export interface LocalHello {
  readonly peerId: string;
  readonly publicKey: Uint8Array;
  readonly searchAddress: string;
  readonly filesAddress: string;
}

export interface SessionTimeouts {
  readonly handshakeMs: number;
  readonly keepaliveMs: number;
  readonly idleMs: number;
  /** A frame must complete within this time once its first byte has arrived. */
  readonly frameMs: number;
  readonly closeGraceMs: number;
}

export interface SessionOptions {
  readonly hello: LocalHello;
  readonly timeouts?: Partial<SessionTimeouts>;
  readonly maxFrameBytes?: number;
  readonly maxQueuedBytes?: number;
  /** The features we list in our Hello (default SUPPORTED_FEATURES). */
  readonly features?: readonly string[];
  /**
   * The peer id the transport proved (the TLS certificate's key): a Hello whose peer_id or
   * public_key names another peer closes the link ('peer-mismatch') before anything of it is
   * handed on. Undefined only for in-memory streams in tests.
   */
  readonly remotePeerId?: string;
}

/** The messages a session hands to its owner; Hello, Ping, Pong and Close it handles itself. */
export type PeerMessage = Extract<WireMessage, { case: 'query' | 'hit' | 'push' | 'routeTable' }>;
type Sendable = Extract<OutgoingMessage, { case: 'query' | 'hit' | 'push' | 'routeTable' }>;

/** The feature a message type needs on the link (docs/PROTOCOL.md §7); Query and Hit need none. */
const FEATURE_OF: Partial<Record<PeerMessage['case'], string>> = {
  push: limits.FEATURE_PUSH,
  routeTable: limits.FEATURE_QRP,
};

export interface SessionEvents {
  /** The handshake completed: `hello` is the peer's, version and fields checked. */
  ready: [hello: Hello];
  message: [message: PeerMessage];
  /** Emitted exactly once, after the stream is destroyed and every timer cleared. */
  close: [info: CloseInfo];
}

type State = 'handshaking' | 'ready' | 'closing' | 'closed';

export class PeerSession extends EventEmitter<SessionEvents> {
  /** The peer's Hello, once the handshake has completed. */
  remote: Hello | undefined;
  /** The nonce of the Hello we sent: with the peer's, it names this link on both ends. */
  readonly localNonce: Uint8Array;
  /** How the session ended, once it has begun to close. */
  closeInfo: CloseInfo | undefined;
  /** The features both Hellos list, in our order: what this link may use. Empty until ready. */
  features: readonly string[] = [];

  private state: State = 'handshaking';
  private readonly decoder: FrameDecoder;
  private readonly timeouts: SessionTimeouts;
  private readonly maxQueuedBytes: number;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Runs while a frame is begun and not complete (the frame deadline). */
  private frameTimer: NodeJS.Timeout | undefined;
  private pingNonce = 0;
  private readonly localFeatures: readonly string[];
  private readonly remotePeerId: string | undefined;

  constructor(
    private readonly stream: Duplex,
    options: SessionOptions,
  ) {
    super();
    this.timeouts = {
      handshakeMs: limits.DEFAULT_HANDSHAKE_TIMEOUT_MS,
      keepaliveMs: limits.DEFAULT_KEEPALIVE_INTERVAL_MS,
      idleMs: limits.DEFAULT_IDLE_TIMEOUT_MS,
      frameMs: limits.DEFAULT_FRAME_TIMEOUT_MS,
      closeGraceMs: limits.DEFAULT_CLOSE_GRACE_MS,
      ...options.timeouts,
    };
    this.decoder = new FrameDecoder(options.maxFrameBytes ?? limits.MAX_FRAME_BYTES);
    this.maxQueuedBytes = options.maxQueuedBytes ?? limits.DEFAULT_MAX_QUEUED_BYTES;
    this.localFeatures = options.features ?? limits.SUPPORTED_FEATURES;
    this.remotePeerId = options.remotePeerId;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onStreamClose);
    this.handshakeTimer = setTimeout(
      () => this.fail('handshake-timeout', `no hello within ${this.timeouts.handshakeMs} ms`),
      this.timeouts.handshakeMs,
    );
    const { peerId, publicKey, searchAddress, filesAddress } = options.hello;
    const nonce = randomBytes(limits.MIN_HELLO_NONCE_BYTES);
    this.localNonce = nonce;
    this.write({
      case: 'hello',
      value: {
        protocolVersion: limits.PROTOCOL_VERSION,
        peerId,
        publicKey,
        searchAddress,
        filesAddress,
        nonce,
        features: [...this.localFeatures],
      },
    });
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /**
   * Send a Query, Hit, Push or RouteTable. Returns false if the link is not ready (handshaking or closed). Throws
   * RangeError for a message that breaks a limit: that is a bug in the caller, not the peer.
   */
  send(message: Sendable): boolean {
    if (this.state !== 'ready') return false;
    // A message of a feature the link did not negotiate is never sent: the peer would close the link.
    const feature = FEATURE_OF[message.case];
    if (feature !== undefined && !this.features.includes(feature)) return false;
    return this.write(message);
  }

  /**
   * Send a frame already encoded with encodeFrame (a Query or Hit): a message flooded to many
   * links is encoded once. Returns false if the link is not ready.
   */
  sendFrame(frame: Uint8Array): boolean {
    if (this.state !== 'ready') return false;
    return this.writeBytes(frame);
  }

  /**
   * Close the link because the peer sent something its owner found malformed beyond what the
   * schema checks (a route table that does not decode): the peer is told why, as for a bad frame.
   */
  reject(reason: 'invalid-route-table', message: string): void {
    this.fail(reason, message);
  }

  /** Close the link, telling the peer why. Safe to call at any time, more than once. */
  close(message = 'closing', code: ErrorCode = 'UNAVAILABLE'): void {
    this.shutdown({ reason: 'closed-locally', code, message }, true);
  }

  private isClosing(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  private write(message: OutgoingMessage): boolean {
    return this.writeBytes(encodeFrame(message));
  }

  private writeBytes(frame: Uint8Array): boolean {
    if (!this.stream.writable) return false;
    this.stream.write(frame);
    // A peer that stops reading must not make us buffer without bound.
    if (this.stream.writableLength > this.maxQueuedBytes) {
      this.shutdown({ reason: 'too-slow', code: CLOSE_CODES['too-slow'], message: 'peer is not reading' }, false);
      return false;
    }
    return true;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.isClosing()) return;
    this.idleTimer?.refresh();
    const { frames, error } = this.decoder.push(chunk);
    for (const body of frames) {
      this.onFrame(body);
      if (this.isClosing()) return;
    }
    if (error?.kind === 'frame-too-large') {
      return this.fail('frame-too-large', `frame of ${error.length} bytes exceeds ${limits.MAX_FRAME_BYTES}`);
    }
    this.watchFrame(frames.length > 0);
  };

  /**
   * The frame deadline: started by the first byte of a frame, cleared when a frame completes (and
   * started afresh if the same chunk began the next one). Refreshing the idle timer on every byte
   * would otherwise let a peer trickle one frame forever.
   */
  private watchFrame(completed: boolean): void {
    if (completed || !this.decoder.inFrame) {
      clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
    }
    if (this.decoder.inFrame && this.frameTimer === undefined) {
      this.frameTimer = setTimeout(
        () => this.fail('frame-timeout', `a frame was begun and not completed within ${this.timeouts.frameMs} ms`),
        this.timeouts.frameMs,
      );
    }
  }

  private onFrame(body: Uint8Array): void {
    const decoded = decodeMessage(body);
    if (!decoded.ok) return this.fail(decoded.error.kind, decoded.error.detail);
    const message = decoded.message;
    if (message.case === 'close') {
      const code = fromWireCode(message.value.code);
      return this.shutdown({ reason: 'closed-by-peer', code, message: message.value.reason }, false);
    }
    if (this.state === 'handshaking') {
      if (message.case !== 'hello') return this.fail('unexpected-message', `expected hello, got ${message.case}`);
      return this.onHello(message.value);
    }
    switch (message.case) {
      case 'hello':
        return this.fail('unexpected-message', 'a second hello');
      case 'ping':
        this.write({ case: 'pong', value: { nonce: message.value.nonce } });
        return;
      case 'pong':
        return;
      default: {
        const feature = FEATURE_OF[message.case];
        if (feature !== undefined && !this.features.includes(feature))
          return this.fail('unexpected-message', `a ${message.case} on a link that did not negotiate "${feature}"`);
        this.deliver(message);
      }
    }
  }

  private onHello(hello: Hello): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const proven = this.remotePeerId;
    if (proven !== undefined && (hello.peerId !== proven || peerIdFromPublicKey(hello.publicKey) !== proven)) {
      return this.fail(
        'peer-mismatch',
        `the hello claims peer ${hello.peerId} but the TLS certificate proved ${proven}`,
      );
    }
    this.remote = hello;
    const theirs = new Set(hello.features);
    this.features = this.localFeatures.filter((f) => theirs.has(f));
    this.state = 'ready';
    this.idleTimer = setTimeout(
      () => this.fail('idle-timeout', `nothing received for ${this.timeouts.idleMs} ms`),
      this.timeouts.idleMs,
    );
    this.keepaliveTimer = setInterval(() => {
      this.pingNonce = (this.pingNonce + 1) >>> 0;
      this.write({ case: 'ping', value: { nonce: this.pingNonce } });
    }, this.timeouts.keepaliveMs);
    this.deliver(undefined, hello);
  }

  /** Hand a message to the owner; a throwing listener closes this link, not the process. */
  private deliver(message: PeerMessage | undefined, hello?: Hello): void {
    try {
      if (hello) this.emit('ready', hello);
      else if (message) this.emit('message', message);
    } catch (err) {
      this.close(`local handler failed: ${(err as Error).message}`, 'INTERNAL');
    }
  }

  private readonly onEnd = (): void => {
    const error = this.decoder.end();
    if (error?.kind === 'truncated-frame') {
      return this.fail('truncated-frame', `stream ended ${error.need - error.have} bytes short of a frame`);
    }
    this.shutdown(
      { reason: 'stream-ended', code: CLOSE_CODES['stream-ended'], message: 'the peer ended the stream' },
      false,
    );
  };

  private readonly onError = (err: Error): void => {
    this.shutdown({ reason: 'stream-error', code: CLOSE_CODES['stream-error'], message: err.message }, false);
  };

  private readonly onStreamClose = (): void => {
    this.shutdown({ reason: 'stream-ended', code: CLOSE_CODES['stream-ended'], message: 'the stream closed' }, false);
    this.finish();
  };

  /** Close because the peer broke the protocol (or a timer fired), telling it why. */
  private fail(reason: Exclude<CloseReason, 'closed-locally' | 'closed-by-peer'>, message: string): void {
    this.shutdown({ reason, code: CLOSE_CODES[reason], message }, true);
  }

  private shutdown(info: CloseInfo, sendClose: boolean): void {
    if (this.isClosing()) return;
    this.state = 'closing';
    this.closeInfo = info;
    this.clearTimers();
    const stream = this.stream;
    if (stream.destroyed) {
      if (stream.closed) this.finish();
      return;
    }
    if (sendClose && stream.writable) {
      const reason = info.message.slice(0, limits.MAX_REASON_LENGTH);
      stream.end(encodeFrame({ case: 'close', value: { code: wireCode(info.code), reason } }));
      // Destroy once the peer has ended its side too (it read our Close, and everything it sent
      // has been read: destroying earlier would reset the connection, and a reset can discard
      // the Close before the peer reads it), or after the grace period if it does not.
      if (stream.readableEnded) stream.once('finish', () => stream.destroy());
      else stream.once('end', () => stream.destroy());
      this.graceTimer = setTimeout(() => stream.destroy(), this.timeouts.closeGraceMs);
    } else {
      stream.destroy();
    }
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onStreamClose);
    // The 'error' listener stays: a late error from a destroyed stream must not become uncaught.
    this.emit('close', this.closeInfo!);
  }

  private clearTimers(): void {
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.idleTimer);
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.graceTimer);
    clearTimeout(this.frameTimer);
    this.handshakeTimer = this.idleTimer = this.keepaliveTimer = this.graceTimer = this.frameTimer = undefined;
  }
}
