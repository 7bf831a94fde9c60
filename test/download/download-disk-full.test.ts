/**
 * A downloader whose data folder (and so its downloads) lies on a 20 MB tmpfs fetches a 30 MB
 * file (TEST-PLAN 15, 39): the download pauses with DISK_FULL and says so, `get --wait` ends
 * non-zero with that message, the peer keeps serving and starts again on the full disk, and
 * cancel deletes the partial file. A second case frees space and resumes: the verified chunks
 * are kept. The downloader is a real `peershare start` process; mounting needs root.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { startMeteredSource } from '../support/metered-source.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { runCommand } from '../support/run-command.ts';
import { freeBytes, isRoot, smallDisk } from '../support/small-disk.ts';

const MiB = 1024 * 1024;
/** Peer processes started one after the other, on a machine that may be busy. */
const PROCESS_TEST_MS = 120_000;
/** Room the databases may take while a cancel is recorded. */
const STATE_SLACK = 256 * 1024;

interface Listed {
  key: string;
  state: string;
  bytesDone: number;
  size?: number;
  error?: string;
  finalPath?: string;
}

async function startDownloader(host: string, dataDir: string, join?: string): Promise<ChildProcess> {
  return (await spawnPeer(['start', '--host', host, '--data', dataDir, ...(join ? ['--join', join] : [])])).child;
}

const downloads = async (host: string) =>
  (await (await fetch(`http://${host}:${DEFAULT_PORTS.downloadPort}/downloads`)).json()) as Listed[];
const post = (host: string, path: string, body?: unknown) =>
  fetch(`http://${host}:${DEFAULT_PORTS.downloadPort}${path}`, {
    method: 'POST',
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : { headers: { [CLIENT_HEADER]: '1' } }),
  });

describe.skipIf(!isRoot)('a download onto a full disk (needs root to mount a tmpfs)', () => {
  it(
    'pauses with DISK_FULL, get --wait fails with that message, the peer serves and restarts, cancel frees the space',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const source = await startFullPeer();
      const data = randomBytes(30 * MiB);
      const { id } = (await (await upload(source.files, 'big.iso', data)).json()) as { id: string };

      const disk = smallDisk(20 * MiB);
      const dataDir = join(disk, 'data');
      const host = nextLoopback();
      const first = await startDownloader(host, dataDir, source.host);
      let exited = false;
      first.once('exit', () => (exited = true));

      const got = await runCommand(['get', id, '--wait', '--api', host]);
      expect(got.code).not.toBe(0);
      expect(got.stderr).toMatch(
        /download paused: disk full while writing a download.*free some space, then resume it/,
      );
      const [paused] = await downloads(host);
      expect(paused).toMatchObject({ state: 'paused', size: data.length });
      expect(paused!.error).toMatch(/^disk full/);
      expect(paused!.bytesDone).toBeGreaterThan(0);
      expect(paused!.bytesDone).toBeLessThan(data.length);
      // The partial file holds what was verified; the disk keeps its reserve free.
      const partials = readdirSync(join(dataDir, 'downloads'));
      expect(partials).toHaveLength(1);
      expect(partials[0]).toMatch(/^\.[^/]*\.part$/);
      expect(statSync(join(dataDir, 'downloads', partials[0]!)).blocks * 512).toBeGreaterThanOrEqual(paused!.bytesDone);

      // Every service still answers.
      expect(exited).toBe(false);
      for (const port of [
        DEFAULT_PORTS.clientPort,
        DEFAULT_PORTS.filesPort,
        DEFAULT_PORTS.fetchPort,
        DEFAULT_PORTS.searchApiPort,
        DEFAULT_PORTS.downloadPort,
      ]) {
        expect((await fetch(`http://${host}:${port}/health`)).status).toBe(200);
      }

      // Killed and started again on the full disk, it comes up and the download stays paused.
      first.kill('SIGKILL');
      await once(first, 'exit').catch(() => undefined);
      const second = await startDownloader(host, dataDir);
      expect((await downloads(host))[0]).toMatchObject({
        key: paused!.key,
        state: 'paused',
        bytesDone: paused!.bytesDone,
      });
      expect(second.exitCode).toBe(null);

      // Cancel deletes the partial file and gives the space back (less what recording the state takes).
      const held = statSync(join(dataDir, 'downloads', partials[0]!)).blocks * 512;
      const before = freeBytes(disk);
      const cancelled = await post(host, `/downloads/${paused!.key}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(readdirSync(join(dataDir, 'downloads'))).toEqual([]);
      expect(freeBytes(disk) - before).toBeGreaterThanOrEqual(held - STATE_SLACK);
    },
  );

  it(
    'resumes once there is space again, keeping the chunks it had verified',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const source = await startFilesPeer({ chunkSize: '256KiB' });
      const data = randomBytes(6 * MiB);
      const { id } = (await (await upload(source.url, 'movie.mkv', data)).json()) as { id: string };
      const metered = await startMeteredSource(source.url);

      const disk = smallDisk(20 * MiB);
      const dataDir = join(disk, 'data');
      const host = nextLoopback();
      await startDownloader(host, dataDir);
      // Leave the download about 3 MiB beyond the reserve (and the databases' room).
      const filler = join(disk, 'filler');
      writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(disk) - 8 * MiB - 3 * MiB)));

      const res = await post(host, '/downloads', { fileId: id, name: 'movie.mkv', sources: [metered.source] });
      expect(res.status).toBe(202);
      const { key } = (await res.json()) as Listed;
      await expect.poll(async () => (await downloads(host))[0]?.state, { timeout: 60_000 }).toBe('paused');
      const [paused] = await downloads(host);
      expect(paused!.error).toMatch(/^disk full/);
      expect(paused!.bytesDone).toBeGreaterThan(0);
      const fetchedBefore = metered.bytes;

      rmSync(filler);
      expect((await post(host, `/downloads/${key}/resume`)).status).toBe(200);
      await expect.poll(async () => (await downloads(host))[0]?.state, { timeout: 60_000 }).toBe('done');
      const [done] = await downloads(host);
      expect(done!.error).toBeUndefined();
      expect(readdirSync(join(dataDir, 'downloads'))).toEqual(['movie.mkv']);
      // The chunks verified before the pause were not fetched again.
      expect(metered.bytes - fetchedBefore).toBeLessThanOrEqual(data.length - paused!.bytesDone);
    },
  );
});
