/**
 * A downloader killed with SIGKILL mid-transfer and restarted on the same data directory
 * resumes the job and completes it, fetching again no more than the chunks that were in flight
 * (TEST-PLAN 12): the source lets a known number of bytes through, the kill comes once every
 * whole chunk among them is recorded, and only the chunk each answer was in the middle of is
 * fetched again. The downloader is a real `peershare start` process.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSFER_OPTIONS } from '../../src/download/domain/transfer.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startMeteredSource } from '../support/metered-source.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

const CHUNK = 64 * 1024;
const SLOTS = DEFAULT_TRANSFER_OPTIONS.slotsPerSource; // range requests in flight per source
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function startPeerProcess(host: string, dataDir: string): Promise<ChildProcess> {
  return (await spawnPeer(['start', '--host', host, '--data', dataDir])).child;
}

describe('a downloader killed mid-transfer', () => {
  it('resumes after a restart, completes, and re-fetches at most the chunks in flight', async () => {
    const source = await startFilesPeer({ chunkSize: '64KiB' });
    const data = randomBytes(4 * 1024 * 1024);
    const { id } = (await (await upload(source.url, 'big.iso', data)).json()) as { id: string };
    const metered = await startMeteredSource(source.url);
    metered.limit(Math.floor(16.5 * CHUNK)); // the transfer stops mid-chunk, somewhere in its answers

    const host = nextLoopback();
    const dataDir = join(tempDir(), 'data');
    const api = `http://${host}:${DEFAULT_PORTS.downloadPort}`;
    const first = await startPeerProcess(host, dataDir);
    const res = await fetch(`${api}/downloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileId: id, name: 'big.iso', sources: [metered.source] }),
    });
    expect(res.status).toBe(202);
    await metered.spent();
    // Every chunk that arrived whole is verified and recorded before the kill; what is lost is
    // the part of a chunk each answer was in the middle of: the chunks in flight.
    for (const a of metered.answers) expect(a.start % CHUNK).toBe(0);
    const whole = metered.answers.reduce((n, a) => n + Math.floor(a.sent / CHUNK), 0);
    const inFlight = metered.answers.reduce((n, a) => n + (a.sent % CHUNK), 0);
    expect(metered.answers.length).toBeLessThanOrEqual(SLOTS);
    const bytesDone = async () =>
      ((await (await fetch(`${api}/downloads`)).json()) as Array<{ bytesDone: number }>)[0]?.bytesDone;
    await expect.poll(bytesDone, { timeout: 20_000 }).toBe(whole * CHUNK);
    first.kill('SIGKILL');
    await once(first, 'exit');
    const servedBeforeCrash = metered.bytes;
    expect(servedBeforeCrash).toBeLessThan(data.length); // really killed mid-transfer
    await metered.settled(); // the proxy has seen the killed process's connections close
    metered.unlimit();

    await startPeerProcess(host, dataDir);
    await expect
      .poll(async () => ((await (await fetch(`${api}/downloads`)).json()) as Array<{ state: string }>)[0]?.state, {
        timeout: 30_000,
      })
      .toBe('done');
    const [done] = (await (await fetch(`${api}/downloads`)).json()) as Array<{ finalPath: string }>;
    expect(sha256(readFileSync(done!.finalPath))).toBe(sha256(data));
    expect(readdirSync(join(dataDir, 'downloads'))).toEqual(['big.iso']); // no partial file left
    const refetched = metered.bytes - data.length;
    expect(refetched).toBeLessThanOrEqual(inFlight);
    expect(inFlight).toBeLessThan(SLOTS * CHUNK);
  });
});
