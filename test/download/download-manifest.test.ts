/**
 * The manifest step of a download against real sockets: sources that never answer, answer
 * late, or forge the manifest; and a peer whose every download slot is taken by such jobs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../../src/download/domain/progress.ts';
import { startBadSource, startSilentSource } from '../support/bad-sources.ts';
import { followDownloads, requestDownload } from '../support/download-events.ts';
import { startDownloadPeer } from '../support/download-peer.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const never = new Promise<void>(() => undefined);

async function seed(size = 512 * 1024): Promise<{ url: string; source: string; id: string; data: Buffer }> {
  const source = await startFilesPeer({ chunkSize: '64KiB' });
  const data = randomBytes(size);
  const { id } = (await (await upload(source.url, 'song.flac', data)).json()) as { id: string };
  return { url: source.url, source: source.source, id, data };
}

async function request(peerUrl: string, body: { fileId: string; name: string; sources: string[] }): Promise<string> {
  const res = await requestDownload(peerUrl, body);
  expect(res.status).toBe(202);
  return ((await res.json()) as Progress).key;
}

/** The first progress of download `key` (from the SSE stream, snapshot included) that satisfies `until`. */
async function watch(url: string, key: string, until: (p: Progress) => boolean): Promise<Progress> {
  const events = await followDownloads(url);
  await events.until((latest) => {
    const p = latest.get(key);
    return p !== undefined && until(p);
  });
  await events.close();
  return events.latest.get(key)!;
}

describe('getting the manifest of a download', () => {
  it('gives a source that accepts the connection and never answers a deadline: the download fails UNAVAILABLE saying so (TEST-PLAN 40)', async () => {
    const silent = await startSilentSource();
    const peer = await startDownloadPeer({ maxAttempts: 2, manifest: { timeoutMs: 300 } });
    const key = await request(peer.url, { fileId: 'e'.repeat(64), name: 'lost.bin', sources: [silent.source] });
    const failed = await watch(peer.url, key, (p) => p.state === 'failed');
    expect(failed.error).toMatch(
      /^file unavailable after 2 attempts: no source answered with the manifest of e{64} \(\S+@\S+: no manifest within 300 ms\)$/,
    );
    expect(silent.connections).toBe(2); // one per attempt
  });

  it('asks several sources at once: the fast verified answer wins while a slow source still holds its manifest, which is then abandoned (TEST-PLAN 17)', async () => {
    const file = await seed();
    const slow = await startBadSource(file.url, { kind: 'held-manifest', until: never });
    const peer = await startDownloadPeer(); // the default deadline, far longer than this download
    const key = await request(peer.url, { fileId: file.id, name: 'song.flac', sources: [slow.source, file.source] });
    const done = await watch(peer.url, key, (p) => p.state === 'done');
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(file.data));
    expect(slow.manifests).toBe(1);
    await slow.manifestAbandoned; // the loser's request was aborted, not left open
  });

  it('refuses a forged manifest that arrives first, uses the honest one, and asks the forger for no byte', async () => {
    const file = await seed();
    const silent = await startSilentSource();
    const forger = await startBadSource(file.url, { kind: 'forged-manifest' });
    let refused!: () => void;
    const honest = await startBadSource(file.url, {
      kind: 'held-manifest',
      until: new Promise<void>((r) => (refused = r)),
    });
    const peer = await startDownloadPeer();
    // The honest source answers only once the forged manifest was refused.
    peer.download.manager.events.on('event', (e: Record<string, unknown>) => {
      if (e.type === 'source-failed' && e.source === forger.source) refused();
    });
    const key = await request(peer.url, {
      fileId: file.id,
      name: 'song.flac',
      sources: [silent.source, forger.source, honest.source],
    });
    const done = await watch(peer.url, key, (p) => p.state === 'done');
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(file.data));
    expect(forger.manifests).toBe(1);
    expect(forger.requests).toBe(0); // left out of the transfer
    expect(honest.requests).toBeGreaterThan(0);
  });
});

describe('download slots', () => {
  it('three jobs stalled on sources that never answer do not keep a fourth from completing (maxDownloads=3); they end UNAVAILABLE and wait out their backoff (TEST-PLAN 40)', async () => {
    const file = await seed();
    const silent = await startSilentSource();
    const peer = await startDownloadPeer(
      { maxAttempts: 5, retryBaseMs: 60_000, retryMaxMs: 60_000, manifest: { timeoutMs: 2_000 } },
      undefined,
      3,
    );
    const stalled: string[] = [];
    for (const c of 'abc')
      stalled.push(await request(peer.url, { fileId: c.repeat(64), name: `${c}.bin`, sources: [silent.source] }));
    await silent.open(3); // every slot is taken by a job waiting on the silent source
    const healthy = await request(peer.url, { fileId: file.id, name: 'song.flac', sources: [file.source] });

    const events = await followDownloads(peer.url);
    await events.until((latest) => latest.get(healthy)?.state === 'done');
    const latest = [...events.latest.values()];
    expect(latest.filter((p) => p.state === 'done').map((p) => p.key)).toEqual([healthy]);
    for (const key of stalled) {
      await events.until((l) => /retrying/.test(l.get(key)?.error ?? ''));
      expect(events.latest.get(key)).toMatchObject({
        state: 'queued',
        error: expect.stringMatching(
          /^attempt 1 failed: no source answered with the manifest of [abc]{64} \(\S+@\S+: no manifest within 2000 ms\); retrying in 60000 ms$/,
        ),
      });
    }
  });
});
