/** The Download service end to end: API → queue → transfer → file in place and shared. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../../src/download/domain/progress.ts';
import { startBadSource } from '../support/bad-sources.ts';
import { followDownloads, requestDownload } from '../support/download-events.ts';
import { startDownloadPeer } from '../support/download-peer.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** A change without a body says it comes from a peershare client, as the command does. */
const CLIENT = { [CLIENT_HEADER]: 'test' };

async function seed(
  size = 1024 * 1024,
  chunkSize = '64KiB',
): Promise<{ url: string; source: string; id: string; data: Buffer }> {
  const source = await startFilesPeer({ chunkSize });
  const data = randomBytes(size);
  const { id } = (await (await upload(source.url, 'song.flac', data)).json()) as { id: string };
  return { url: source.url, source: source.source, id, data };
}

/** The first progress (from the SSE stream, snapshot included) that satisfies `until`. */
async function watch(url: string, until: (p: Progress) => boolean): Promise<Progress> {
  const events = await followDownloads(url);
  let hit: Progress | undefined;
  await events.until((latest) => (hit = [...latest.values()].find(until)) !== undefined);
  await events.close();
  return hit!;
}

describe('the Download service', () => {
  it('queues a request, streams progress, and ends with the verified file in place and shared', async () => {
    const source = await seed();
    const peer = await startDownloadPeer();
    const res = await requestDownload(peer.url, { fileId: source.id, name: 'song.flac', sources: [source.source] });
    expect(res.status).toBe(202);
    const { key } = (await res.json()) as Progress;
    const done = await watch(peer.url, (p) => p.key === key && p.state === 'done');
    expect(done).toMatchObject({ bytesDone: source.data.length, size: source.data.length });
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(source.data));
    // This peer is now a source of the file.
    const manifest = await fetch(`${peer.files.url}/files/${source.id}/manifest`);
    expect(manifest.status).toBe(200);
    expect(readdirSync(peer.downloadsDir).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('never overwrites a different file already at the name: it picks a free one', async () => {
    const source = await seed();
    const peer = await startDownloadPeer();
    mkdirSync(peer.downloadsDir, { recursive: true });
    writeFileSync(join(peer.downloadsDir, 'song.flac'), 'my own recording');
    const { key } = (await (
      await requestDownload(peer.url, { fileId: source.id, name: 'song.flac', sources: [source.source] })
    ).json()) as Progress;
    const done = await watch(peer.url, (p) => p.key === key && p.state === 'done');
    expect(done.finalPath).toBe(join(peer.downloadsDir, 'song (1).flac'));
    expect(readFileSync(join(peer.downloadsDir, 'song.flac'), 'utf8')).toBe('my own recording');
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(source.data));
  });

  it('treats the same file requested twice for the same folder as one download', async () => {
    const source = await seed();
    const peer = await startDownloadPeer();
    const body = { fileId: source.id, name: 'song.flac', sources: [source.source] };
    const [a, b] = await Promise.all([requestDownload(peer.url, body), requestDownload(peer.url, body)]);
    const keyA = ((await a.json()) as Progress).key;
    expect(((await b.json()) as Progress).key).toBe(keyA);
    await watch(peer.url, (p) => p.key === keyA && p.state === 'done');
    const again = (await (await requestDownload(peer.url, body)).json()) as Progress;
    expect(again.state).toBe('done');
    expect(readdirSync(peer.downloadsDir)).toEqual(['song.flac']);
  });

  it('lists a finished file the user has deleted as gone, and downloads it again when asked, instead of answering with the stale record', async () => {
    const source = await seed();
    const peer = await startDownloadPeer();
    const body = { fileId: source.id, name: 'song.flac', sources: [source.source] };
    const { key } = (await (await requestDownload(peer.url, body)).json()) as Progress;
    const first = await watch(peer.url, (p) => p.key === key && p.state === 'done');
    const listed = async () =>
      ((await (await fetch(`${peer.url}/downloads`)).json()) as Progress[]).find((p) => p.key === key);
    expect(await listed()).not.toHaveProperty('gone');
    rmSync(first.finalPath!);
    // The list says the file is gone, not only done.
    expect(await listed()).toMatchObject({ state: 'done', finalPath: first.finalPath, gone: true });
    const again = (await (await requestDownload(peer.url, body)).json()) as Progress;
    expect(again).toMatchObject({ key, state: 'queued', bytesDone: 0 });
    const second = await watch(peer.url, (p) => p.key === key && p.state === 'done');
    expect(sha256(readFileSync(second.finalPath!))).toBe(sha256(source.data));
  });

  it('does not download a second copy of a file this peer already shares, saying where it is, unless asked for a folder of its own', async () => {
    const source = await seed(1024 * 1024, '1MiB'); // the chunk size the peer hashes its own shares with: the same id
    const peer = await startDownloadPeer();
    const dir = mkdtempSync(join(tmpdir(), 'peershare-mine-'));
    writeFileSync(join(dir, 'mine.flac'), source.data);
    expect(
      (
        await fetch(`${peer.files.url}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: join(dir, 'mine.flac') }),
        })
      ).status,
    ).toBe(200);
    const body = { fileId: source.id, name: 'song.flac', sources: [source.source] };
    const refused = await requestDownload(peer.url, body);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({
      error: {
        code: 'ALREADY_SHARED',
        message: `this peer already shares file ${source.id} at ${join(dir, 'mine.flac')}: nothing downloaded; ask for another folder (--out DIR) to get a copy there`,
      },
    });
    expect(existsSync(peer.downloadsDir) ? readdirSync(peer.downloadsDir) : []).toEqual([]);
    // Asked for a folder of its own, the copy is made.
    const out = join(dir, 'copies');
    const { key } = (await (await requestDownload(peer.url, { ...body, outDir: out })).json()) as Progress;
    const done = await watch(peer.url, (p) => p.key === key && p.state === 'done');
    expect(done.finalPath).toBe(join(out, 'song.flac'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('dead-letters a malformed job with its reason and keeps consuming (TEST-PLAN 8)', async () => {
    const source = await seed();
    const peer = await startDownloadPeer();
    await peer.queue.publish('junk-1', Buffer.from('{"v":1,"fileId":"nope"}'));
    await peer.queue.publish('junk-2', Buffer.from('not json at all'));
    const res = await requestDownload(peer.url, { fileId: source.id, name: 'song.flac', sources: [source.source] });
    const { key } = (await res.json()) as Progress;
    await watch(peer.url, (p) => p.key === key && p.state === 'done');
    const dead = (await (await fetch(`${peer.url}/dead-letters`)).json()) as Array<{ reason: string }>;
    expect(dead.map((d) => d.reason).sort()).toEqual([
      expect.stringMatching(/malformed download job: fileId/),
      expect.stringMatching(/malformed download job: not JSON/),
    ]);
  });

  it('retries a file no source can serve with backoff, then dead-letters it saying why', async () => {
    const peer = await startDownloadPeer({ maxAttempts: 2 });
    const gone = await startFilesPeer();
    await gone.stop();
    const res = await requestDownload(peer.url, { fileId: 'f'.repeat(64), name: 'lost.bin', sources: [gone.source] });
    const { key } = (await res.json()) as Progress;
    const failed = await watch(peer.url, (p) => p.key === key && p.state === 'failed');
    expect(failed.error).toMatch(/file unavailable after 2 attempts/);
    const dead = (await (await fetch(`${peer.url}/dead-letters`)).json()) as Array<{
      reason: string;
      attempts: number;
    }>;
    expect(dead).toEqual([expect.objectContaining({ reason: expect.stringMatching(/after 2 attempts/) })]);
  });

  it('rejects a malformed request with a clear 400 and queues nothing', async () => {
    const peer = await startDownloadPeer();
    for (const body of [
      { fileId: 'x', name: 'a' },
      { fileId: 'a'.repeat(64), name: '../../x' },
      { fileId: 'a'.repeat(64), name: 'a', sources: ['ftp://x'] },
    ]) {
      const res = await requestDownload(peer.url, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    }
    expect(await peer.queue.depth()).toBe(0);
  });
});

describe('pausing, resuming and cancelling', () => {
  it('pauses a running download keeping its chunks, resumes it to completion, and cancels another removing its partial file', async () => {
    const source = await seed(2 * 1024 * 1024);
    const slow = await startBadSource(source.url, { kind: 'slow', delayMs: 40 });
    const peer = await startDownloadPeer();
    const { key } = (await (
      await requestDownload(peer.url, { fileId: source.id, name: 'song.flac', sources: [slow.source] })
    ).json()) as Progress;
    await watch(peer.url, (p) => p.key === key && p.bytesDone > 0);
    const paused = (await (
      await fetch(`${peer.url}/downloads/${key}/pause`, { method: 'POST', headers: CLIENT })
    ).json()) as Progress;
    expect(paused.state).toBe('paused');
    const kept = paused.bytesDone;
    expect(readdirSync(peer.downloadsDir).some((n) => n.endsWith('.part'))).toBe(true);

    const requestsBeforeResume = slow.requests;
    await fetch(`${peer.url}/downloads/${key}/resume`, { method: 'POST', headers: CLIENT });
    const done = await watch(peer.url, (p) => p.key === key && p.state === 'done');
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(source.data));
    // Chunks verified before the pause were not fetched again (64 KiB chunks, 32 in all).
    expect(slow.requests - requestsBeforeResume).toBeLessThanOrEqual(32 - Math.floor(kept / 65536) + 4);

    const other = await seed(2 * 1024 * 1024);
    const slow2 = await startBadSource(other.url, { kind: 'slow', delayMs: 40 });
    const second = (await (
      await requestDownload(peer.url, { fileId: other.id, name: 'other.bin', sources: [slow2.source] })
    ).json()) as Progress;
    await watch(peer.url, (p) => p.key === second.key && p.bytesDone > 0);
    const cancelled = (await (
      await fetch(`${peer.url}/downloads/${second.key}/cancel`, { method: 'POST', headers: CLIENT })
    ).json()) as Progress;
    expect(cancelled.state).toBe('cancelled');
    expect(readdirSync(peer.downloadsDir).filter((n) => n.includes(second.key))).toEqual([]);
    expect(readdirSync(peer.downloadsDir)).toEqual(['song.flac']);
  });
});
