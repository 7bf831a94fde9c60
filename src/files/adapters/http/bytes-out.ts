/**
 * Bytes of file content sent, by who asked for them: the peer id a TLS caller proved, or `local`
 * for this host's own callers. Counted at the response's writes, so an answer cut short counts
 * what was written; both ways content leaves (a piped stream, sendFileRange's writes) pass there.
 */
import type { ServerResponse } from 'node:http';
import { callingPeer } from '../../../shared/peer-port.ts';
import type { HttpApp } from '../../../shared/http-server.ts';

/** The caller label of this host's own (plaintext) callers. */
export const LOCAL_CALLER = 'local';

/**
 * Count the body bytes of every successful GET of `url` (a route path such as /files/:id/content)
 * into `bytesOut`, and hand those sent to another peer to `toPeer` with the route's `id`.
 */
export function countBytesOut(
  app: HttpApp,
  url: string,
  bytesOut: Record<string, number>,
  toPeer?: (id: string, bytes: number) => void,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || request.routeOptions.url !== url) return;
    const res: ServerResponse = reply.raw;
    let bytes = 0;
    const add = (chunk: unknown) => {
      if (typeof chunk === 'string') bytes += Buffer.byteLength(chunk);
      else if (chunk instanceof Uint8Array) bytes += chunk.length;
    };
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      add(chunk);
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') add(chunk);
      return (end as (...args: unknown[]) => ServerResponse)(chunk, ...rest);
    }) as typeof res.end;
    res.once('close', () => {
      if (bytes === 0 || (res.statusCode !== 200 && res.statusCode !== 206)) return;
      const peer = callingPeer(request);
      bytesOut[peer ?? LOCAL_CALLER] = (bytesOut[peer ?? LOCAL_CALLER] ?? 0) + bytes;
      const { id } = request.params as { id?: string };
      if (peer !== undefined && id !== undefined) toPeer?.(id, bytes);
    });
  });
}
