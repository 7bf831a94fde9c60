/**
 * A File Management source with a gate, for tests that need a download to be provably running
 * across some event: an HTTP proxy on its own loopback address that forwards to an honest
 * source, except that while the gate is held, range requests wait (unanswered) until release().
 * Closed when the test ends.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { onTestFinished } from 'vitest';
import { nextLoopback } from './loopback.ts';
import { listenAsPeer } from './peer-source.ts';

export interface GatedSource {
  /** `peerId@host:port`: the proxy answers over TLS with an identity of its own. */
  source: string;
  /** Range requests received. */
  requests: number;
  /** Range requests waiting at the gate now. */
  readonly waiting: number;
  /** After `passes` more range requests, the next ones wait until release(). */
  hold(passes?: number): void;
  /** Resolves once a range request is waiting at the gate. */
  blocked(): Promise<void>;
  /** Let waiting and later range requests through. */
  release(): void;
}

export async function startGatedSource(upstream: string): Promise<GatedSource> {
  const host = nextLoopback();
  let open = true;
  let passes = 0;
  const held: Array<() => void> = [];
  const onBlocked: Array<() => void> = [];
  const proxy = (req: IncomingMessage, res: ServerResponse) => {
    const out = request(
      `${upstream}${req.url}`,
      { method: req.method, headers: { range: req.headers.range ?? '' } },
      (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    out.end();
  };
  const server = createServer((req, res) => {
    const isRange = req.url?.endsWith('/content') && req.headers.range;
    if (!isRange) return proxy(req, res);
    state.requests++;
    if (open || passes-- > 0) return proxy(req, res);
    held.push(() => proxy(req, res));
    for (const wake of onBlocked.splice(0)) wake();
  });
  const { source } = await listenAsPeer(server, host);
  const state: GatedSource = {
    source,
    requests: 0,
    get waiting() {
      return held.length;
    },
    hold(n = 0) {
      passes = n;
      open = false;
    },
    blocked() {
      return held.length > 0 ? Promise.resolve() : new Promise<void>((r) => onBlocked.push(r));
    },
    release() {
      open = true;
      passes = 0;
      for (const go of held.splice(0)) go();
    },
  };
  onTestFinished(() => {
    held.length = 0;
    server.closeAllConnections();
  });
  return state;
}
