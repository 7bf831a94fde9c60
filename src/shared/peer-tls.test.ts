import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { memorySigner } from './keys.ts';
import {
  ALPN_LINK,
  CERT_LIFETIME_MS,
  makeCertificate,
  PeerTls,
  peerIdOfCertificate,
  provenPeerId,
} from './peer-tls.ts';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function serve(tls: PeerTls): Promise<{ port: number; proven: Promise<string> }> {
  const server = createServer(tls.serverOptions([ALPN_LINK]));
  closers.push(() => server.close());
  const proven = new Promise<string>((resolve, reject) => {
    server.once('secureConnection', (socket: TLSSocket) => {
      try {
        resolve(provenPeerId(socket));
      } catch (err) {
        reject(err);
      } finally {
        socket.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, proven };
}

async function dial(tls: PeerTls, port: number): Promise<TLSSocket> {
  const socket = connect({ ...tls.clientOptions([ALPN_LINK]), host: '127.0.0.1', port });
  closers.push(() => socket.destroy());
  await once(socket, 'secureConnect');
  return socket;
}

describe('peer TLS', () => {
  it('proves each side its peer id over mutual TLS 1.3', async () => {
    const a = new PeerTls(memorySigner());
    const b = new PeerTls(memorySigner());
    await Promise.all([a.ready(), b.ready()]);
    const { port, proven } = await serve(a);
    const socket = await dial(b, port);
    expect(provenPeerId(socket, a.peerId)).toBe(a.peerId);
    expect(socket.getProtocol()).toBe('TLSv1.3');
    expect(socket.alpnProtocol).toBe(ALPN_LINK);
    expect(await proven).toBe(b.peerId);
  });

  it('refuses a peer that proves another id than the one expected, naming both', async () => {
    const a = new PeerTls(memorySigner());
    const b = new PeerTls(memorySigner());
    await Promise.all([a.ready(), b.ready()]);
    const { port } = await serve(a);
    const socket = await dial(b, port);
    const expected = memorySigner().peerId;
    let error: unknown;
    try {
      provenPeerId(socket, expected);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'PEER_ID_MISMATCH', message: expect.stringContaining(expected) as string });
    expect((error as Error).message).toContain(a.peerId);
  });

  it('refuses certificates that are missing, expired, or signed by another key than their own', async () => {
    const me = memorySigner();
    const old = new X509Certificate(makeCertificate(me, Date.now() - 2 * CERT_LIFETIME_MS));
    expect(() => peerIdOfCertificate(old)).toThrow(/expired/);
    expect(peerIdOfCertificate(new X509Certificate(makeCertificate(me)))).toBe(me.peerId);
    expect(() => peerIdOfCertificate(undefined)).toThrow(/no certificate/);
    // A certificate whose key is not the key that signed it proves nothing.
    const other = memorySigner();
    const forged = makeCertificate({ ...other, publicKey: me.publicKey, peerId: me.peerId });
    expect(() => peerIdOfCertificate(new X509Certificate(forged))).toThrow(/not signed by its own key/);
  });
});
