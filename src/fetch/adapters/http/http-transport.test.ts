import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpFetchTransport } from './http-transport.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A server on 127.0.0.1 (any port) with a handler; returns its host:port. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return `127.0.0.1:${port}`;
}

const REQUEST = { from: {} } as never;

describe('HttpFetchTransport', () => {
  it('returns the JSON answer of a 200, and attaches the JSON error of a refusal', async () => {
    const ok = await serve((_req, res) => res.end('{"from":"x"}'));
    const refused = await serve((_req, res) => res.writeHead(400).end('{"error":{"code":"BAD_REQUEST","message":"no"}}'));
    const transport = new HttpFetchTransport();
    await expect(transport.sync(ok, REQUEST)).resolves.toEqual({ from: 'x' });
    await expect(transport.sync(refused, REQUEST)).rejects.toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
  });

  it('stops reading an answer over its size cap, and gives up on one that does not come in time', async () => {
    const big = await serve((_req, res) => res.end(JSON.stringify({ junk: 'x'.repeat(10_000) })));
    const silent = await serve(() => undefined);
    const transport = new HttpFetchTransport({ maxResponseBytes: 1_000, timeoutMs: 200 });
    await expect(transport.sync(big, REQUEST)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(transport.sync(silent, REQUEST)).rejects.toThrow(/within 200 ms/);
  });

  it('aborts requests in flight on close', async () => {
    const silent = await serve(() => undefined);
    const transport = new HttpFetchTransport({ timeoutMs: 60_000 });
    const pending = transport.sync(silent, REQUEST);
    await new Promise(setImmediate);
    transport.close();
    await expect(pending).rejects.toThrow();
  });
});
