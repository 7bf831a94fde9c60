/**
 * Downloads between peers over TLS 1.3, pinned to the peer id each source names: the bytes on
 * the wire are ciphertext (a relay between two whole peers records none of the file), a source
 * whose certificate proves another id than the one it is named with is dropped before it is
 * asked for anything, and jobs an earlier release queued (http:// sources, no id) still complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SqliteJobQueue } from '../../src/download/adapters/embedded-queue/sqlite-job-queue.ts';
import type { Progress } from '../../src/download/domain/progress.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { startBadSource } from '../support/bad-sources.ts';
import { followDownloads, requestDownload } from '../support/download-events.ts';
import { startDownloadPeer } from '../support/download-peer.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * A TCP relay on its own loopback address in front of `target` (host:port) that forwards every
 * byte both ways and looks for `samples` in what passes (across reads), as a capture would.
 */
async function startRecordingRelay(
  target: string,
  samples: Buffer[],
): Promise<{ address: string; readonly bytes: number; readonly found: number }> {
  const host = nextLoopback();
  const [targetHost, targetPort] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  const keep = Math.max(...samples.map((s) => s.length)) - 1;
  let bytes = 0;
  let found = 0;
  const sockets = new Set<Socket>();
  const record = () => {
    let tail = Buffer.alloc(0);
    return (data: Buffer) => {
      bytes += data.length;
      const window = Buffer.concat([tail, data]);
      for (const sample of samples) if (window.includes(sample)) found++;
      tail = Buffer.from(window.subarray(Math.max(0, window.length - keep)));
    };
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', record());
    upstream.on('data', record());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, host);
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return {
    address: `${host}:${(server.address() as { port: number }).port}`,
    get bytes() {
      return bytes;
    },
    get found() {
      return found;
    },
  };
}

