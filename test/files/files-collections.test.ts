/**
 * Sharing a folder records it as a collection (docs/PROTOCOL.md §11): through the real HTTP API
 * of a real File Management service, the answer names the collection, GET /collections/:id serves
 * its canonical bytes (to other peers too, over TLS), and the id is recomputed here from those
 * bytes by the definition, not by the code under test.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { HttpClient } from '../../src/shared/http-client.ts';
import { startFilesPeer } from '../support/files-peer.ts';
import { newPeerTls } from '../support/peer-source.ts';
import { tempDir } from '../support/temp.ts';

const CLIENT = { [CLIENT_HEADER]: 'test' };
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();
/** The file id of a file of one chunk (or none): SHA-256 over its chunk hashes. */
const fileId = (content: string) => (content === '' ? sha256('') : sha256(sha256(content))).toString('hex');
/** The collection id by its definition: SHA-256("peershare/collection/v1" ‖ SHA-256(encoding)). */
const collectionId = (encoding: Uint8Array) =>
  sha256(Buffer.concat([Buffer.from('peershare/collection/v1'), sha256(encoding)])).toString('hex');

interface ShareAnswer {
  files: Array<{ id: string; name: string; path: string; size: number; hashed: boolean }>;
  skipped: Array<{ path: string; code: string; reason: string }>;
  collection?: {
    id: string;
    name: string;
    files: number;
    size: number;
    omitted: Array<{ path: string; code: string; reason: string }>;
  };
}

