/**
 * The peer's APIs obey only its own user, as curl would see it: every route of every service
 * answers only under a Host that names the peer (no DNS rebinding), and a change is refused when
 * a browser says another site sent it, or when it is a request a page could forge (no JSON body
 * and no client header). The command and other peers (Node, without browser headers) still pass.
 */
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { startFullPeer, type FullPeer } from '../support/full-peer.ts';

interface Answer {
  status: number;
  body: string;
}

/** A raw request with exactly these headers (fetch does not let a caller set Host). */
function send(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  const body = options.body ?? '';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        headers: { ...options.headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: data }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${base}${path} in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const code = (a: Answer) => (JSON.parse(a.body) as { error: { code: string } }).error.code;
const JSON_TYPE = { 'content-type': 'application/json' };

async function stateOf(peer: FullPeer, key: string): Promise<string> {
  return ((await (await fetch(`${peer.download}/downloads/${key}`)).json()) as { state: string }).state;
}

async function searchesStarted(peer: FullPeer): Promise<number> {
  return ((await (await fetch(`${peer.search}/health`)).json()) as { counters: { searchesStarted: number } }).counters
    .searchesStarted;
}

/** A download parked by its user: any change an attacker makes to it shows in its state. */
async function pausedDownload(peer: FullPeer): Promise<string> {
  const body = JSON.stringify({ fileId: randomBytes(32).toString('hex'), name: 'target.bin' });
  const queued = await send(peer.download, '/downloads', { method: 'POST', headers: JSON_TYPE, body });
  expect(queued.status).toBe(202);
  const { key } = JSON.parse(queued.body) as { key: string };
  expect(
    (await send(peer.client, `/downloads/${key}/pause`, { method: 'POST', headers: { [CLIENT_HEADER]: 'test' } }))
      .status,
  ).toBe(200);
  expect(await stateOf(peer, key)).toBe('paused');
  return key;
}

describe("a peer's APIs and the web pages of other sites", () => {
  it('answers every route of every service only under a Host that names the peer', { timeout: 60_000 }, async () => {
    const peer = await startFullPeer({ allowedHosts: 'peer.example' });
    const routes: Array<[string, number, string]> = [
      [peer.client, DEFAULT_PORTS.clientPort, '/status'],
      [peer.client, DEFAULT_PORTS.clientPort, '/files'],
      [peer.client, DEFAULT_PORTS.clientPort, '/downloads'],
      [peer.client, DEFAULT_PORTS.clientPort, '/'],
      [peer.files, DEFAULT_PORTS.filesPort, '/files'],
      [peer.search, DEFAULT_PORTS.searchApiPort, '/links'],
      [peer.fetch, DEFAULT_PORTS.fetchPort, '/peers'],
      [peer.download, DEFAULT_PORTS.downloadPort, '/downloads'],
      [peer.download, DEFAULT_PORTS.downloadPort, '/health'],
    ];
    for (const [base, port, path] of routes) {
      // DNS rebinding: the page's own name, now resolving to the peer.
      for (const host of [
        `evil.example:${port}`,
        `${peer.host}.evil.example:${port}`,
        'localhost.evil.example',
        `peer.example.evil:${port}`,
      ]) {
        const rebound = await send(base, path, { headers: { host } });
        expect([path, host, rebound.status]).toEqual([path, host, 403]);
        expect(code(rebound)).toBe('FORBIDDEN');
        expect(rebound.body).not.toContain(peer.context.identity.peerId);
      }
      // The peer's address, IP literals, localhost and the allowed names are answered.
      for (const host of [
        `${peer.host}:${port}`,
        `127.0.0.1:${port}`,
        `[::1]:${port}`,
        `localhost:${port}`,
        `LocalHost:${port}`,
        `peer.example:${port}`,
        'PEER.example',
      ]) {
        const answered = await send(base, path, { headers: { host } });
        expect([path, host, answered.status]).toEqual([path, host, path === '/' ? answered.status : 200]);
        expect(answered.status).not.toBe(403);
      }
    }
    // A change under a rebound name is refused too, even as JSON.
    const key = await pausedDownload(peer);
    const rebound = await send(peer.client, `/downloads/${key}/resume`, {
      method: 'POST',
      headers: { host: `evil.example:${DEFAULT_PORTS.clientPort}`, ...JSON_TYPE },
      body: '{}',
    });
    expect(rebound.status).toBe(403);
    expect(await stateOf(peer, key)).toBe('paused');
  });

  it(
    'refuses a change or a search that a browser says another site sent, on every service',
    { timeout: 60_000 },
    async () => {
      const peer = await startFullPeer();
      const key = await pausedDownload(peer);
      const before = await searchesStarted(peer);
      const own = (port: number) => `http://${peer.host}:${port}`;
      const foreign: Array<Record<string, string>> = [
        { origin: 'http://evil.example' },
        { origin: `http://${peer.host}:9999` }, // another port of the same address: another origin
        { origin: 'null' },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: own(DEFAULT_PORTS.clientPort), 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of foreign) {
        const attempts: Array<[string, string, string, string]> = [
          [peer.client, 'POST', `/downloads/${key}/resume`, '{}'],
          [peer.client, 'POST', `/downloads/${key}/cancel`, '{}'],
          [peer.download, 'POST', `/downloads/${key}/resume`, '{}'],
          [peer.download, 'POST', `/downloads/${key}/cancel`, '{}'],
          [peer.client, 'DELETE', '/downloads', ''],
          [peer.download, 'DELETE', '/downloads', ''],
          [peer.client, 'POST', '/downloads', JSON.stringify({ fileId: randomBytes(32).toString('hex') })],
          [
            peer.download,
            'POST',
            '/downloads',
            JSON.stringify({ fileId: randomBytes(32).toString('hex'), name: 'x.bin' }),
          ],
          [peer.files, 'POST', '/shares', JSON.stringify({ path: '/etc' })],
          [peer.search, 'POST', '/searches', JSON.stringify({ q: 'attack' })],
          [peer.client, 'GET', '/search?q=attack&wait=1&timeout=100', ''],
          [peer.client, 'GET', `/folder-contents?fileId=${randomBytes(32).toString('hex')}`, ''],
          [peer.search, 'GET', '/search?q=attack&wait=1&timeout=100', ''],
        ];
        for (const [base, method, path, body] of attempts) {
          const answer = await send(base, path, {
            method,
            headers: { ...headers, ...(body ? JSON_TYPE : {}), [CLIENT_HEADER]: 'forged?' },
            body,
          });
          expect([JSON.stringify(headers), method, path, answer.status]).toEqual([
            JSON.stringify(headers),
            method,
            path,
            403,
          ]);
          expect(code(answer)).toBe('FORBIDDEN');
        }
      }
      expect(await stateOf(peer, key)).toBe('paused');
      expect(((await (await fetch(`${peer.download}/downloads`)).json()) as unknown[]).length).toBe(1);
      expect(await searchesStarted(peer)).toBe(before);

      // The peer's own page (same origin), a typed address (none) and the command (no browser headers) pass.
      const clientOrigin = own(DEFAULT_PORTS.clientPort);
      const ownRequests: Array<Record<string, string>> = [
        { origin: clientOrigin, 'sec-fetch-site': 'same-origin' },
        { 'sec-fetch-site': 'none' },
        {},
      ];
      for (const headers of ownRequests) {
        expect(
          (
            await send(peer.client, `/downloads/${key}/pause`, {
              method: 'POST',
              headers: { ...headers, ...JSON_TYPE },
              body: '{}',
            })
          ).status,
        ).toBe(200);
        expect((await send(peer.client, '/search?q=own&wait=1&timeout=100', { headers })).status).toBe(200);
      }
      expect(await searchesStarted(peer)).toBe(before + 3);
    },
  );

  it(
    'takes a change only as JSON (or a file upload) or with the client header: never what a form or no-cors fetch can send',
    { timeout: 60_000 },
    async () => {
      const peer = await startFullPeer();
      const key = await pausedDownload(peer);
      const shared = (await (
        await fetch(`${peer.client}/files?name=a.txt`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', [CLIENT_HEADER]: 'test' },
          body: 'hello',
        })
      ).json()) as { id: string };
      const before = await searchesStarted(peer);
      // What a page of another site can send without a preflight: no body, text/plain, a form.
      const forgeable: Array<Record<string, string>> = [
        {},
        { 'content-type': 'text/plain' },
        { 'content-type': 'text/plain;charset=UTF-8' },
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'multipart/form-data; boundary=x' },
      ];
      for (const headers of forgeable) {
        const body = 'content-type' in headers ? '{"q":"attack"}' : '';
        const attempts: Array<[string, string, string]> = [
          [peer.client, 'POST', `/downloads/${key}/resume`],
          [peer.client, 'POST', `/downloads/${key}/cancel`],
          [peer.download, 'POST', `/downloads/${key}/resume`],
          [peer.download, 'POST', `/downloads/${key}/cancel`],
          [peer.client, 'DELETE', '/downloads'],
          [peer.download, 'DELETE', '/downloads'],
          [peer.client, 'DELETE', `/files/${shared.id}`],
          [peer.files, 'DELETE', `/files/${shared.id}`],
          [peer.search, 'POST', '/searches'],
        ];
        for (const [base, method, path] of attempts) {
          const answer = await send(base, path, { method, headers, body });
          // A form body may be refused by the body parser first; either way, nothing happens.
          expect([JSON.stringify(headers), method, path, answer.status]).toEqual([
            JSON.stringify(headers),
            method,
            path,
            415,
          ]);
          expect(code(answer)).toBe('UNSUPPORTED_MEDIA_TYPE');
        }
      }
      expect(await stateOf(peer, key)).toBe('paused');
      expect(((await (await fetch(`${peer.client}/files`)).json()) as { items: unknown[] }).items).toHaveLength(1);
      expect(await searchesStarted(peer)).toBe(before);

      // The client header, or a JSON body, is enough.
      expect(
        (
          await send(peer.download, `/downloads/${key}/resume`, {
            method: 'POST',
            headers: { [CLIENT_HEADER]: 'curl' },
          })
        ).status,
      ).toBe(200);
      expect(await stateOf(peer, key)).not.toBe('paused');
      expect(
        (await send(peer.client, `/downloads/${key}/pause`, { method: 'POST', headers: JSON_TYPE, body: '{}' })).status,
      ).toBe(200);
      expect(
        (await send(peer.files, `/files/${shared.id}`, { method: 'DELETE', headers: { [CLIENT_HEADER]: 'curl' } }))
          .status,
      ).toBe(204);
      expect(
        (await send(peer.search, '/searches', { method: 'POST', headers: JSON_TYPE, body: '{"q":"own"}' })).status,
      ).toBe(200);
    },
  );

  it('still syncs with other peers, whose requests carry no browser headers', { timeout: 60_000 }, async () => {
    const a = await startFullPeer();
    const b = await startFullPeer({ join: a.host });
    const alive = async (p: FullPeer) =>
      ((await (await fetch(`${p.fetch}/peers?state=alive`)).json()) as { total: number }).total;
    await expect.poll(() => alive(a), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => alive(b), { timeout: 20_000 }).toBe(1);
  });
});
