/**
 * Two connected in-memory Duplex streams: what one writes, the other reads. Behaves like the two
 * ends of a socket (ending one ends the other's reading; destroying one ends the other), so
 * tests can run protocol sessions without a network. Node 22 has stream.duplexPair; Node 20 does
 * not. (A test helper: no peer runs sessions over it, so it lives here rather than in src/protocol.)
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  other!: End;
  /** A write waiting for the other end to want more (backpressure, like a full socket buffer). */
  private blocked: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.other.destroyed) return callback();
    if (this.other.push(chunk)) callback();
    else this.other.onRead = callback;
  }

  /** Called by the other end's _write when our readable buffer is full. */
  set onRead(resume: () => void) {
    this.blocked = resume;
  }

  override _read(): void {
    const resume = this.blocked;
    this.blocked = undefined;
    resume?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The far end sees the stream end, as a socket sees FIN or reset from its peer.
    if (!this.other.destroyed && !this.other.readableEnded) this.other.push(null);
    const resume = this.blocked;
    this.blocked = undefined;
    resume?.();
    callback(error);
  }
}

/** A connected pair of in-memory streams. */
export function duplexPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.other = b;
  b.other = a;
  return [a, b];
}
