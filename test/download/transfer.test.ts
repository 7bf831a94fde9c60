/** The transfer engine against real File Management sources on their own loopback addresses. */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FsDownloadFiles } from '../../src/download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../../src/download/adapters/http/http-chunk-source.ts';
import { Bitfield } from '../../src/download/domain/bitfield.ts';
import { runTransfer, type TransferEvent } from '../../src/download/domain/transfer.ts';
import type { Manifest } from '../../src/shared/content.ts';
import { startBadSource } from '../support/bad-sources.ts';
import { startFilesPeer, upload, type FilesPeer } from '../support/files-peer.ts';
import { newPeerTls } from '../support/peer-source.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** `n` File Management peers all holding the same random file, in 64 KiB chunks. */
async function swarm(
  n: number,
  size = 2 * 1024 * 1024,
): Promise<{ peers: FilesPeer[]; data: Buffer; manifest: Manifest }> {
  const data = randomBytes(size);
  const peers: FilesPeer[] = [];
  for (let i = 0; i < n; i++) {
    const peer = await startFilesPeer({ chunkSize: '64KiB' });
    await upload(peer.url, 'movie.mkv', data);
    peers.push(peer);
  }
  const id = ((await (await fetch(`${peers[0]!.url}/files`)).json()) as { items: Array<{ id: string }> }).items[0]!.id;
  const manifest = (await (await fetch(`${peers[0]!.url}/files/${id}/manifest`)).json()) as Manifest;
  return { peers, data, manifest };
}

async function download(
  manifest: Manifest,
  sources: string[],
  onEvent: (e: TransferEvent) => void = () => undefined,
  requestTimeoutMs = 10_000,
) {
  const dir = tempDir();
  const files = new FsDownloadFiles();
  const chunkSource = new HttpChunkSource(await newPeerTls());
  onTestFinished(() => chunkSource.close());
  const { partial } = await files.openPartial(dir, manifest.name, 'k'.repeat(32), manifest.size);
  const events: TransferEvent[] = [];
  try {
    await runTransfer({
      manifest,
      sources,
      chunkSource,
      partial,
      verified: new Bitfield(manifest.chunks.length),
      signal: new AbortController().signal,
      onEvent: (e) => {
        events.push(e);
        onEvent(e);
      },
      options: { requestTimeoutMs, syncEvery: 8 },
    });
    const path = await files.place(partial, dir, manifest.name, undefined, () => undefined);
    await files.dropPartial(partial);
    return { path, events, bytes: readFileSync(path) };
  } finally {
    await partial.close();
  }
}

function bytesBySource(events: TransferEvent[]): Map<string, number> {
  const by = new Map<string, number>();
  for (const e of events) if (e.type === 'chunk') by.set(e.source, (by.get(e.source) ?? 0) + e.bytes);
  return by;
}

describe('the transfer engine', () => {
  it('draws from all four sources and writes exactly the file', async () => {
    const { peers, data, manifest } = await swarm(4);
    const { bytes, events } = await download(
      manifest,
      peers.map((p) => p.source),
    );
    expect(sha256(bytes)).toBe(sha256(data));
    expect([...bytesBySource(events).keys()].sort()).toEqual(peers.map((p) => p.source).sort());
  });

  it('completes from the others when a source dies mid-transfer (TEST-PLAN 11)', async () => {
    // 128 chunks: far more than the 4 × 8 in flight at first, so the victim still has work when it dies.
    const { peers, data, manifest } = await swarm(4, 8 * 1024 * 1024);
    const victim = peers[1]!;
    let stopping: Promise<void> | undefined;
    const { bytes, events } = await download(
      manifest,
      peers.map((p) => p.source),
      (e) => {
        if (e.type === 'chunk' && e.source === victim.source) stopping ??= victim.stop();
      },
    );
    await stopping;
    expect(sha256(bytes)).toBe(sha256(data));
    expect(events.some((e) => e.type === 'source-failed' && e.source === victim.source)).toBe(true);
    expect(bytesBySource(events).get(victim.source)).toBeLessThan(data.length / 2);
  });

  it('bans a source that serves a corrupted chunk, writes no corrupted byte, keeps the honest ones (TEST-PLAN 27)', async () => {
    const { peers, data, manifest } = await swarm(3);
    const evil = await startBadSource(peers[0]!.url, { kind: 'corrupt' });
    const sources = [evil.source, ...peers.map((p) => p.source)];
    const { bytes, events } = await download(manifest, sources);
    expect(sha256(bytes)).toBe(sha256(data));
    const banned = events.filter((e) => e.type === 'source-banned').map((e) => (e as { source: string }).source);
    expect(banned).toEqual([evil.source]);
    expect(events.some((e) => e.type === 'source-failed')).toBe(false);
    // Each wrong chunk is reported (the /metrics chunk counter reads these), and only the evil source's.
    const failed = events.filter((e) => e.type === 'chunk-failed').map((e) => (e as { source: string }).source);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(new Set(failed)).toEqual(new Set([evil.source]));
  });

  it('cuts off a source that streams more than the range it announced, and bans it (TEST-PLAN 9)', async () => {
    const { peers, data, manifest } = await swarm(2);
    const liar = await startBadSource(peers[0]!.url, { kind: 'oversize' });
    const { bytes, events } = await download(manifest, [liar.source, peers[1]!.source]);
    expect(sha256(bytes)).toBe(sha256(data));
    expect(events.filter((e) => e.type === 'source-banned').map((e) => (e as { source: string }).source)).toEqual([
      liar.source,
    ]);
    // Chunks stream in and are verified one by one; the bytes past the declared length arrive
    // with the tail of the answer's last chunk, so that chunk is rejected with the lie.
    const fromLiar = new Set(events.flatMap((e) => (e.type === 'chunk' && e.source === liar.source ? [e.index] : [])));
    const lastChunks = liar.ranges.map(([, last]) => Math.floor(last / manifest.chunkSize));
    expect(lastChunks.length).toBeGreaterThan(0);
    for (const index of lastChunks) expect(fromLiar.has(index)).toBe(false);
    expect(bytes.length).toBe(data.length);
  });

  it('moves the chunks of a stalled source to the others (TEST-PLAN 17)', async () => {
    const { peers, data, manifest } = await swarm(2, 1024 * 1024);
    const staller = await startBadSource(peers[0]!.url, { kind: 'stall' });
    const { bytes, events } = await download(manifest, [staller.source, peers[1]!.source], undefined, 60_000);
    expect(sha256(bytes)).toBe(sha256(data));
    expect(staller.requests).toBeGreaterThan(0); // it was asked, and its chunks were fetched elsewhere
    expect(bytesBySource(events).get(staller.source) ?? 0).toBe(0);
  });

  it('drops a source whose requests time out, and fails when no other is left', async () => {
    const { peers, manifest } = await swarm(1, 256 * 1024);
    const staller = await startBadSource(peers[0]!.url, { kind: 'stall' });
    const events: TransferEvent[] = [];
    await expect(download(manifest, [staller.source], (e) => events.push(e), 200)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(
      events.some((e) => e.type === 'source-failed' && e.verdict === 'dropped' && e.reason === 'request stalled'),
    ).toBe(true);
  });

  it('gives up with UNAVAILABLE when every source is gone', async () => {
    const { peers, manifest } = await swarm(1, 256 * 1024);
    await peers[0]!.stop();
    await expect(download(manifest, [peers[0]!.source])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
