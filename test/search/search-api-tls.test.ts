/**
 * The Search API on its peer port (shared/peer-port.ts): other peers, over TLS with their own
 * certificate, may read GET /links and GET /health (the network picture) and nothing else; the
 * Client's OverlayPort asks them that way, pinned to the peer it means.
 */
import { describe, expect, it } from 'vitest';
import { overlayOverTls } from '../../src/client/adapters/http/remote-services.ts';
import type { PeerInfo } from '../../src/client/ports.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { HttpClient } from '../../src/shared/http-client.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { createTestnet } from '../support/testnet.ts';

function info(peerId: string, searchAddress: string): PeerInfo {
  return { peerId, state: 'alive', lastSeen: 0, files: 0, addresses: { search: searchAddress, files: '', fetch: '' } };
}

describe('the search API for other peers', () => {
  it('answers the links and health of the network picture over TLS, pinned to the peer asked', async () => {
    const net = await createTestnet(2, 'line');
    const [a, b] = net.peers as [(typeof net.peers)[0], (typeof net.peers)[0]];
    const http = new HttpClient({ tls: a.tls });
    const overlay = overlayOverTls(http, DEFAULT_PORTS.searchApiPort);
    const links = await overlay.linksOf(info(b.peerId, b.service.searchAddress));
    expect(links.map((l) => l.peerId)).toEqual([a.peerId]);
    // Another peer answering where the record says B is: refused at the handshake, nothing asked.
    await expect(overlay.linksOf(info(memorySigner().peerId, b.service.searchAddress))).rejects.toMatchObject({
      code: 'PEER_ID_MISMATCH',
    });
    const apiOfB = `${b.host}:${DEFAULT_PORTS.searchApiPort}`;
    const health = await http.json<{ peerId: string }>(
      { kind: 'peer', address: apiOfB, peerId: b.peerId },
      { path: '/health' },
    );
    expect(health).toMatchObject({ peerId: b.peerId, body: { peerId: b.peerId, links: 1 } });
  });

  it('keeps searches and everything else for the local user', async () => {
    const net = await createTestnet(2, 'line');
    const [a, b] = net.peers as [(typeof net.peers)[0], (typeof net.peers)[0]];
    const http = new HttpClient({ tls: a.tls });
    const target = { kind: 'peer' as const, address: `${b.host}:${DEFAULT_PORTS.searchApiPort}`, peerId: b.peerId };
    await expect(http.json(target, { path: '/search?q=needle&wait=1' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      details: { status: 403 },
    });
    await expect(http.json(target, { method: 'POST', path: '/searches', json: { q: 'needle' } })).rejects.toMatchObject(
      { code: 'FORBIDDEN' },
    );
    await expect(http.json(target, { path: '/openapi.json' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(b.service.engine.counters.queriesSent).toBe(0);
    // The local user, in plaintext on the same port, reaches them.
    const local = await http.json<{ hits: unknown[] }>(
      { kind: 'local', baseUrl: b.service.apiUrl },
      { path: '/search?q=needle&wait=1&timeout=100' },
    );
    expect(local.body.hits).toEqual([]);
  });
});
