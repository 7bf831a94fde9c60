/**
 * Malformed and oversized input on every Fetch route, and rogue answers from a "peer" (TEST-PLAN
 * 28): a clear 4xx with a code (or, for an answer, a failed contact), nothing changes, tables stay
 * within their caps. Peer routes are posted to over TLS by a client with its own identity.
 */
import { createServer } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { signRecord } from '../../src/fetch/domain/peer-record.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { listenPeerPort } from '../../src/shared/peer-port.ts';
import { ALPN_HTTP, PeerTls } from '../../src/shared/peer-tls.ts';
import { createFetchNet } from '../support/fetch-net.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tlsPeerClient } from '../support/tls-peer-client.ts';

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(url, init);
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

/** status and error code of an answer of the TLS client. */
const outcome = (a: { status: number; body: { error?: { code: string } } }) => ({
  status: a.status,
  code: a.body.error?.code,
});

/**
 * A "peer" at its own loopback address, over TLS with its own key, whose Fetch API answers
 * whatever `answer` returns.
 */
async function rogue(
  answer: (path: string) => { status: number; body: string; headers?: Record<string, string> },
): Promise<{ address: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume().on('end', () => {
      const a = answer(req.url ?? '');
      res.writeHead(a.status, { 'content-type': 'application/json', connection: 'close', ...a.headers }).end(a.body);
    });
  });
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  const host = nextLoopback();
  const port = await listenPeerPort(host, 7874, {
    tls,
    alpn: [ALPN_HTTP],
    logger: silentLogger(),
    onPeer: (socket) => server.emit('connection', socket),
  });
  onTestFinished(async () => {
    server.closeAllConnections();
    await port.close();
  });
  return { address: `${host}:7874`, hits: () => hits };
}

describe('bad input on the Fetch API', () => {
  it('answers malformed and oversized requests on every route with a clear 4xx, changing nothing', async () => {
    const net = await createFetchNet(2);
    await net.step();
    const { url } = net.peers[0]!.service;
    const address = net.peers[0]!.fetchAddress;
    const snapshot = () => JSON.stringify(net.peers[0]!.service.peers());
    const before = snapshot();
    const record = (await (await fetch(`${net.peers[1]!.service.url}/peers`)).json()) as { self: unknown };
    const peer = await tlsPeerClient();

    for (const route of ['/sync', '/leave']) {
      expect(outcome(await peer.raw(address, 'POST', route, '{"from": ', 'application/json'))).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
      });
      expect(outcome(await peer.post(address, route, [1, 2, 3]))).toEqual({ status: 400, code: 'BAD_REQUEST' });
      expect(outcome(await peer.post(address, route, { from: record.self, extra: 1 }))).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
      });
      expect(outcome(await peer.post(address, route, { junk: 'x'.repeat(200_000) }))).toEqual({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      });
      expect(outcome(await peer.raw(address, 'POST', route, '<a/>', 'application/xml'))).toEqual({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      });
    }
    // A valid announce with a digest one entry over the cap, or a cursor too long: refused whole.
    const addresses = { files: '127.9.9.8:7871', search: '127.9.9.8:7872', fetch: '127.9.9.8:7874' };
    const from = signRecord(peer.signer, {
      status: 'alive',
      addresses,
      protocol: 2,
      seq: net.clock.epochMs(),
      issuedAt: net.clock.epochMs(),
    });
    const digest = (n: number) => Array.from({ length: n }, (_, i) => `aaaaaaaaaaaaaaaa:${i.toString(36)}`);
    expect(outcome(await peer.post(address, '/sync', { from, have: digest(1_001) }))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
    });
    expect(outcome(await peer.post(address, '/sync', { from, viewCursor: 'x'.repeat(500) }))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
    });
    expect(snapshot()).toBe(before);

    expect(await call(`${url}/peers?limit=100000`)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(await call(`${url}/peers?state=zombie`)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(await call(`${url}/peers?surprise=1`)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(await call(`${url}/membership-log?limit=-1`)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(await call(`${url}/sources/not-a-file-id`)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect((await fetch(`${url}/peers?q=${'x'.repeat(20_000)}`)).status).toBe(431); // Node's header cap
    expect(await call(`${url}/nowhere`)).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(snapshot()).toBe(before);
    // The same announce within the caps is taken: the refusals above were about size and shape.
    expect((await peer.post(address, '/sync', { from, have: digest(1_000) })).status).toBe(200);
  });

  it('treats a huge, malformed or redirecting answer as a failed contact and stays within its caps', async () => {
    const tooMany = await rogue(() => ({
      status: 200,
      body: JSON.stringify({ from: 'a'.repeat(52), view: { cursor: 'c', records: Array(100).fill({}), heard: [] } }),
    }));
    const garbage = await rogue(() => ({ status: 200, body: '{"from": [[[' }));
    const target = await rogue(() => ({ status: 200, body: '{}' }));
    const redirect = await rogue(() => ({
      status: 307,
      body: '{}',
      headers: { location: `http://${target.address}/sync` },
    }));
    const net = await createFetchNet(1, {
      tuning: { maxPeers: 20, maxTombstones: 5 },
      joinOf: () => [tooMany.address, garbage.address, redirect.address],
    });
    for (let r = 0; r < 3; r++) await net.step();
    const peer = net.peers[0]!.service;
    expect(tooMany.hits() + garbage.hits() + redirect.hits()).toBeGreaterThanOrEqual(3);
    expect(target.hits()).toBe(0); // redirects are never followed
    expect(peer.peers()).toEqual([]);
    expect(peer.status()).toMatchObject({ state: 'joining', knownPeers: 0 });
    expect(peer.status().failedJoinAttempts).toBeGreaterThanOrEqual(3);
  });

  it('keeps valid strangers it cannot reach out of its table, and reachable ones within maxPeers', async () => {
    const net = await createFetchNet(1, { tuning: { maxPeers: 5 } });
    const { url } = net.peers[0]!.service;
    for (let i = 0; i < 12; i++) {
      const stranger = await tlsPeerClient();
      const addresses = { files: `127.9.8.${i}:7871`, search: `127.9.8.${i}:7872`, fetch: `127.9.8.${i}:7874` };
      const from = signRecord(stranger.signer, {
        status: 'alive',
        addresses,
        protocol: 2,
        seq: net.clock.epochMs(),
        issuedAt: net.clock.epochMs(),
      });
      await stranger.post(net.peers[0]!.fetchAddress, '/sync', { from });
    }
    expect(net.peers[0]!.service.peers()).toHaveLength(0);
    expect(net.peers[0]!.service.status().admission.unverified).toBe(12);
    // Eight real peers join: peer 0 reaches them, and holds at most five.
    for (let i = 0; i < 8; i++) await net.add([net.peers[0]!.fetchAddress]);
    for (let r = 0; r < 4; r++) {
      await net.step();
      expect(net.peers[0]!.service.peers().length).toBeLessThanOrEqual(5);
    }
    expect(net.peers[0]!.service.peers()).toHaveLength(5);
    const listed = (await (await fetch(`${url}/peers`)).json()) as { total: number };
    expect(listed.total).toBe(5);
  });
});
