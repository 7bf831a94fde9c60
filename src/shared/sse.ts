/**
 * Server-Sent Events over a Fastify reply: the response is taken over from Fastify, events are
 * written as they come, and the stream ends when either side closes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown): void;
  end(): void;
  /** Resolves when the client goes away or end() is called. */
  readonly closed: Promise<void>;
}

export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': peershare\n\n');
  let open = true;
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      open = false;
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
    },
    closed,
  };
}
