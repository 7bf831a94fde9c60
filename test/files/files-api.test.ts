/** File Management over a real listening server: upload, list, manifest, ranged reads, dedup. */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChangeSet, FileSummary } from '../../src/files/ports.ts';
import type { Manifest } from '../../src/shared/content.ts';
import type { ErrorBody } from '../../src/shared/errors.ts';
import { writeFileSync } from 'node:fs';
import { registryOverHttp } from '../../src/peer/remote-ports.ts';
import { hashBytes, toManifest } from '../../src/shared/content.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { tempDir } from '../support/temp.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** A change without a body says it comes from a peershare client, as the command does. */
const CLIENT = { [CLIENT_HEADER]: 'test' };

/** A response's JSON body, as the type the route's schema promises (name it at each call). */
async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** The parts of a file's public view (GET /files/:id, an upload's answer) these tests read. */
type FileView = Pick<FileSummary, 'id' | 'name' | 'names' | 'size'>;
interface FileList {
  total: number;
  items: FileView[];
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, { get: { parameters: { name: string }[] } }>;
}

describe('File Management API', () => {
  it('uploads a file, lists it, serves its manifest, and reassembles it exactly from ranged reads', async () => {
    const { url } = await startFilesPeer();
    const data = randomBytes(3.5 * 1024 * 1024);
    const created = await upload(url, 'holiday video.mp4', data);
    expect(created.status).toBe(201);
    const file = await json<FileView>(created);
    expect(file).toMatchObject({
      name: 'holiday video.mp4',
      size: data.length,
      type: 'video/mp4',
      origins: ['stored'],
    });

    const list = await json<FileList>(await fetch(`${url}/files`));
    expect(list.total).toBe(1);
    expect(list.items[0]!.id).toBe(file.id);

    const manifest = await json<Manifest>(await fetch(`${url}/files/${file.id}/manifest`));
    expect(manifest).toMatchObject({ id: file.id, size: data.length, chunkSize: 1024 * 1024 });
    expect(manifest.chunks).toHaveLength(4);

    const parts: Buffer[] = [];
    for (let i = 0; i < manifest.chunks.length; i++) {
      const start = i * manifest.chunkSize;
      const end = Math.min(start + manifest.chunkSize, manifest.size) - 1;
      const res = await fetch(`${url}/files/${file.id}/content`, { headers: { range: `bytes=${start}-${end}` } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${data.length}`);
      const part = Buffer.from(await res.arrayBuffer());
      expect(sha256(part)).toBe(manifest.chunks[i]);
      parts.push(part);
    }
    expect(sha256(Buffer.concat(parts))).toBe(sha256(data));

    const whole = await fetch(`${url}/files/${file.id}/content`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(data));
  });

  it('answers suffix ranges, HEAD, and unsatisfiable ranges exactly as RFC 9110 says', async () => {
    const { url } = await startFilesPeer();
    const data = Buffer.from('0123456789');
    const { id } = await json<FileView>(await upload(url, 'digits.txt', data));

    const suffix = await fetch(`${url}/files/${id}/content`, { headers: { range: 'bytes=-3' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe('bytes 7-9/10');
    expect(await suffix.text()).toBe('789');

    const head = await fetch(`${url}/files/${id}/content`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    expect(await head.text()).toBe('');

    const beyond = await fetch(`${url}/files/${id}/content`, { headers: { range: 'bytes=10-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10');
    expect((await json<ErrorBody>(beyond)).error.code).toBe('INVALID_RANGE');

    const staleIfRange = await fetch(`${url}/files/${id}/content`, {
      headers: { range: 'bytes=0-1', 'if-range': '"nope"' },
    });
    expect(staleIfRange.status).toBe(200);
    expect(await staleIfRange.text()).toBe('0123456789');
  });

  it('serves an empty file', async () => {
    const { url } = await startFilesPeer();
    const file = await json<FileView>(await upload(url, 'empty.txt', ''));
    expect(file).toMatchObject({ size: 0, id: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
    const res = await fetch(`${url}/files/${file.id}/content`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await json<Manifest>(await fetch(`${url}/files/${file.id}/manifest`))).chunks).toEqual([]);
  });

  it('keeps the same content uploaded under two names as one id, searchable by either name', async () => {
    const { url } = await startFilesPeer();
    const data = randomBytes(100_000);
    const first = await upload(url, 'Résumé 2026.pdf', data);
    const second = await upload(url, 'cv-final.pdf', data);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    const a = await json<FileView>(first);
    const b = await json<FileView>(second);
    expect(b.id).toBe(a.id);
    expect(b.names).toEqual(['Résumé 2026.pdf', 'cv-final.pdf']);

    for (const q of ['resume', 'RÉSUMÉ 2026', 'cv final', 'fin']) {
      const hits = await json<FileList>(await fetch(`${url}/files?q=${encodeURIComponent(q)}`));
      expect(
        hits.items.map((f) => f.id),
        q,
      ).toEqual([a.id]);
    }
    expect((await json<FileList>(await fetch(`${url}/files?q=resume+final`))).total).toBe(0);
  });

  it('stores concurrent uploads of the same content once, leaving no temp files', async () => {
    const { url, dataDir } = await startFilesPeer();
    const data = randomBytes(2 * 1024 * 1024 + 17);
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => upload(url, `copy-${i}.bin`, data)));
    const ids = new Set(await Promise.all(responses.map(async (r) => (await json<FileView>(r)).id)));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'store', id.slice(0, 2)))).toEqual([id]);
    const described = await json<FileView>(await fetch(`${url}/files/${id}`));
    expect(described.names).toHaveLength(8);
    const body = Buffer.from(await (await fetch(`${url}/files/${id}/content`)).arrayBuffer());
    expect(sha256(body)).toBe(sha256(data));
  });

  it('pages through the list and unshares a file, deleting the uploaded copy', async () => {
    const { url, dataDir } = await startFilesPeer();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await json<FileView>(await upload(url, `note-${i}.txt`, `note ${i}`))).id);
    const page = await json<FileList>(await fetch(`${url}/files?offset=1&limit=2`));
    expect(page).toMatchObject({ total: 5, offset: 1, limit: 2 });
    expect(page.items).toHaveLength(2);

    const victim = ids[2]!;
    expect((await fetch(`${url}/files/${victim}`, { method: 'DELETE', headers: CLIENT })).status).toBe(204);
    const gone = await fetch(`${url}/files/${victim}/content`);
    expect(gone.status).toBe(404);
    expect((await json<ErrorBody>(gone)).error.code).toBe('FILE_NOT_FOUND');
    expect(readdirSync(join(dataDir, 'store', victim.slice(0, 2))).includes(victim)).toBe(false);
    expect((await json<FileList>(await fetch(`${url}/files`))).total).toBe(4);
    expect(
      (await json<ErrorBody>(await fetch(`${url}/files/${victim}`, { method: 'DELETE', headers: CLIENT }))).error.code,
    ).toBe('FILE_NOT_FOUND');
  });

  it('publishes an OpenAPI document generated from the route schemas, and a health route', async () => {
    const { url } = await startFilesPeer();
    const doc = await json<OpenApiDoc>(await fetch(`${url}/openapi.json`));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/files',
        '/files/{id}',
        '/files/{id}/manifest',
        '/files/{id}/content',
        '/shares',
        '/health',
      ]),
    );
    expect(doc.paths['/files/{id}/content']!.get.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['id', 'range']),
    );
    const health = await json<{ peerId: string }>(await fetch(`${url}/health`));
    expect(health).toMatchObject({ status: 'ok', service: 'files' });
    expect(health.peerId).toMatch(/^[a-z2-7]{52}$/);
  });
});

describe("a finished download shared in split mode (Download's registry over HTTP)", () => {
  it('is shared in place with the manifest it was verified against, not hashed again; a manifest that does not fit is refused', async () => {
    const { url } = await startFilesPeer({ chunkSize: '64KiB' });
    const data = randomBytes(200 * 1024);
    const path = join(tempDir(), 'downloaded.bin');
    writeFileSync(path, data);
    const manifest = toManifest(hashBytes(data, 64 * 1024), 'downloaded.bin');
    const post = (body: unknown) =>
      fetch(`${url}/shares/verified`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...CLIENT },
        body: JSON.stringify(body),
      });
    // The size on disk must be the manifest's, and the manifest must hold together.
    const short = toManifest(hashBytes(data.subarray(1), 64 * 1024), 'downloaded.bin');
    expect((await post({ path, manifest: short })).status).toBe(409);
    expect((await post({ path, manifest: { ...manifest, chunks: manifest.chunks.slice(1) } })).status).toBe(400);
    const shared = await post({ path, manifest });
    expect(shared.status).toBe(200);
    expect(await json<{ id: string; hashed: boolean }>(shared)).toMatchObject({ id: manifest.id, hashed: false });
    // Download's registry in split mode goes this way, and the file is then served as any share.
    await registryOverHttp(url, undefined).register(path, manifest);
    const file = await json<{ paths: string[] }>(await fetch(`${url}/files/${manifest.id}`));
    expect(file.paths).toEqual([path]);
    const body = Buffer.from(await (await fetch(`${url}/files/${manifest.id}/content`)).arrayBuffer());
    expect(sha256(body)).toBe(sha256(data));
  });
});

describe('the query port Search uses', () => {
  it('matches names by every term, case- and accent-insensitively, and looks files up by exact id', async () => {
    const { url, service } = await startFilesPeer();
    const a = await json<FileView>(await upload(url, 'Ubuntu-22.04 Désktop.iso', 'ubuntu bytes'));
    await upload(url, 'ubuntu-server.iso', 'server bytes');
    await upload(url, 'ubuntu desktop copy.iso', 'ubuntu bytes');
    const matches = service.manager.match('UBUNTU desk', 10);
    expect(matches).toEqual([
      { id: a.id, name: 'Ubuntu-22.04 Désktop.iso', size: 12 },
      { id: a.id, name: 'ubuntu desktop copy.iso', size: 12 },
    ]);
    expect(service.manager.match('ubuntu', 2)).toHaveLength(2);
    expect(service.manager.match('...', 10)).toEqual([]);
    expect(service.manager.lookup(a.id).map((m) => m.name)).toEqual([
      'Ubuntu-22.04 Désktop.iso',
      'ubuntu desktop copy.iso',
    ]);
    expect(service.manager.lookup('0'.repeat(64))).toEqual([]);
  });
});

describe('the change feed Fetch lists to peers', () => {
  it('gives the whole list for an unknown cursor, then only what changed since', async () => {
    const { url } = await startFilesPeer();
    const a = await json<FileView>(await upload(url, 'alpha.txt', 'alpha'));
    const first = await json<ChangeSet>(await fetch(`${url}/changes`));
    expect(first).toMatchObject({ reset: true, removed: [], added: [{ id: a.id, name: 'alpha.txt', size: 5 }] });

    const quiet = await json<ChangeSet>(await fetch(`${url}/changes?since=${first.cursor}`));
    expect(quiet).toEqual({ cursor: first.cursor, reset: false, added: [], removed: [] });

    const b = await json<FileView>(await upload(url, 'beta.txt', 'beta'));
    await upload(url, 'alpha again.txt', 'alpha');
    await fetch(`${url}/files/${a.id}`, { method: 'DELETE', headers: CLIENT });
    const delta = await json<ChangeSet>(await fetch(`${url}/changes?since=${first.cursor}`));
    expect(delta.reset).toBe(false);
    expect(delta.added).toEqual([{ id: b.id, name: 'beta.txt', size: 4 }]);
    expect(delta.removed).toEqual([a.id]);

    const foreign = await json<ChangeSet>(await fetch(`${url}/changes?since=0123456789abcdef:1`));
    expect(foreign).toMatchObject({ reset: true, added: [{ id: b.id, name: 'beta.txt', size: 4 }] });
    expect((await fetch(`${url}/changes?limit=0`)).status).toBe(400);
  });
});
