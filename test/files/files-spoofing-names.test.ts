/**
 * Names that can pose as another (bidi overrides, zero-width and control characters) are refused
 * at upload and share with INVALID_NAME; a catalog written before that rule still opens, lists
 * and serves them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { describe, expect, it } from 'vitest';
import { NodeLocalFiles } from '../../src/files/adapters/fs/node-local-files.ts';
import { SqliteCatalog } from '../../src/files/adapters/sqlite/sqlite-catalog.ts';
import { hashBytes } from '../../src/shared/content.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { tempDir } from '../support/temp.ts';

/** Shows as "invoiceexe.txt" in a left-to-right listing. */
const SPOOFED = 'invoice\u202Etxt.exe';

interface ShareResult {
  files: Array<{ id: string; name: string }>;
  skipped: Array<{ path: string; code: string; reason: string }>;
}

async function share(url: string, path: string): Promise<ShareResult> {
  const res = await fetch(`${url}/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ShareResult;
}

async function listed(url: string): Promise<Array<{ id: string; name: string }>> {
  return ((await (await fetch(`${url}/files`)).json()) as { items: Array<{ id: string; name: string }> }).items;
}

describe('names that can spoof another', () => {
  it.each([
    ['a right-to-left override', SPOOFED],
    ['a zero-width space', 'report\u200B.pdf'],
    ['a right-to-left isolate', 'a\u2067b.txt'],
    ['a byte order mark', '\uFEFFnotes.txt'],
    ['a C1 control', 'a\u009Bb.txt'],
  ])('refuses an upload named with %s: 400 INVALID_NAME, nothing listed', async (_label, name) => {
    const peer = await startFilesPeer();
    const res = await upload(peer.url, name, 'payload');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_NAME');
    expect(await listed(peer.url)).toEqual([]);
  });

  it('skips such a file when sharing a folder in place, with INVALID_NAME, and shares the rest', async () => {
    const peer = await startFilesPeer();
    const root = join(tempDir(), 'docs');
    mkdirSync(root);
    writeFileSync(join(root, SPOOFED), 'spoof');
    writeFileSync(join(root, 'a\u200Eb.txt'), 'mark');
    writeFileSync(join(root, 'plain.txt'), 'plain');

    const result = await share(peer.url, root);
    expect(result.files.map((f) => f.name)).toEqual(['plain.txt']);
    expect(result.skipped.map((s) => [s.path, s.code]).sort()).toEqual([
      [join(root, 'a\u200Eb.txt'), 'INVALID_NAME'],
      [join(root, SPOOFED), 'INVALID_NAME'],
    ]);
    // Shared by its own path, too.
    expect((await share(peer.url, join(root, SPOOFED))).skipped.map((s) => s.code)).toEqual(['INVALID_NAME']);
    expect((await listed(peer.url)).map((f) => f.name)).toEqual(['plain.txt']);
  });

  it('opens a catalog written under the old rules: such files stay listed and served, a new share of one is skipped, unshare works', async () => {
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir);
    const root = join(tempDir(), 'old');
    mkdirSync(root);
    const path = join(root, SPOOFED);
    writeFileSync(path, 'shared by an older peershare');
    // The rows the previous version wrote when it shared this file in place (its rules let it pass).
    const old = new SqliteCatalog(join(dataDir, 'catalog.db'));
    const content = hashBytes(Buffer.from('shared by an older peershare'));
    old.addShare(
      {
        content,
        type: 'application/octet-stream',
        name: SPOOFED,
        origin: 'local',
        path,
        stamp: await new NodeLocalFiles().stamp(path),
      },
      Date.now(),
    );
    old.close();

    const peer = await startFilesPeer({ dataDir });
    expect(await listed(peer.url)).toEqual([expect.objectContaining({ id: content.id, name: SPOOFED })]);
    const served = await fetch(`${peer.url}/files/${content.id}/content`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-disposition')).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent(SPOOFED)}`,
    );
    expect(await served.text()).toBe('shared by an older peershare');

    // Sharing it again refuses the name and leaves the old row as it was.
    expect((await share(peer.url, path)).skipped.map((s) => s.code)).toEqual(['INVALID_NAME']);
    expect((await listed(peer.url)).map((f) => f.id)).toEqual([content.id]);

    expect(
      (await fetch(`${peer.url}/files/${content.id}`, { method: 'DELETE', headers: { [CLIENT_HEADER]: '1' } })).status,
    ).toBe(204);
    expect(await listed(peer.url)).toEqual([]);
  });
});
