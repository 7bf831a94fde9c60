import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventStream } from './sse.ts';

describe('openEventStream', () => {
  const apps: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it("keeps a stream with no events open past the server's idle-socket timeout, with heartbeats", async () => {
    // The server closes sockets idle for 1 s; the stream sends nothing but heartbeats every 50 ms.
    const app = Fastify({ connectionTimeout: 1_000, forceCloseConnections: true });
    apps.push(app);
    let closedOnServer = false;
    app.get('/events', async (req, reply) => {
      const stream = openEventStream(req, reply, { heartbeatMs: 50 });
      await stream.closed;
      closedOnServer = true;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;

    const req = request({ host: '127.0.0.1', port, path: '/events', headers: { accept: 'text/event-stream' } });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.setEncoding('utf8');
    let heartbeats = 0;
    let ended = false;
    res.once('close', () => (ended = true));
    // 60 heartbeats span 3 s, three times the idle timeout: without them the socket is gone at 1 s.
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: string) => {
        heartbeats += chunk.split(': heartbeat\n\n').length - 1;
        if (heartbeats >= 60) resolve();
      });
      res.once('close', () => reject(new Error(`the stream closed after ${heartbeats} heartbeats`)));
    });
    expect(ended).toBe(false);
    expect(closedOnServer).toBe(false);
    req.destroy();
  });
});