describe('downloads over TLS', () => {
  it(
    'two whole peers exchange a 100 MiB file over TLS: a relay between them carries it and records none of its bytes',
    { timeout: 180_000 },
    async () => {
      const source = await startFullPeer();
      const downloader = await startFullPeer();
      const data = randomBytes(100 * MiB);
      const path = join(tempDir(), 'lecture.mkv');
      writeFileSync(path, data);
      const shared = (await (
        await fetch(`${source.files}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path }),
        })
      ).json()) as { files: Array<{ id: string }> };
      const fileId = shared.files[0]!.id;
      // Distinctive 64-byte pieces of the file: its first, one in the middle, its last.
      const samples = [
        data.subarray(0, 64),
        data.subarray(50 * MiB + 7, 50 * MiB + 71),
        data.subarray(data.length - 64),
      ];
      const relay = await startRecordingRelay(`${source.host}:${DEFAULT_PORTS.filesPort}`, samples);
      // The recorder sees clear bytes when there are any: this host's own plaintext read of the first 64.
      const clear = await fetch(`http://${relay.address}/files/${fileId}/content`, {
        headers: { range: 'bytes=0-63' },
      });
      expect(Buffer.from(await clear.arrayBuffer()).equals(samples[0]!)).toBe(true);
      expect(relay.found).toBe(1);
      const before = relay.bytes;

      const events = await followDownloads(downloader.download);
      const res = await requestDownload(downloader.download, {
        fileId,
        name: 'lecture.mkv',
        sources: [`${source.context.identity.peerId}@${relay.address}`],
      });
      expect(res.status).toBe(202);
      const { key } = (await res.json()) as Progress;
      await events.until((latest) => ['done', 'failed'].includes(latest.get(key)?.state ?? ''));
      const done = events.latest.get(key)!;
      expect(done).toMatchObject({ state: 'done', bytesDone: data.length });
      expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(data));

      expect(relay.bytes - before).toBeGreaterThan(data.length); // the whole file went through the relay...
      expect(relay.found).toBe(1); // ...and none of it in clear (the one find is the plaintext read above)
    },
  );

  it('drops a source named with the id of another peer than the one at its address: nothing is asked of it, the honest source serves the file', async () => {
    const holder = await startFilesPeer({ chunkSize: '64KiB' });
    const data = randomBytes(MiB);
    const { id } = (await (await upload(holder.url, 'song.flac', data)).json()) as { id: string };
    const impostor = await startBadSource(holder.url, { kind: 'slow', delayMs: 0 }); // an honest copy, with an identity of its own
    const named = await startFilesPeer(); // the peer the forged source names
    const forged = `${named.peerId}@${impostor.peer.host}:${impostor.peer.port}`;
    const peer = await startDownloadPeer();
    const refused: Array<Record<string, unknown>> = [];
    peer.download.manager.events.on(
      'event',
      (e: Record<string, unknown>) => void (e.type === 'source-refused' && refused.push(e)),
    );

    const events = await followDownloads(peer.url);
    const res = await requestDownload(peer.url, { fileId: id, name: 'song.flac', sources: [forged, holder.source] });
    const { key } = (await res.json()) as Progress;
    await events.until((latest) => ['done', 'failed'].includes(latest.get(key)?.state ?? ''));
    const done = events.latest.get(key)!;
    expect(done.state).toBe('done');
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(data));
    expect(refused).toEqual([
      expect.objectContaining({
        source: forged,
        code: 'PEER_ID_MISMATCH',
        reason: expect.stringContaining(`expected peer ${named.peerId} but the peer proved ${impostor.peer.peerId}`),
      }),
    ]);
    expect(impostor.manifests + impostor.requests).toBe(0); // not a request: the handshake failed the check first
  });

  it('fails a download whose only source is named with another id, saying why, without dialling that address again', async () => {
    const holder = await startFilesPeer({ chunkSize: '64KiB' });
    const { id } = (await (await upload(holder.url, 'song.flac', randomBytes(256 * 1024))).json()) as { id: string };
    const impostor = await startBadSource(holder.url, { kind: 'slow', delayMs: 0 });
    const named = await startFilesPeer();
    const forged = `${named.peerId}@${impostor.peer.host}:${impostor.peer.port}`;
    const peer = await startDownloadPeer({ maxAttempts: 3 });
    const events = await followDownloads(peer.url);
    const { key } = (await (
      await requestDownload(peer.url, { fileId: id, name: 'song.flac', sources: [forged] })
    ).json()) as Progress;
    await events.until((latest) => latest.get(key)?.state === 'failed');
    expect(events.latest.get(key)!.error).toMatch(
      new RegExp(
        `^file unavailable after 3 attempts: no source left for ${id}: ${forged}: .*expected peer ${named.peerId} but the peer proved ${impostor.peer.peerId}`,
      ),
    );
    expect(impostor.peer.connections).toBe(1); // dialled once, on the first attempt; never again
    expect(impostor.manifests + impostor.requests).toBe(0);
  });

  it(
    'completes a job an earlier release queued (version 1: http:// sources, no peer id) from the sources Fetch knows now',
    { timeout: 60_000 },
    async () => {
      const holder = await startFullPeer();
      const downloader = await startFullPeer({ join: holder.host });
      const data = randomBytes(2 * MiB + 5);
      const { id } = (await (await upload(holder.files, 'notes.pdf', data)).json()) as { id: string };
      await expect
        .poll(
          async () =>
            ((await (await fetch(`${downloader.fetch}/sources/${id}`)).json()) as { sources: unknown[] }).sources
              .length,
          { timeout: 20_000 },
        )
        .toBe(1);

      // What the earlier release put in the queue, byte for byte in its format.
      const oldJob = {
        v: 1,
        fileId: id,
        name: 'notes.pdf',
        sources: [`http://${holder.host}:${DEFAULT_PORTS.filesPort}`],
        requestedAt: Date.now(),
      };
      const events = await followDownloads(downloader.download);
      const queue = new SqliteJobQueue({ file: join(downloader.dataDir, 'download-queue.db'), logger: silentLogger() });
      await queue.start();
      try {
        await queue.publish('old-release-job', Buffer.from(JSON.stringify(oldJob)));
      } finally {
        await queue.stop();
      }
      await events.until((latest) =>
        [...latest.values()].some((p) => p.fileId === id && ['done', 'failed'].includes(p.state)),
      );
      const done = [...events.latest.values()].find((p) => p.fileId === id)!;
      expect(done.state).toBe('done');
      expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(data));
    },
  );
});
