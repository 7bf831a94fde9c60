/**
 * Whole peers, every service in one process each, on their own loopback addresses: join through
 * a known peer, find a file by searching the overlay, download it from the peers that hold it,
 * and become a source of it — the four data flows across all five services' ports.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startFullPeer } from '../support/full-peer.ts';
import { upload } from '../support/files-peer.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;

describe('whole peers', () => {
  it('join, search the overlay, download from every holder, and become a source', async () => {
    const a = await startFullPeer();
    const b = await startFullPeer({ join: `${a.host}` });
    const c = await startFullPeer({ join: `${b.host}` });

    // Membership converges: everyone knows everyone, through one known peer each.
    for (const p of [a, b, c]) {
      await expect
        .poll(async () => (await json<{ total: number }>(fetch(`${p.fetch}/peers?state=alive`))).total, {
          timeout: 20_000,
        })
        .toBe(2);
    }

    const data = randomBytes(3 * 1024 * 1024 + 123);
    const posted = await json<{ id: string }>(upload(a.files, 'Lecture — Élan vital.mp4', data));
    await upload(b.files, 'elan-vital-copy.mp4', data);

    // Search from C finds both holders through the overlay (links come from Fetch).
    await expect
      .poll(
        async () =>
          (
            await json<{ hits: Array<{ holderPeerId: string }> }>(
              fetch(`${c.search}/search?q=elan+vital&wait=1&timeout=1500`),
            )
          ).hits.length,
        { timeout: 20_000 },
      )
      .toBe(2);

    // Fetch's availability map lists both holders, so a download by id needs no sources.
    await expect
      .poll(async () => (await json<{ sources: unknown[] }>(fetch(`${c.fetch}/sources/${posted.id}`))).sources.length, {
        timeout: 20_000,
      })
      .toBe(2);
    const queued = await json<{ key: string }>(
      fetch(`${c.download}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileId: posted.id, name: 'lecture.mp4' }),
      }),
    );
    await expect
      .poll(
        async () =>
          (await json<Array<{ key: string; state: string }>>(fetch(`${c.download}/downloads`))).find(
            (d) => d.key === queued.key,
          )?.state,
        { timeout: 20_000 },
      )
      .toBe('done');
    const [done] = await json<Array<{ finalPath: string }>>(fetch(`${c.download}/downloads`));
    expect(sha256(readFileSync(done!.finalPath))).toBe(sha256(data));

    // C now serves the file too, and A learns that C holds it.
    expect((await fetch(`${c.files}/files/${posted.id}/manifest`)).status).toBe(200);
    await expect
      .poll(async () => (await json<{ sources: unknown[] }>(fetch(`${a.fetch}/sources/${posted.id}`))).sources.length, {
        timeout: 20_000,
      })
      .toBe(2);
  });
});
