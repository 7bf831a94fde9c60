import { createServer, type RequestListener } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { memorySigner } from '../../../shared/keys.ts';
import { silentLogger } from '../../../shared/logging.ts';
import { listenPeerPort } from '../../../shared/peer-port.ts';
import { ALPN_HTTP, PeerTls } from '../../../shared/peer-tls.ts';
import { HttpFetchTransport } from './http-transport.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tlsOf(): Promise<PeerTls> {
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  return tls;
}

/** A peer port on 127.0.0.1 (any port) whose HTTP handler is `handler`; returns its address and id. */
async function serve(handler: RequestListener): Promise<{ address: string; peerId: string; hits: () => number }> {
  const tls = await tlsOf();
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  const port = await listenPeerPort('127.0.0.1', 0, {
    tls,
    alpn: [ALPN_HTTP],
    logger: silentLogger(),
    onPeer: (socket) => server.emit('connection', socket),
  });
  cleanups.push(async () => {
    server.closeAllConnections();
    await port.close();
  });
  return { address: `127.0.0.1:${port.port}`, peerId: tls.peerId, hits: () => hits };
}

const REQUEST = { from: {} } as never;

describe('HttpFetchTransport', () => {
  it('returns the JSON answer of a 200 with the id the peer proved, and attaches the JSON error of a refusal', async () => {
    const ok = await serve((_req, res) => res.end('{"from":"x"}'));
    const refused = await serve((_req, res) =>
      res.writeHead(400).end('{"error":{"code":"BAD_REQUEST","message":"no"}}'),
    );
    const transport = new HttpFetchTransport({ tls: await tlsOf() });
    await expect(transport.sync(ok.address, ok.peerId, REQUEST)).resolves.toEqual({
      peerId: ok.peerId,
      body: { from: 'x' },
    });
    await expect(transport.sync(ok.address, undefined, REQUEST)).resolves.toEqual({
      peerId: ok.peerId,
      body: { from: 'x' },
    }); // a join address
    await expect(transport.sync(refused.address, refused.peerId, REQUEST)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      details: { status: 400, body: { error: { code: 'BAD_REQUEST' } } },
    });
  });

  it('sends nothing to a peer that proves another id than the one expected', async () => {
    const other = await serve((_req, res) => res.end('{}'));
    const transport = new HttpFetchTransport({ tls: await tlsOf() });
    const expected = memorySigner().peerId;
    await expect(transport.sync(other.address, expected, REQUEST)).rejects.toMatchObject({
      code: 'PEER_ID_MISMATCH',
      details: { expected, proven: other.peerId },
    });
    await expect(transport.announceLeave(other.address, expected, {} as never)).rejects.toMatchObject({
      code: 'PEER_ID_MISMATCH',
    });
    expect(other.hits()).toBe(0);
  });

  it('stops reading an answer over its size cap, and gives up on one that does not come in time', async () => {
    const big = await serve((_req, res) => res.end(JSON.stringify({ junk: 'x'.repeat(10_000) })));
    const silent = await serve(() => undefined);
    const transport = new HttpFetchTransport({ tls: await tlsOf(), maxResponseBytes: 1_000, timeoutMs: 200 });
    await expect(transport.sync(big.address, big.peerId, REQUEST)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(transport.sync(silent.address, silent.peerId, REQUEST)).rejects.toThrow(/within 200 ms/);
  });

  it('aborts requests in flight on close', async () => {
    const silent = await serve(() => undefined);
    const transport = new HttpFetchTransport({ tls: await tlsOf(), timeoutMs: 60_000 });
    const pending = transport.sync(silent.address, silent.peerId, REQUEST);
    await expect.poll(silent.hits).toBe(1);
    transport.close();
    await expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
