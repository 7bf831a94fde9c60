/**
 * The body of a content answer, sent from a few buffers reused for the whole range: each is read
 * into again only once the socket has taken what was written from it (the write's callback), so
 * at most SEND_BUFFERS × SEND_BUFFER_BYTES of a range are in memory, and serving allocates
 * nothing per read (fs/file-range.ts says why that matters). Every free buffer is read into at
 * once (read-ahead: the reads run side by side in libuv's thread pool, each at its own offset)
 * and written to the socket in the file's order as they complete, so a read's hand-off to the
 * thread pool and back never leaves the socket without the next bytes; on a busy machine, with
 * one read at a time, that wait was half of an answer's time (docs/PERFORMANCE.md, "where the
 * idle time is"). The headers Fastify was given are written as they are; the answer is ours
 * from there on (the reply is hijacked).
 */
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Throttle } from '../../../shared/throttle.ts';
import type { FileRange } from '../fs/file-range.ts';

/** Each read of the file and write to the socket (a few dozen TLS records: enough to amortise a read's hand-off, small enough to stay in cache). */
export const SEND_BUFFER_BYTES = 512 * 1024;
/** Buffers of one answer, and so reads of it in flight at most: reads of the file overlap each other and writes to the socket. */
export const SEND_BUFFERS = 4;

/** `throttle`: the upload cap each buffer's bytes are taken from before it is read (a peer's answers; none for local callers). */
export async function sendFileRange(reply: FastifyReply, range: FileRange, throttle?: Throttle): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const free: Buffer[] = [];
  /** Reads started and not yet written, in the file's order: each its buffer and how many bytes it asked for. */
  const reads: Array<{ buffer: Buffer; want: number; read: Promise<number> }> = [];
  let made = 0;
  let failed = false;
  let wake: (() => void) | undefined;
  const closed = new AbortController();
  const onClose = () => {
    failed = true;
    closed.abort();
    wake?.();
  };
  res.once('close', onClose);
  /** A buffer nothing refers to any more, if one is free now. */
  const freeBuffer = (): Buffer | undefined =>
    free.pop() ??
    (made < SEND_BUFFERS
      ? (made++, Buffer.allocUnsafeSlow(Math.min(SEND_BUFFER_BYTES, Math.max(1, range.remaining))))
      : undefined);
  /** Until the socket gives a buffer back (or the answer fails). */
  const bufferBack = () => new Promise<void>((resolve) => (wake = resolve)).then(() => (wake = undefined));
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    for (;;) {
      // Read into every free buffer, each at the next offset of the range.
      for (let buffer: Buffer | undefined; !failed && range.remaining > 0 && (buffer = freeBuffer());) {
        const want = Math.min(buffer.length, range.remaining);
        if (throttle) await throttle.take(want, closed.signal);
        const read = range.readInto(buffer);
        read.catch(() => undefined); // awaited in order below; a later one may fail while an earlier one is awaited
        reads.push({ buffer, want, read });
      }
      if (failed) break;
      const next = reads.shift();
      if (!next) break; // every byte of the range was written
      const n = await next.read;
      if (n < next.want) break; // the file ended before the range did
      res.write(next.buffer.subarray(0, n), (err) => {
        if (err) failed = true;
        free.push(next.buffer);
        wake?.();
      });
      if (reads.length === 0 && free.length === 0 && made === SEND_BUFFERS && range.remaining > 0) await bufferBack();
    }
    if (!failed && range.remaining === 0 && reads.length === 0) res.end();
    else res.destroy(); // short: the client must not take it for the whole range
  } catch {
    res.destroy(); // a read failed after the headers went out: all we can do is cut the answer short
  } finally {
    res.off('close', onClose);
    // Reads still in flight write into buffers nobody sends any more; the file closes after them.
    void Promise.allSettled(reads.map((r) => r.read)).then(() => range.destroy());
  }
}
