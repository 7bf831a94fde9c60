/** Bad input to File Management: a clear 4xx with its code, and nothing changes on disk or in the catalog. */
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent } from '../../src/files/domain/file-manager.ts';
import { startFilesPeer, upload, type FilesPeer } from '../support/files-peer.ts';

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** Nothing stored: no catalog row, no temp file, no stored blob. */
async function expectNothingStored(peer: FilesPeer): Promise<void> {
  const list = (await (await fetch(`${peer.url}/files`)).json()) as { total: number };
  expect(list.total).toBe(0);
  expect(readdirSync(join(peer.dataDir, 'tmp'))).toEqual([]);
  expect(readdirSync(join(peer.dataDir, 'store'))).toEqual([]);
}

describe('File Management under bad input', () => {
  it.each([
    '../../x',
    '/etc/passwd',
    '%2e%2e%2fx',
    'a\u0000b',
    'a/../../b',
    'x'.repeat(4096),
    'CON',
    'aux.txt',
    '..',
    'dir/name',
  ])('rejects the upload name %j with INVALID_NAME and creates nothing', async (name) => {
    const peer = await startFilesPeer();
    const res = await upload(peer.url, name, 'payload');
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe(name.length > 1024 ? 'BAD_REQUEST' : 'INVALID_NAME');
    await expectNothingStored(peer);
    expect(existsSync(join(dirname(peer.dataDir), 'x'))).toBe(false);
    expect(existsSync(join(peer.dataDir, 'b'))).toBe(false);
  });

  it('refuses an upload over the cap, declared or streamed, and keeps no partial file', async () => {
    const peer = await startFilesPeer({ maxUploadBytes: '64KiB' });
    const declared = await upload(peer.url, 'big.bin', Buffer.alloc(65 * 1024));
    expect(declared.status).toBe(413);
    expect(await errorCode(declared)).toBe('PAYLOAD_TOO_LARGE');

    // No Content-Length: the cap is enforced while streaming.
    const chunks = (async function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(16 * 1024);
    })();
    const streamed = await fetch(`${peer.url}/files?name=big.bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: ReadableStream.from(chunks),
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    expect(await errorCode(streamed)).toBe('PAYLOAD_TOO_LARGE');
    await expectNothingStored(peer);
  });

  it('drops an upload whose client disconnects midway: no partial file, no catalog row', async () => {
    const peer = await startFilesPeer();
    const failed = new Promise<FileEvent>((resolve) =>
      peer.service.manager.events.on('event', (e: FileEvent) => e.type === 'upload-failed' && resolve(e)),
    );
    const { hostname, port } = new URL(peer.url);
    const req = request({
      host: hostname,
      port,
      method: 'POST',
      path: '/files?name=partial.bin',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(10 * 1024 * 1024) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1024 * 1024));
    await once(req, 'socket');
    // Wait until the server has begun receiving (the temp file exists), then vanish.
    await expect.poll(() => readdirSync(join(peer.dataDir, 'tmp')).length).toBe(1);
    req.destroy();
    expect(await failed).toMatchObject({ type: 'upload-failed', code: 'UPLOAD_ABORTED' });
    await expectNothingStored(peer);
  });

  it('answers malformed requests with BAD_REQUEST, NOT_FOUND, PAYLOAD_TOO_LARGE or UNSUPPORTED_MEDIA_TYPE', async () => {
    const { url } = await startFilesPeer();
    const cases: Array<[Promise<Response>, number, string]> = [
      [fetch(`${url}/files/not-an-id/manifest`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/files/${'0'.repeat(64)}/manifest`), 404, 'FILE_NOT_FOUND'],
      [fetch(`${url}/files?limit=100000`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/files?q=${'x'.repeat(2000)}`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/nowhere`), 404, 'NOT_FOUND'],
      [
        fetch(`${url}/files?name=a.txt`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        fetch(`${url}/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' }),
        400,
        'BAD_REQUEST',
      ],
      [
        fetch(`${url}/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"path":' }),
        400,
        'BAD_REQUEST',
      ],
      [
        fetch(`${url}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'x'.repeat(100_000) }),
        }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        fetch(`${url}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'relative/dir' }),
        }),
        400,
        'INVALID_PATH',
      ],
      [
        fetch(`${url}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: '/no/such/place' }),
        }),
        400,
        'INVALID_PATH',
      ],
      [
        fetch(`${url}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: '/dev/null' }),
        }),
        400,
        'INVALID_PATH',
      ],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect([res.status, await errorCode(res)]).toEqual([status, code]);
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});
