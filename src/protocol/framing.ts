/**
 * Length-prefixed framing: every frame is a 4-byte big-endian body length followed by the body.
 * FrameDecoder turns a byte stream cut at arbitrary points back into frame bodies. It is pure (no
 * streams, no timers) so the session and any future transport share it.
 */
import { LENGTH_PREFIX_BYTES, MAX_FRAME_BYTES } from './limits.ts';

/** Prefix `body` with its length. The caller keeps bodies under the cap (the codec does). */
export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, LENGTH_PREFIX_BYTES);
  return out;
}

export type FrameError =
  { kind: 'frame-too-large'; length: number } | { kind: 'truncated-frame'; have: number; need: number };

export class FrameDecoder {
  /** Chunks received but not yet consumed; only the first is partly consumed (from `offset`). */
  private readonly chunks: Uint8Array[] = [];
  private offset = 0;
  private buffered = 0;
  /** Length of the frame being assembled, once its prefix has been read and checked. */
  private pending: number | undefined;
  private failed = false;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /**
   * Feed bytes; returns the complete frame bodies they finish, or an error. After an error the
   * decoder is spent: the stream is out of sync and the link must close.
   */
  push(chunk: Uint8Array): { frames: Uint8Array[]; error?: FrameError } {
    const frames: Uint8Array[] = [];
    if (this.failed) return { frames };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.pending === undefined) {
        if (this.buffered < LENGTH_PREFIX_BYTES) break;
        const prefix = this.take(LENGTH_PREFIX_BYTES);
        const length = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getUint32(0, false);
        // Checked before anything of that size is allocated: a hostile prefix costs nothing.
        if (length > this.maxFrameBytes) {
          this.fail();
          return { frames, error: { kind: 'frame-too-large', length } };
        }
        this.pending = length;
      }
      if (this.buffered < this.pending) break;
      frames.push(this.take(this.pending));
      this.pending = undefined;
    }
    return { frames };
  }

  /** The stream ended: an error if it stopped inside a frame. */
  end(): FrameError | undefined {
    if (this.failed || (this.pending === undefined && this.buffered === 0)) return undefined;
    const need = this.pending === undefined ? LENGTH_PREFIX_BYTES : LENGTH_PREFIX_BYTES + this.pending;
    const have = this.pending === undefined ? this.buffered : LENGTH_PREFIX_BYTES + this.buffered;
    this.fail();
    return { kind: 'truncated-frame', have, need };
  }

  /** Whether a frame has begun (a byte of its prefix or body arrived) and is not complete yet. */
  get inFrame(): boolean {
    return this.pending !== undefined || this.buffered > 0;
  }

  /** Bytes held while waiting for the rest of a frame (bounded by the cap plus one chunk). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  private fail(): void {
    this.failed = true;
    this.chunks.length = 0;
    this.buffered = 0;
    this.pending = undefined;
  }

  /** Remove and return the next `n` buffered bytes (n <= buffered), copying only when split. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.advance(first, n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + count), filled);
      filled += count;
      this.advance(chunk, count);
    }
    return out;
  }

  private advance(chunk: Uint8Array, count: number): void {
    this.offset += count;
    this.buffered -= count;
    if (this.offset === chunk.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
