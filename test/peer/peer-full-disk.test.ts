/**
 * A peer whose data folder lies on a small tmpfs that something else filled to the last byte
 * while the peer was stopped: it releases its reserve file, starts, answers on every service and
 * records state; the reserve comes back at a later start once there is room. A data folder with
 * no reserve to release fails to start with one line naming the file and why. Real `peershare
 * start` processes; mounting needs root.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { describe, expect, it } from 'vitest';
import { RESERVE_BYTES, RESERVE_FILE } from '../../src/peer/disk-reserve.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { runCommand } from '../support/run-command.ts';
import { fillDisk, freeBytes, isRoot, smallDisk } from '../support/small-disk.ts';

const MiB = 1024 * 1024;
/** Several peer processes started one after the other, on a machine that may be busy. */
const PROCESS_TEST_MS = 120_000;
const SERVICE_PORTS = [
  DEFAULT_PORTS.clientPort,
  DEFAULT_PORTS.filesPort,
  DEFAULT_PORTS.fetchPort,
  DEFAULT_PORTS.searchApiPort,
  DEFAULT_PORTS.downloadPort,
];

interface Listed {
  key: string;
  state: string;
}

const downloadsUrl = (host: string) => `http://${host}:${DEFAULT_PORTS.downloadPort}/downloads`;
const downloads = async (host: string) => (await (await fetch(downloadsUrl(host))).json()) as Listed[];
const post = (url: string, body?: unknown) =>
  fetch(url, {
    method: 'POST',
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : { headers: { [CLIENT_HEADER]: '1' } }),
  });

const start = async (host: string, dataDir: string) =>
  (await spawnPeer(['start', '--host', host, '--data', dataDir])).child;

/** Stop a peer as a user does; it closes its databases (a killed peer leaves their WAL files behind). */
async function stop(peer: ChildProcess): Promise<void> {
  const exited = once(peer, 'exit');
  peer.kill('SIGTERM');
  await exited;
  expect(peer.exitCode).toBe(0);
}

/** Bytes the reserve file really holds on disk (0 when it is absent). */
const reserveHeld = (dataDir: string) => {
  const path = join(dataDir, RESERVE_FILE);
  return existsSync(path) ? statSync(path).blocks * 512 : 0;
};

describe.skipIf(!isRoot)('a peer on a disk filled to the last byte (needs root to mount a tmpfs)', () => {
  it(
    'releases its reserve, starts, answers on every service and records state; the reserve comes back once there is room',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const disk = smallDisk(20 * MiB);
      const dataDir = join(disk, 'data');
      const host = nextLoopback();

      // A first start writes the reserve with real blocks (not a sparse file).
      const first = await start(host, dataDir);
      expect(reserveHeld(dataDir)).toBeGreaterThanOrEqual(RESERVE_BYTES);
      // A download to find again: its only source is not there, and it is paused at once.
      const res = await post(downloadsUrl(host), {
        fileId: 'e'.repeat(64),
        name: 'lost.bin',
        sources: [`${'a'.repeat(52)}@${nextLoopback()}:${DEFAULT_PORTS.filesPort}`],
      });
      expect(res.status).toBe(202);
      const { key } = (await res.json()) as Listed;
      expect((await post(`${downloadsUrl(host)}/${key}/pause`)).status).toBe(200);
      await stop(first);

      const filler = fillDisk(disk);
      expect(freeBytes(disk)).toBe(0);

      // Started on the full disk, it gives up its reserve before opening its databases.
      const second = await start(host, dataDir);
      expect(reserveHeld(dataDir)).toBe(0);
      for (const port of SERVICE_PORTS) expect((await fetch(`http://${host}:${port}/health`)).status).toBe(200);
      expect(await downloads(host)).toMatchObject([{ key, state: 'paused' }]);
      // It records state on that disk: a cancel is saved, and still there after a restart.
      expect((await post(`${downloadsUrl(host)}/${key}/cancel`)).status).toBe(200);
      await stop(second);
      const third = await start(host, dataDir);
      expect(await downloads(host)).toMatchObject([{ key, state: 'cancelled' }]);
      await stop(third);

      // Space freed, the next start writes the reserve again.
      rmSync(filler);
      await start(host, dataDir);
      expect(reserveHeld(dataDir)).toBeGreaterThanOrEqual(RESERVE_BYTES);
    },
  );

  it(
    'with no reserve to release, fails to start with one line naming the file and why',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const disk = smallDisk(20 * MiB);
      const dataDir = join(disk, 'data');
      const host = nextLoopback();
      await stop(await start(host, dataDir));
      rmSync(join(dataDir, RESERVE_FILE), { force: true }); // as a data folder of a version without one
      fillDisk(disk);

      const run = await runCommand(['start', '--host', host, '--data', dataDir, '--log-level', 'warn']);
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^peershare: disk full: cannot open ${dataDir}/[a-z-]+\\.db: .*; free some space on its disk$`),
      );
    },
  );
});
