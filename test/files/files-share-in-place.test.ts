/** Sharing files and folders in place: no copy, no re-hash when unchanged, changes and escapes noticed. */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFilesPeer } from '../support/files-peer.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

interface ShareResult {
  files: Array<{ id: string; name: string; path: string; size: number; hashed: boolean }>;
  skipped: Array<{ path: string; code: string; reason: string }>;
}

async function share(url: string, path: string): Promise<{ status: number; body: ShareResult }> {
  const res = await fetch(`${url}/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  });
  return { status: res.status, body: (await res.json()) as ShareResult };
}

/** A folder to share, with a secret file beside it that a symlink inside tries to reach. */
function makeFolder(): { root: string; secret: string } {
  const base = tempDir();
  const root = join(base, 'music');
  mkdirSync(join(root, 'album'), { recursive: true });
  writeFileSync(join(root, 'intro.mp3'), 'intro bytes');
  writeFileSync(join(root, 'album', 'Track Ünø.flac'), 'track one bytes');
  const secret = join(base, 'secret.txt');
  writeFileSync(secret, 'TOP SECRET');
  symlinkSync(secret, join(root, 'leak.txt'));
  symlinkSync(join(root, 'intro.mp3'), join(root, 'alias.mp3'));
  return { root, secret };
}

describe('sharing in place', () => {
  it('shares every file of a folder without copying, skipping a symlink that leads outside it', async () => {
    const { url, dataDir } = await startFilesPeer();
    const { root } = makeFolder();
    const { status, body } = await share(url, root);
    expect(status).toBe(200);
    const names = body.files.map((f) => f.name).sort();
    expect(names).toEqual(['Track Ünø.flac', 'intro.mp3']); // alias.mp3 resolves to intro.mp3: listed once
    expect(body.skipped).toEqual([
      { path: join(root, 'leak.txt'), code: 'PATH_OUTSIDE_SHARE', reason: expect.any(String) },
    ]);

    const track = body.files.find((f) => f.name === 'Track Ünø.flac')!;
    expect(track.id).toBe(sha256(Buffer.from(sha256('track one bytes'), 'hex')));
    expect(await (await fetch(`${url}/files/${track.id}/content`)).text()).toBe('track one bytes');
    const secretId = sha256(Buffer.from(sha256('TOP SECRET'), 'hex'));
    expect((await fetch(`${url}/files/${secretId}/content`)).status).toBe(404);

    const found = (await (await fetch(`${url}/files?q=track+uno`)).json()) as {
      items: Array<{ id: string; paths?: string[] }>;
    };
    expect(found.items.map((f) => f.id)).toEqual([track.id]);
    expect(found.items[0]!.paths).toEqual([join(root, 'album', 'Track Ünø.flac')]);
    expect(readdirSync(join(dataDir, 'store'))).toEqual([]); // nothing copied
  });

  it('does not hash an unchanged file again, and notices a changed one', async () => {
    const { url } = await startFilesPeer();
    const { root } = makeFolder();
    const first = await share(url, root);
    expect(first.body.files.every((f) => f.hashed)).toBe(true);
    const again = await share(url, root);
    expect(again.body.files.every((f) => !f.hashed)).toBe(true);

    const intro = join(root, 'intro.mp3');
    const oldId = first.body.files.find((f) => f.path === intro)!.id;
    appendFileSync(intro, ' and more');
    const changed = await share(url, intro);
    expect(changed.body.files).toEqual([expect.objectContaining({ path: intro, hashed: true })]);
    expect(changed.body.files[0]!.id).not.toBe(oldId);
    expect((await fetch(`${url}/files/${oldId}`)).status).toBe(404);
    expect(await (await fetch(`${url}/files/${changed.body.files[0]!.id}/content`)).text()).toBe(
      'intro bytes and more',
    );
  });

  it('refuses to serve a file edited after it was shared (same size, new mtime) as the old content', async () => {
    const { url } = await startFilesPeer();
    const dir = tempDir();
    const path = join(dir, 'doc.txt');
    writeFileSync(path, 'version one');
    const { body } = await share(url, path);
    const id = body.files[0]!.id;
    writeFileSync(path, 'version two');
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    const res = await fetch(`${url}/files/${id}/content`);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FILE_CHANGED');
    expect((await fetch(`${url}/files/${id}`)).status).toBe(404); // dropped from the catalog
  });

  it('never serves bytes from outside when a shared file is swapped for a symlink', async () => {
    const { url } = await startFilesPeer();
    const { root, secret } = makeFolder();
    const { body } = await share(url, root);
    const intro = join(root, 'intro.mp3');
    const id = body.files.find((f) => f.path === intro)!.id;
    renameSync(intro, join(root, 'moved.mp3'));
    symlinkSync(secret, intro);
    const res = await fetch(`${url}/files/${id}/content`);
    const text = await res.text();
    expect(text).not.toContain('TOP SECRET');
    expect(res.status).toBe(409);
  });
});
