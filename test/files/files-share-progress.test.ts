/**
 * Sharing with progress: File Management's POST /shares, asked for `text/event-stream`, reports
 * the bytes it hashes as it goes — rising counts that end at the totals — then the same result a
 * JSON answer carries. A path that cannot be shared is still an ordinary error answer, and a
 * share that is aborted stops between reads, keeping the files hashed before.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeLocalFiles } from '../../src/files/adapters/fs/node-local-files.ts';
import { FsBlobStore } from '../../src/files/adapters/fs/fs-blob-store.ts';
import { SqliteCatalog } from '../../src/files/adapters/sqlite/sqlite-catalog.ts';
import { FileManager, type ShareProgress, type ShareResult } from '../../src/files/domain/file-manager.ts';
import { postForEvents, readEventStream } from '../support/event-stream.ts';
import { startFilesPeer } from '../support/files-peer.ts';
import { tempDir } from '../support/temp.ts';

const KiB = 1024;

function folder(files: Record<string, Buffer>): string {
  const root = join(tempDir(), 'share');
  mkdirSync(root);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data);
  return root;
}

describe('sharing with progress', () => {
  it('streams rising byte counts that end at the total, then the result', async () => {
    const { url } = await startFilesPeer();
    const root = folder({ 'big.bin': randomBytes(3 * 1024 * KiB + 1000), 'small.txt': Buffer.from('a few bytes') });
    const total = 3 * 1024 * KiB + 1000 + 11;

    const events = await readEventStream<ShareProgress | ShareResult>(
      await postForEvents(`${url}/shares`, { path: root }),
    );
    expect(events.at(-1)!.event).toBe('result');
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as ShareProgress);
    expect(progress[0]).toEqual({ filesTotal: 2, filesDone: 0, bytesTotal: total, bytesDone: 0 });
    // A rising count for each 1 MiB chunk of the big file (4 of them), never one going back.
    const counts = progress.map((p) => p.bytesDone);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(new Set(counts).size).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toMatchObject({ filesTotal: 2, filesDone: 2, bytesTotal: total, bytesDone: total });
    const result = events.at(-1)!.data as ShareResult;
    expect(result.files.map((f) => [f.name, f.hashed])).toEqual([
      ['big.bin', true],
      ['small.txt', true],
    ]);

    // Shared again unchanged: nothing to hash, one report of nothing, the same ids.
    const again = await readEventStream<ShareProgress | ShareResult>(
      await postForEvents(`${url}/shares`, { path: root }),
    );
    expect(again.map((e) => e.event)).toEqual(['progress', 'result']);
    expect(again[0]!.data).toEqual({ filesTotal: 0, filesDone: 0, bytesTotal: 0, bytesDone: 0 });
    expect((again[1]!.data as ShareResult).files.map((f) => [f.id, f.hashed])).toEqual(
      result.files.map((f) => [f.id, false]),
    );
  });

  it('answers a path it cannot share with an error status, not a stream', async () => {
    const { url } = await startFilesPeer();
    const res = await postForEvents(`${url}/shares`, { path: join(tempDir(), 'missing') });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'INVALID_PATH' } });
  });

  it('stops hashing when the caller of a streamed share goes away', async () => {
    const { url, service } = await startFilesPeer();
    const root = join(tempDir(), 'share');
    mkdirSync(root);
    // 64 GiB of holes: minutes of hashing, made in no time, taking no disk.
    writeFileSync(join(root, 'huge.img'), '');
    truncateSync(join(root, 'huge.img'), 64 * 1024 * 1024 * KiB);
    const manager = service.manager;
    const share = manager.share.bind(manager);
    let running: Promise<ShareResult> | undefined;
    manager.share = (path, options) => (running = share(path, options));

    const caller = new AbortController();
    const res = await fetch(`${url}/shares`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ path: root }),
      signal: caller.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    while (!/"bytesDone":[1-9]/.test(seen)) seen += (await reader.read()).value ?? '';
    caller.abort();
    await expect(running).rejects.toThrow('the caller went away');
    expect(manager.list(undefined, 0, 10).total).toBe(0);
  });

  it('stops an aborted share between two reads; the files hashed before stay shared', async () => {
    const dir = tempDir();
    const catalog = new SqliteCatalog(join(dir, 'catalog.db'));
    const manager = new FileManager(
      { catalog, blobs: new FsBlobStore(dir), local: new NodeLocalFiles() },
      { chunkSize: 64 * KiB, maxUploadBytes: 1 << 30 },
    );
    const root = folder({ 'a.txt': Buffer.from('first'), 'b.bin': randomBytes(3 * 1024 * KiB) }); // read 1 MiB at a time
    const aborter = new AbortController();
    const onProgress = (p: ShareProgress) => {
      if (p.path?.endsWith('b.bin') && p.bytesDone > 5) aborter.abort(new Error('caller went away'));
    };
    await expect(manager.share(root, { onProgress, signal: aborter.signal })).rejects.toThrow('caller went away');
    expect(manager.list(undefined, 0, 10).items.map((f) => f.name)).toEqual(['a.txt']);
    catalog.close();
  });
});
