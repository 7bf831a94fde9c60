/**
 * A downloader killed with SIGKILL mid-transfer and restarted on the same data directory
 * resumes the job and completes it, fetching again no more than the chunks that were in flight
 * (TEST-PLAN 12). The downloader is a real `peershare start` process.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSFER_OPTIONS } from '../../src/download/domain/transfer.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startBadSource } from '../support/bad-sources.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

const CHUNK = 64 * 1024;
const IN_FLIGHT = DEFAULT_TRANSFER_OPTIONS.slotsPerSource; // chunks in flight per source
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function startPeerProcess(host: string, dataDir: string): Promise<ChildProcess> {
  return (await spawnPeer(['start', '--host', host, '--data', dataDir])).child;
}

describe('a downloader killed mid-transfer', () => {
  it('resumes after a restart, completes, and re-fetches at most the chunks in flight', async () => {
    const source = await startFilesPeer({ chunkSize: '64KiB' });
    const data = randomBytes(4 * 1024 * 1024);
    const { id } = (await (await upload(source.url, 'big.iso', data)).json()) as { id: string };
    const slow = await startBadSource(source.url, { kind: 'slow', delayMs: 25 });

    const host = nextLoopback();
    const dataDir = join(tempDir(), 'data');
    const api = `http://${host}:${DEFAULT_PORTS.downloadPort}`;
    const first = await startPeerProcess(host, dataDir);
    const res = await fetch(`${api}/downloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileId: id, name: 'big.iso', sources: [slow.url] }),
    });
    expect(res.status).toBe(202);
    await expect.poll(() => slow.bytes, { timeout: 20_000 }).toBeGreaterThanOrEqual(16 * CHUNK);
    first.kill('SIGKILL');
    await once(first, 'exit');
    const servedBeforeCrash = slow.bytes;
    expect(servedBeforeCrash).toBeLessThan(data.length); // really killed mid-transfer

    await startPeerProcess(host, dataDir);
    await expect
      .poll(async () => ((await (await fetch(`${api}/downloads`)).json()) as Array<{ state: string }>)[0]?.state, { timeout: 30_000 })
      .toBe('done');
    const [done] = (await (await fetch(`${api}/downloads`)).json()) as Array<{ finalPath: string }>;
    expect(sha256(readFileSync(done!.finalPath))).toBe(sha256(data));
    expect(readdirSync(join(dataDir, 'downloads'))).toEqual(['big.iso']); // no partial file left
    const refetched = slow.bytes - data.length;
    expect(refetched).toBeLessThanOrEqual(IN_FLIGHT * CHUNK);
  });
});
