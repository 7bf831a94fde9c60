/**
 * The body of a content answer, sent from a few buffers reused for the whole range: each is read
 * into again only once the socket has taken what was written from it (the write's callback), so
 * at most SEND_BUFFERS × SEND_BUFFER_BYTES of a range are in memory, and serving allocates
 * nothing per read (fs/file-range.ts says why that matters). The headers Fastify was given are
 * written as they are; the answer is ours from there on (the reply is hijacked).
 */
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Throttle } from '../../../shared/throttle.ts';
import type { FileRange } from '../fs/file-range.ts';

/** Each read of the file and write to the socket (a few dozen TLS records: enough to amortise a read, small enough to stay in cache). */
export const SEND_BUFFER_BYTES = 256 * 1024;
/** Buffers of one answer: reads of the file overlap writes to the socket. */
export const SEND_BUFFERS = 4;

/** `throttle`: the upload cap each buffer's bytes are taken from before it is read (a peer's answers; none for local callers). */
export async function sendFileRange(reply: FastifyReply, range: FileRange, throttle?: Throttle): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const free: Buffer[] = [];
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
  /** A buffer nothing refers to any more; undefined once the answer failed. */
  const nextBuffer = async (): Promise<Buffer | undefined> => {
    while (!failed) {
      const buffer =
        free.pop() ??
        (made < SEND_BUFFERS
          ? (made++, Buffer.allocUnsafeSlow(Math.min(SEND_BUFFER_BYTES, Math.max(1, range.remaining))))
          : undefined);
      if (buffer) return buffer;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    return undefined;
  };
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    while (range.remaining > 0) {
      const buffer = await nextBuffer();
      if (!buffer) break;
      if (throttle) await throttle.take(Math.min(buffer.length, range.remaining), closed.signal);
      const n = await range.readInto(buffer);
      if (n === 0) break; // the file ended before the range did
      res.write(buffer.subarray(0, n), (err) => {
        if (err) failed = true;
        free.push(buffer);
        wake?.();
      });
    }
    if (!failed && range.remaining === 0) res.end();
    else res.destroy(); // short: the client must not take it for the whole range
  } catch {
    res.destroy(); // a read failed after the headers went out: all we can do is cut the answer short
  } finally {
    res.off('close', onClose);
    range.destroy();
  }
}