async function share(url: string, path: string): Promise<ShareAnswer> {
  const res = await fetch(`${url}/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ShareAnswer;
}

async function collectionBytes(
  url: string,
  id: string,
): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const res = await fetch(`${url}/collections/${id}`);
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

interface Listed {
  items: Array<{ id: string; name: string; files: number; size: number; complete: boolean; folder?: string }>;
  total: number;
}
const listCollections = async (url: string) => (await (await fetch(`${url}/collections`)).json()) as Listed;

/** A nested folder, its files written in the order given (a walk sees names, not creation order). */
function makeTree(base: string, name: string, files: Record<string, string>): string {
  const root = join(base, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const TREE = {
  'nested/sub/deep.txt': 'deep bytes',
  'b.txt': 'bee',
  'nested/a.txt': 'nested a',
  'nested-x.txt': 'between nested and nested/ in byte order',
  'empty.bin': '',
};

/** The canonical encoding of TREE, written out by hand: sorted by UTF-8 bytes ('-' < '/'). */
const EXPECTED = [
  'peershare-collection 1',
  `${fileId('bee')} 3 b.txt`,
  `${fileId('')} 0 empty.bin`,
  `${fileId('between nested and nested/ in byte order')} 40 nested-x.txt`,
  `${fileId('nested a')} 8 nested/a.txt`,
  `${fileId('deep bytes')} 10 nested/sub/deep.txt`,
  '',
].join('\n');

describe('sharing a folder records it as a collection', () => {
  it('answers with the collection, whose canonical bytes list every file by relative path, sorted, and hash to its id', async () => {
    const { url } = await startFilesPeer();
    const root = makeTree(tempDir(), 'My Album', TREE);
    const answer = await share(url, root);
    expect(answer.files).toHaveLength(5); // each file still shared on its own, by its name
    expect(answer.files.map((f) => f.name).sort()).toEqual(['a.txt', 'b.txt', 'deep.txt', 'empty.bin', 'nested-x.txt']);
    expect(answer.collection).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      name: 'My Album',
      files: 5,
      size: 61,
      omitted: [],
    });

    const served = await collectionBytes(url, answer.collection!.id);
    expect(served.status).toBe(200);
    expect(served.type).toBe('application/vnd.peershare.collection');
    expect(served.bytes.toString('utf8')).toBe(EXPECTED);
    expect(collectionId(served.bytes)).toBe(answer.collection!.id);

    expect(await listCollections(url)).toEqual({
      items: [
        {
          id: answer.collection!.id,
          name: 'My Album',
          files: 5,
          size: 61,
          complete: true,
          folder: root,
          addedAt: expect.any(Number),
        },
      ],
      total: 1,
      offset: 0,
      limit: 100,
    });
    const missing = await fetch(`${url}/collections/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('COLLECTION_NOT_FOUND');
  });

  it('gives the same id when shared again unchanged, and the same tree elsewhere; a new one once a file is added', async () => {
    const { url } = await startFilesPeer();
    const base = tempDir();
    const root = makeTree(base, 'album', TREE);
    const first = await share(url, root);
    const again = await share(url, root);
    expect(again.files.every((f) => !f.hashed)).toBe(true);
    expect(again.collection!.id).toBe(first.collection!.id);

    // The same files written in another order, under another folder name: the same tree.
    const reversed = Object.fromEntries(Object.entries(TREE).reverse());
    const copy = await share(url, makeTree(base, 'copy of album', reversed));
    expect(copy.collection).toMatchObject({ id: first.collection!.id, name: 'copy of album' });

    writeFileSync(join(root, 'nested', 'sub', 'new.txt'), 'a new file');
    const changed = await share(url, root);
    expect(changed.collection!.id).not.toBe(first.collection!.id);
    expect(changed.collection!.files).toBe(6);
    const served = await collectionBytes(url, changed.collection!.id);
    expect(collectionId(served.bytes)).toBe(changed.collection!.id);
    expect(served.bytes.toString('utf8')).toContain(`${fileId('a new file')} 10 nested/sub/new.txt\n`);

    // One snapshot per folder: the album's is replaced; the copy still has the old tree's id.
    const listed = await listCollections(url);
    expect(listed.items.map((c) => [c.name, c.id]).sort()).toEqual(
      [
        ['album', changed.collection!.id],
        ['copy of album', first.collection!.id],
      ].sort(),
    );
  });

  it('leaves out of the collection a file under a folder name the name rules refuse, still sharing it; a single file or an empty folder makes none', async () => {
    const { url } = await startFilesPeer();
    const root = makeTree(tempDir(), 'music', {
      'ok.txt': 'fine',
      'trailing dot./x.txt': 'under a refused folder name',
      'bad\u202Ename.txt': 'refused name',
    });
    const answer = await share(url, root);
    expect(answer.files.map((f) => f.name).sort()).toEqual(['ok.txt', 'x.txt']);
    expect(answer.skipped).toEqual([
      expect.objectContaining({ path: join(root, 'bad\u202Ename.txt'), code: 'INVALID_NAME' }),
    ]);
    expect(answer.collection).toMatchObject({
      files: 1,
      omitted: [
        {
          path: join(root, 'trailing dot.', 'x.txt'),
          code: 'INVALID_COLLECTION',
          reason: expect.stringMatching(/ends with a dot/),
        },
      ],
    });
    const served = await collectionBytes(url, answer.collection!.id);
    expect(served.bytes.toString('utf8')).toBe(`peershare-collection 1\n${fileId('fine')} 4 ok.txt\n`);

    const single = await share(url, join(root, 'ok.txt'));
    expect(single.collection).toBeUndefined();
    const emptyFolder = join(tempDir(), 'nothing here');
    mkdirSync(emptyFolder);
    expect(await share(url, emptyFolder)).toEqual({ files: [], skipped: [] });
    expect((await listCollections(url)).total).toBe(1);
  });

  it('keeps a collection while any of its files is shared, and drops it with the last; unsharing the folder unshares its files', async () => {
    const { url } = await startFilesPeer();
    const base = tempDir();
    const two = await share(url, makeTree(base, 'two', { 'a.txt': 'first', 'b/c.txt': 'second' }));
    const unshare = (id: string) => fetch(`${url}/files/${id}`, { method: 'DELETE', headers: CLIENT });

    expect((await unshare(two.files[0]!.id)).status).toBe(204);
    expect((await listCollections(url)).items).toEqual([
      expect.objectContaining({ id: two.collection!.id, complete: false }),
    ]);
    expect((await collectionBytes(url, two.collection!.id)).status).toBe(200); // the snapshot is still true; others may hold the file
    expect((await unshare(two.files[1]!.id)).status).toBe(204);
    expect((await listCollections(url)).total).toBe(0);
    expect((await collectionBytes(url, two.collection!.id)).status).toBe(404);

    const three = await share(url, makeTree(base, 'three', { 'x.txt': 'x', 'y/z.txt': 'z', 'y/w.txt': 'w' }));
    const removed = await fetch(`${url}/collections/${three.collection!.id}`, { method: 'DELETE', headers: CLIENT });
    expect(await removed.json()).toEqual({ files: 3 });
    expect((await (await fetch(`${url}/files`)).json()) as { total: number }).toMatchObject({ total: 0 });
    expect((await listCollections(url)).total).toBe(0);
    expect(
      (await fetch(`${url}/collections/${three.collection!.id}`, { method: 'DELETE', headers: CLIENT })).status,
    ).toBe(404);
  });

  it("answers a search for a folder's name, or for its collection id, with the folder, while every one of its files is shared", async () => {
    const { url, service } = await startFilesPeer();
    const base = tempDir();
    const trip = await share(url, makeTree(base, 'Lisbon Trip', { 'tram.txt': 'tram', 'day 2/ferry.txt': 'ferry' }));
    const folder = { id: trip.collection!.id, name: 'Lisbon Trip', size: 9, folder: { files: 2 } };
    const { manager } = service;
    // By its name's words (prefixes, folded as file names are), after the files that match.
    expect(manager.match('lisb TRIP', 10)).toEqual([folder]);
    expect(manager.match('tram', 10)).toEqual([
      { id: trip.files.find((f) => f.name === 'tram.txt')!.id, name: 'tram.txt', size: 4 },
    ]);
    expect(manager.match('lisbon ferry', 10)).toEqual([]);
    expect(manager.lookup(folder.id)).toEqual([folder]);
    // A file of it unshared: the folder could no longer be downloaded whole, so it is not offered.
    expect((await fetch(`${url}/files/${trip.files[0]!.id}`, { method: 'DELETE', headers: CLIENT })).status).toBe(204);
    expect(manager.match('lisbon', 10)).toEqual([]);
    expect(manager.lookup(folder.id)).toEqual([]);
  });

  it('serves the canonical bytes to another peer over TLS, and not the list of collections', async () => {
    const files = await startFilesPeer();
    const answer = await share(files.url, makeTree(tempDir(), 'album', TREE));
    const client = new HttpClient({ tls: await newPeerTls() });
    onTestFinished(() => client.close());
    const target = { kind: 'peer' as const, address: new URL(files.url).host, peerId: files.peerId };

    const opened = await client.open(target, { path: `/collections/${answer.collection!.id}` });
    try {
      expect(opened.response.statusCode).toBe(200);
      const bytes = Buffer.concat(await opened.response.toArray());
      expect(bytes.toString('utf8')).toBe(EXPECTED);
      expect(collectionId(bytes)).toBe(answer.collection!.id);
    } finally {
      opened.release();
    }
    const listing = await client.json(target, { path: '/collections' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(listing).toMatchObject({ code: 'FORBIDDEN', details: { status: 403 } });
    const removal = await client.json(target, { method: 'DELETE', path: `/collections/${answer.collection!.id}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(removal).toMatchObject({ code: 'FORBIDDEN', details: { status: 403 } });
  });

  it('keeps collections across a restart, and gives a catalog made before collections its tables at open', async () => {
    const dataDir = join(tempDir(), 'data');
    const root = makeTree(tempDir(), 'album', TREE);
    const first = await startFilesPeer({ dataDir });
    const before = await share(first.url, root);
    await first.stop();

    const second = await startFilesPeer({ dataDir });
    expect((await collectionBytes(second.url, before.collection!.id)).bytes.toString('utf8')).toBe(EXPECTED);
    await second.stop();

    // An older catalog: files and shares, no collection tables (nor their trigger).
    const db = new Database(join(dataDir, 'catalog.db'));
    db.exec('DROP TRIGGER collection_gone_with_its_last_file; DROP TABLE collection_files; DROP TABLE collections;');
    db.close();
    const third = await startFilesPeer({ dataDir });
    expect((await listCollections(third.url)).total).toBe(0);
    const again = await share(third.url, root);
    expect(again.files.every((f) => !f.hashed)).toBe(true);
    expect(again.collection!.id).toBe(before.collection!.id);
    expect((await collectionBytes(third.url, before.collection!.id)).status).toBe(200);
  });
});
