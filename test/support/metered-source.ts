/**
 * A File Management source that lets range bodies through only within a byte budget, for tests
 * that must stop a transfer at a known byte: an HTTP proxy on its own loopback address in front
 * of an honest source. While a budget is set, the answers in flight share it; once it is spent
 * they stall mid-body (headers sent, connection open) until unlimit(). Closed when the test ends.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { onTestFinished } from 'vitest';
import { nextLoopback } from './loopback.ts';
import { listenAsPeer } from './peer-source.ts';

export interface MeteredSource {
  /** `peerId@host:port`: the proxy answers over TLS with an identity of its own. */
  source: string;
  /** Range body bytes sent in all. */
  readonly bytes: number;
  /** For each range answer so far: its first byte and the body bytes sent. */
  readonly answers: ReadonlyArray<{ start: number; sent: number }>;
  /** From now on, let only `bytes` more body bytes through (shared by every answer). */
  limit(bytes: number): void;
  /** Resolves once the budget is spent. */
  spent(): Promise<void>;
  /** Lift the budget: stalled answers go on. */
  unlimit(): void;
  /** Resolves once no range answer is open (their clients are gone or they are complete). */
  settled(): Promise<void>;
}

export async function startMeteredSource(upstream: string): Promise<MeteredSource> {
  const host = nextLoopback();
  let budget = Infinity;
  let total = 0;
  const answers: Array<{ start: number; sent: number }> = [];
  const stalled: Array<() => void> = [];
  const onSpent: Array<() => void> = [];
  let open = 0;
  const onSettled: Array<() => void> = [];

  const server = createServer((req, res) => {
    const range = req.url?.endsWith('/content') ? /^bytes=(\d+)-/.exec(req.headers.range ?? '') : null;
    const out = request(
      `${upstream}${req.url}`,
      { method: req.method, headers: { range: req.headers.range ?? '' } },
      (up: IncomingMessage) => {
        res.writeHead(up.statusCode!, up.headers);
        if (!range) {
          up.pipe(res);
          return;
        }
        const answer = { start: Number(range[1]), sent: 0 };
        answers.push(answer);
        open++;
        res.on('close', () => {
          if (--open === 0) for (const wake of onSettled.splice(0)) wake();
        });
        const send = (piece: Buffer) => {
          if (res.destroyed) return; // the client went away (killed): nothing more is sent
          const n = Math.min(piece.length, budget);
          if (n > 0) {
            res.write(piece.subarray(0, n));
            budget -= n;
            total += n;
            answer.sent += n;
          }
          if (budget === 0) for (const wake of onSpent.splice(0)) wake();
          if (n < piece.length) {
            up.pause();
            stalled.push(() => {
              send(piece.subarray(n));
              if (!res.destroyed) up.resume();
            });
          }
        };
        up.on('data', send);
        up.on('end', () => {
          // The end waits behind any piece still stalled.
          const finish = () => res.end();
          if (up.isPaused()) stalled.push(finish);
          else finish();
        });
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    out.end();
  });
  const { source } = await listenAsPeer(server, host);
  onTestFinished(() => {
    stalled.length = 0;
    server.closeAllConnections();
  });
  return {
    source,
    get bytes() {
      return total;
    },
    answers,
    limit(bytes) {
      budget = bytes;
    },
    spent() {
      return budget === 0 ? Promise.resolve() : new Promise<void>((resolve) => onSpent.push(resolve));
    },
    settled() {
      return open === 0 ? Promise.resolve() : new Promise<void>((resolve) => onSettled.push(resolve));
    },
    unlimit() {
      budget = Infinity;
      for (const go of stalled.splice(0)) go();
    },
  };
}
