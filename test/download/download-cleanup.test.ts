/**
 * A download that fails for good leaves nothing behind: when every source is banned for bad
 * data, the job is retried, then dead-lettered, and its partial file is deleted with it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startBadSource } from '../support/bad-sources.ts';
import { startDownloadPeer } from '../support/download-peer.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';

describe('a download that fails for good', () => {
  it('is dead-lettered and its partial file deleted', async () => {
    const source = await startFilesPeer({ chunkSize: '64KiB' });
    const { id } = (await (await upload(source.url, 'song.flac', randomBytes(300 * 1024))).json()) as { id: string };
    const liar = await startBadSource(source.url, { kind: 'corrupt' });
    const peer = await startDownloadPeer({ maxAttempts: 2 });
    const res = await fetch(`${peer.url}/downloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileId: id, name: 'song.flac', sources: [liar.source] }),
    });
    const { key } = (await res.json()) as { key: string };
    await expect
      .poll(async () => ((await (await fetch(`${peer.url}/downloads/${key}`)).json()) as { state: string }).state)
      .toBe('failed');
    expect(liar.requests).toBeGreaterThan(0); // the transfer began: its partial file was opened
    await expect
      .poll(async () => ((await (await fetch(`${peer.url}/dead-letters`)).json()) as unknown[]).length)
      .toBe(1);
    expect(existsSync(peer.downloadsDir) ? readdirSync(peer.downloadsDir) : []).toEqual([]);
  });
});
