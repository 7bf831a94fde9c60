import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from './http-server.ts';
import { memorySigner } from './keys.ts';
import { silentLogger } from './logging.ts';
import { loadConfig } from './config.ts';
import {
  callingPeer,
  HANDSHAKE_TIMEOUT_MS,
  listenPeerPort,
  MAX_UNPROVEN,
  MAX_UNPROVEN_PER_ADDRESS,
  peerAccess,
  servePeerHttp,
  type PeerPort,
} from './peer-port.ts';
import { ALPN_HTTP, PeerTls, provenPeerId } from './peer-tls.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function peerApp(): Promise<{ tls: PeerTls; port: PeerPort }> {
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  const app = await createHttpApp({ service: 'test', logger: silentLogger() });
  app.addHook('onRequest', peerAccess);
  app.get('/who', { config: { access: 'peers-and-local' } }, async (request) => ({
    peer: callingPeer(request) ?? null,
  }));
  app.post('/sync', { config: { access: 'peers' } }, async () => ({ ok: true }));
  app.post('/shares', async () => ({ shared: true }));
  const port = await servePeerHttp(app, '127.0.0.1', 0, tls, silentLogger());
  cleanups.push(async () => {
    await port.close();
    await app.close();
  });
  return { tls, port };
}

/** One HTTP/1.1 request over a TLS connection made as `me`; the answer's status and body. */
async function overTls(
  me: PeerTls,
  port: number,
  method: string,
  path: string,
): Promise<{ status: number; body: string; server: string }> {
  const socket: TLSSocket = connect({ ...me.clientOptions([ALPN_HTTP]), host: '127.0.0.1', port });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'secureConnect');
  const server = provenPeerId(socket);
  socket.end(
    `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`,
  );
  const parts: Buffer[] = [];
  for await (const chunk of socket) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString();
  return { status: Number(/^HTTP\/1.1 (\d+)/.exec(text)?.[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4), server };
}

