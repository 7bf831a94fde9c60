import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from './http-client.ts';
import { createHttpApp } from './http-server.ts';
import { memorySigner } from './keys.ts';
import { silentLogger } from './logging.ts';
import { callingPeer, peerAccess, servePeerHttp } from './peer-port.ts';
import { PeerTls } from './peer-tls.ts';
import { PeershareError } from './errors.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<{ tls: PeerTls; address: string; base: string }> {
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  const app = await createHttpApp({ service: 'test', logger: silentLogger() });
  app.addHook('onRequest', peerAccess);
  app.post('/echo', { config: { access: 'peers-and-local' } }, async (request) => ({
    peer: callingPeer(request) ?? null,
    got: request.body,
  }));
  app.get('/missing', { config: { access: 'peers-and-local' } }, async () => {
    throw new PeershareError('FILE_NOT_FOUND', 'no such file');
  });
  app.get('/port', { config: { access: 'peers-and-local' } }, async (request) => ({
    port: request.raw.socket.remotePort,
  }));
  app.get('/big', { config: { access: 'peers-and-local' } }, async () => ({ text: 'x'.repeat(10_000) }));
  const port = await servePeerHttp(app, '127.0.0.1', 0, tls, silentLogger());
  cleanups.push(async () => {
    await port.close();
    await app.close();
  });
  return { tls, address: `127.0.0.1:${port.port}`, base: `http://127.0.0.1:${port.port}` };
}

describe('the shared HTTP client', () => {
  it('talks JSON to a peer over pinned TLS and to a local service in plaintext', async () => {
    const s = await server();
    const me = new PeerTls(memorySigner());
    await me.ready();
    const client = new HttpClient({ tls: me });
    const answer = await client.json<{ peer: string; got: unknown }>(
      { kind: 'peer', address: s.address, peerId: s.tls.peerId },
      { method: 'POST', path: '/echo', json: { a: 1 } },
    );
    expect(answer).toMatchObject({ status: 200, peerId: s.tls.peerId, body: { peer: me.peerId, got: { a: 1 } } });
    const tofu = await client.json(
      { kind: 'peer', address: s.address, peerId: undefined },
      { method: 'POST', path: '/echo', json: {} },
    );
    expect(tofu.peerId).toBe(s.tls.peerId);
    const local = await client.json<{ peer: null }>(
      { kind: 'local', baseUrl: s.base },
      { method: 'POST', path: '/echo', json: {} },
    );
    expect(local.body.peer).toBeNull();
  });

  it('fails with the error vocabulary: the wrong peer, its own error code, a cap, no answer', async () => {
    const s = await server();
    const me = new PeerTls(memorySigner());
    await me.ready();
    const client = new HttpClient({ tls: me, maxResponseBytes: 1000 });
    const other = memorySigner().peerId;
    await expect(
      client.json({ kind: 'peer', address: s.address, peerId: other }, { path: '/echo', method: 'POST', json: {} }),
    ).rejects.toMatchObject({ code: 'PEER_ID_MISMATCH' });
    // Another peer's error says who said it; this peer's own service's comes as it was sent.
    await expect(
      client.json({ kind: 'peer', address: s.address, peerId: s.tls.peerId }, { path: '/missing' }),
    ).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: `peer ${s.tls.peerId} at ${s.address}: no such file`,
      details: { status: 404 },
    });
    await expect(client.json({ kind: 'local', baseUrl: s.base }, { path: '/missing' })).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: 'no such file',
    });
    await expect(client.json({ kind: 'local', baseUrl: s.base }, { path: '/big' })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(client.json({ kind: 'local', baseUrl: 'http://127.0.0.1:1' }, { path: '/x' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      details: { cause: 'ECONNREFUSED', url: 'http://127.0.0.1:1/x' },
    });
  });

  it('reuses a verified connection for the same peer id, and never for another id at the same address', async () => {
    const s = await server();
    const me = new PeerTls(memorySigner());
    await me.ready();
    const client = new HttpClient({ tls: me });
    const target = { kind: 'peer' as const, address: s.address, peerId: s.tls.peerId };
    const first = await client.json<{ port: number }>(target, { path: '/port' });
    const second = await client.json<{ port: number }>(target, { path: '/port' });
    expect(second.body.port).toBe(first.body.port); // one TLS connection, one handshake
    await expect(client.json({ ...target, peerId: memorySigner().peerId }, { path: '/port' })).rejects.toMatchObject({
      code: 'PEER_ID_MISMATCH',
    });
    const join = await client.json<{ port: number }>({ ...target, peerId: undefined }, { path: '/port' });
    expect(join.body.port).not.toBe(first.body.port); // an address without a known id gets a connection of its own
    client.close();
  });
});
