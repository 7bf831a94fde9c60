/**
 * Streamed request bodies (uploads) for the HTTP adapters: the body as a stream a consumer may
 * read and destroy without destroying the socket, and a bounded drain of a refused upload so its
 * client reads the error answer instead of a reset connection. Nothing here buffers a body.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/** How much of a refused upload is read and discarded so that its client gets the error answer. */
export const DRAIN_LIMIT = 64 * 1024 * 1024;

/** The body as a stream; a client that disconnects before the end makes it fail with ECONNRESET. */
export function uploadBody(raw: IncomingMessage): PassThrough {
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  raw.pipe(body);
  // Its reader sees the error; a refused upload (being drained) has none, and must not crash us.
  body.on('error', () => undefined);
  raw.once('close', () => {
    if (!raw.complete) body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  });
  return body;
}

/** Read and discard the rest of a body, up to `limit` bytes (then the socket is dropped). */
export function drain(raw: IncomingMessage, limit = DRAIN_LIMIT): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  raw.unpipe();
  return new Promise((resolve) => {
    let seen = 0;
    raw.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) raw.destroy();
    });
    raw.once('end', resolve).once('close', resolve);
    raw.resume();
  });
}
