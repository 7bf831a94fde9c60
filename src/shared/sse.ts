/**
 * Server-Sent Events over a Fastify reply: the response is taken over from Fastify, events are
 * written as they come, and the stream ends when either side closes. answerWithProgress() serves
 * a long operation either as one JSON answer or, when the caller accepts text/event-stream, as
 * its progress followed by its result.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PeershareError, toErrorBody } from './errors.ts';
import { toPeershareError } from './http-server.ts';

export interface EventStream {
  send(event: string, data: unknown): void;
  end(): void;
  /** Resolves when the client goes away or end() is called. */
  readonly closed: Promise<void>;
}

/**
 * A comment line is sent this often while a stream has no events: the server closes sockets idle
 * for its connection timeout (60 s, see http-server.ts), and a quiet stream (a download queued
 * behind others, no progress for a minute) must not look idle. It also finds a vanished client.
 */
export const HEARTBEAT_MS = 15_000;

export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { heartbeatMs?: number } = {},
): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': peershare\n\n');
  let open = true;
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      open = false;
      clearInterval(heartbeat);
      resolve();
    };
    request.raw.once('close', done);
    res.once('close', done);
  });
  return {
    send(event, data) {
      if (open) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (open) res.end();
      open = false;
      clearInterval(heartbeat);
    },
    closed,
  };
}

/** Whether the caller asked for a stream of events (`Accept: text/event-stream`). */
export function wantsEventStream(request: FastifyRequest): boolean {
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(request.headers.accept ?? '');
}

/**
 * Run an operation that reports progress. Asked for JSON, the answer is its result. Asked for
 * `text/event-stream`, the answer is a stream of `progress` events, then one `result` event (or
 * one `error` event, with the error body's `error` object), then the end. The stream opens with
 * the first report, so an operation that fails before it does any work (a bad path) is answered
 * with an ordinary error status. A caller that goes away before the answer aborts the operation.
 * Meant for routes behind the admin guard: the connection may stay idle while the work goes on.
 */
export async function answerWithProgress<P, R>(
  request: FastifyRequest,
  reply: FastifyReply,
  run: (onProgress: (p: P) => void, signal: AbortSignal) => Promise<R>,
): Promise<R | FastifyReply> {
  // The answer may take long with nothing to send (hashing a big file, walking a big folder):
  // the idle-socket limit that guards against slow clients does not apply while we work.
  request.raw.socket?.setTimeout(0);
  const aborter = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) aborter.abort(new PeershareError('UNAVAILABLE', 'the caller went away'));
  });
  if (!wantsEventStream(request)) return run(() => {}, aborter.signal);
  let stream: EventStream | undefined;
  const onProgress = (p: P) => {
    stream ??= openEventStream(request, reply);
    stream.send('progress', p);
  };
  let result: R;
  try {
    result = await run(onProgress, aborter.signal);
  } catch (err) {
    if (!stream) throw err;
    const e = toPeershareError(err);
    if (e.code === 'INTERNAL') request.log.error({ err }, 'unexpected error');
    stream.send('error', toErrorBody(e).error);
    stream.end();
    return reply;
  }
  stream ??= openEventStream(request, reply);
  stream.send('result', result);
  stream.end();
  return reply;
}
