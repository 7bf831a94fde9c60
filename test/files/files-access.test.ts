/**
 * Who may change what: state-changing routes are loopback-only by default, token-protected
 * elsewhere; other peers (over TLS, with an identity of their own) reach only a file's manifest
 * and content.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPeerContext, startPeer } from '../../src/peer/wiring.ts';
import { loadConfig } from '../../src/shared/config.ts';
import type { ErrorBody } from '../../src/shared/errors.ts';
import { HttpClient, type Target } from '../../src/shared/http-client.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { newPeerTls } from '../support/peer-source.ts';
import { tempDir } from '../support/temp.ts';

/** A raw request with a chosen Host header (fetch does not allow setting it). */
function post(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        agent: false,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('access to state-changing routes', () => {
  it('accepts loopback callers of a loopback peer, but not a page that reached it by DNS rebinding', async () => {
    const { url } = await startFilesPeer();
    expect((await upload(url, 'a.txt', 'hello')).status).toBe(201);
    const rebound = await post(
      url,
      '/files?name=b.txt',
      { host: 'evil.example:7871', 'content-type': 'application/octet-stream' },
      'x',
    );
    expect(rebound.status).toBe(403);
    expect((JSON.parse(rebound.body) as ErrorBody).error.code).toBe('FORBIDDEN');
  });

  it('requires the API token when the service listens beyond loopback, and keeps read-only routes open', async () => {
    const dataDir = join(tempDir(), 'data');
    // Bound to every interface on a free port; the test only ever talks to it over loopback.
    const config = loadConfig({ flags: { host: '0.0.0.0', filesPort: 0, dataDir } });
    const peer = await startPeer(createPeerContext(config, silentLogger()), ['files']);
    onTestFinished(() => peer.stop());
    const url = peer.services.files!.url.replace('0.0.0.0', '127.0.0.1');
    const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();

    const anonymous = await upload(url, 'a.txt', 'hello');
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const wrong = await fetch(`${url}/files?name=a.txt`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: 'Bearer nope' },
      body: 'hello',
    });
    expect(wrong.status).toBe(401);
    const withToken = await fetch(`${url}/files?name=a.txt`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
      body: 'hello',
    });
    expect(withToken.status).toBe(201);
    const { id } = (await withToken.json()) as { id: string };

    expect((await fetch(`${url}/files/${id}`, { method: 'DELETE' })).status).toBe(401);
    const listed = (await (await fetch(`${url}/files`)).json()) as { items: Array<{ paths?: string[] }> };
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]!.paths).toBeUndefined(); // local paths are only shown to admin callers
    expect(await (await fetch(`${url}/files/${id}/content`)).text()).toBe('hello');
  });
});

describe('other peers, over TLS', () => {
  it('may read a manifest and ranges of content, and nothing else: upload, share, unshare, list and the change feed answer 403', async () => {
    const files = await startFilesPeer();
    const { id } = (await (await upload(files.url, 'song.flac', 'the bytes of a song')).json()) as { id: string };
    const client = new HttpClient({ tls: await newPeerTls() });
    onTestFinished(() => client.close());
    const target: Target = { kind: 'peer', address: new URL(files.url).host, peerId: files.peerId };

    const manifest = await client.json<{ id: string; size: number }>(target, { path: `/files/${id}/manifest` });
    expect(manifest).toMatchObject({ status: 200, peerId: files.peerId, body: { id, size: 19 } });
    const ranged = await client.open(target, { path: `/files/${id}/content`, headers: { range: 'bytes=4-8' } });
    try {
      expect(ranged.response.statusCode).toBe(206);
      expect(Buffer.concat(await ranged.response.toArray()).toString()).toBe('bytes');
    } finally {
      ranged.release();
    }

    const refused = async (method: string, path: string, json?: unknown, headers?: Record<string, string>) => {
      const err = await client
        .json(target, { method, path, ...(json !== undefined ? { json } : {}), ...(headers ? { headers } : {}) })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, `${method} ${path}`).toMatchObject({ code: 'FORBIDDEN', details: { status: 403 } });
    };
    await refused('POST', '/shares', { path: files.dataDir });
    await refused('POST', '/files?name=evil.txt', undefined, { 'content-type': 'application/octet-stream' });
    await refused('DELETE', `/files/${id}`);
    await refused('GET', '/files');
    await refused('GET', `/files/${id}`);
    await refused('GET', '/changes');

    // Nothing changed: the one file is still shared, and nothing else.
    const listed = (await (await fetch(`${files.url}/files`)).json()) as { items: Array<{ id: string }> };
    expect(listed.items.map((f) => f.id)).toEqual([id]);
  });

  it('are refused a connection when the certificate does not prove the id they dialled: PEER_ID_MISMATCH, no request sent', async () => {
    const files = await startFilesPeer();
    const other = await newPeerTls();
    const client = new HttpClient({ tls: await newPeerTls() });
    onTestFinished(() => client.close());
    const err = await client
      .json({ kind: 'peer', address: new URL(files.url).host, peerId: other.peerId }, { path: '/health' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'PEER_ID_MISMATCH', message: expect.stringContaining(files.peerId) });
  });
});