describe('a peer port', () => {
  it('serves peers over TLS with their proven id, and this host in plaintext', async () => {
    const { tls, port } = await peerApp();
    const me = new PeerTls(memorySigner());
    await me.ready();
    const answer = await overTls(me, port.port, 'GET', '/who');
    expect(answer.status).toBe(200);
    expect(answer.server).toBe(tls.peerId);
    expect(JSON.parse(answer.body)).toEqual({ peer: me.peerId });
    const local = await fetch(`http://127.0.0.1:${port.port}/who`);
    expect(await local.json()).toEqual({ peer: null });
  });

  it('keeps local routes from peers and peer routes from plaintext', async () => {
    const { port } = await peerApp();
    const me = new PeerTls(memorySigner());
    await me.ready();
    expect((await overTls(me, port.port, 'POST', '/shares')).status).toBe(403);
    expect((await overTls(me, port.port, 'POST', '/sync')).status).toBe(200);
    const plain = await fetch(`http://127.0.0.1:${port.port}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(plain.status).toBe(403);
  });

  it('closes a garbage handshake without taking the port down', async () => {
    const { port } = await peerApp();
    const socket = netConnect({ host: '127.0.0.1', port: port.port });
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => undefined);
    socket.resume(); // read the alert and the end
    await once(socket, 'connect');
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 6, 7, 8]));
    await once(socket, 'close');
    const local = await fetch(`http://127.0.0.1:${port.port}/who`);
    expect(local.status).toBe(200);
  });
});

describe('closing a peer port', () => {
  it('ends a connection stuck in its TLS handshake at once, not at the handshake deadline', async () => {
    const tls = new PeerTls(memorySigner());
    await tls.ready();
    const app = await createHttpApp({ service: 'test', logger: silentLogger() });
    const port = await servePeerHttp(app, '127.0.0.1', 0, tls, silentLogger());
    const socket = netConnect({ host: '127.0.0.1', port: port.port });
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => undefined);
    socket.resume();
    await once(socket, 'connect');
    // The start of a ClientHello, and then nothing: the handshake cannot finish.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    // A request on another connection, answered after the server has read those bytes.
    expect((await fetch(`http://127.0.0.1:${port.port}/health`)).status).toBe(200);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await port.close();
    await closed;
    await app.close();
  }, 8_000); // below the 10 s handshake deadline, which would otherwise be what ends it

  it("takes its caps from the peer's settings (carried by PeerTls), whose defaults are the constants here", async () => {
    const defaults = loadConfig({ flags: { dataDir: '/nonexistent' } });
    expect([defaults.peerHandshakeTimeout, defaults.peerMaxUnprovenPerAddress, defaults.peerMaxUnproven]).toEqual([
      HANDSHAKE_TIMEOUT_MS,
      MAX_UNPROVEN_PER_ADDRESS,
      MAX_UNPROVEN,
    ]);
    const configured = loadConfig({
      flags: { dataDir: '/nonexistent', peerMaxUnprovenPerAddress: 1, peerHandshakeTimeout: 60_000 },
    });
    const tls = new PeerTls(memorySigner(), {
      maxUnprovenPerAddress: configured.peerMaxUnprovenPerAddress,
      handshakeTimeoutMs: configured.peerHandshakeTimeout,
    });
    await tls.ready();
    const app = await createHttpApp({ service: 'test', logger: silentLogger() });
    const port = await servePeerHttp(app, '127.0.0.1', 0, tls, silentLogger());
    cleanups.push(async () => {
      await port.close();
      await app.close();
    });
    const held = netConnect({ host: '127.0.0.1', port: port.port, localAddress: '127.0.0.2' });
    held.on('error', () => undefined);
    cleanups.push(() => void held.destroy());
    await once(held, 'connect');
    const second = netConnect({ host: '127.0.0.1', port: port.port, localAddress: '127.0.0.2' });
    second.on('error', () => undefined);
    await once(second, 'close'); // over the configured cap of 1: closed at accept
    expect(port.refusedOverCap).toBe(1);
    expect(held.destroyed).toBe(false);
  });

  it('holds at most so many connections not yet proven per address and in all, closing the rest at once', async () => {
    const tls = new PeerTls(memorySigner());
    await tls.ready();
    const proven: string[] = [];
    const port = await listenPeerPort('127.0.0.1', 0, {
      tls,
      alpn: [ALPN_HTTP],
      logger: silentLogger(),
      onPeer: (socket, peerId) => {
        proven.push(peerId);
        socket.destroy();
      },
      handshakeTimeoutMs: 60_000, // only the caps may close a connection here
      maxUnprovenPerAddress: 3,
      maxUnproven: 5,
    });
    cleanups.push(() => port.close());
    const idle = (localAddress: string): Socket => {
      const socket = netConnect({ host: '127.0.0.1', port: port.port, localAddress });
      socket.on('error', () => undefined);
      cleanups.push(() => void socket.destroy());
      return socket;
    };
    const tlsPeer = async (localAddress: string) => {
      const me = new PeerTls(memorySigner());
      await me.ready();
      const tcp = netConnect({ host: '127.0.0.1', port: port.port, localAddress });
      const socket = connect({ ...me.clientOptions([ALPN_HTTP]), socket: tcp });
      cleanups.push(() => void socket.destroy());
      await once(socket, 'secureConnect');
      await once(socket, 'close'); // onPeer took it (and closed it): the server side saw it proven
      return me.peerId;
    };

    // Five connections from one address that send nothing: three are held, two closed at once.
    const fromOne = Array.from({ length: 5 }, () => idle('127.0.0.2'));
    const closedFromOne: Socket[] = [];
    await new Promise<void>((resolve) => {
      for (const socket of fromOne) socket.once('close', () => closedFromOne.push(socket) === 2 && resolve());
    });
    expect(closedFromOne).toHaveLength(2);
    expect(port.refusedOverCap).toBe(2);
    // Another address still gets through and proves its id, and the three held ones are still open.
    const other = await tlsPeer('127.0.0.3');
    expect(proven).toEqual([other]);
    expect(fromOne.filter((s) => !s.destroyed && !s.closed)).toHaveLength(3);
    // Two more idle ones from a third address fill the port (5 in all): the next one is closed at once.
    const fromThree = [idle('127.0.0.4'), idle('127.0.0.4')];
    await Promise.all(fromThree.map((s) => once(s, 'connect')));
    await once(idle('127.0.0.5'), 'close');
    expect(port.refusedOverCap).toBe(3);
    // Places are given back as connections end: the first address is served again.
    for (const s of [...fromOne, ...fromThree]) s.destroy();
    await expect
      .poll(
        async () => {
          try {
            return (await tlsPeer('127.0.0.2')).length > 0;
          } catch {
            return false;
          }
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(true);
    expect(proven).toHaveLength(2);
  });
});
