/**
 * A downloader killed (SIGKILL) at each step of finishing a download, then started again on the
 * same data folder, ends with exactly one verified copy under the file's name, the download
 * done, the file shared under its id from that path, and no partial or "(1)" copy left. The
 * kill comes from the fs adapter's test hook (PEERSHARE_FAULT=finalize:STEP); the downloader
 * is a real `peershare start` process. A second case kills it, without any hook, the moment its
 * partial file disappears (how the zero-filled "NAME (1).EXT" copy was first seen).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { FinalizeStep } from '../../src/download/adapters/fs/fault-hook.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** Two peer processes started one after the other, on a machine that may be busy. */
const PROCESS_TEST_MS = 120_000;
const STEPS: FinalizeStep[] = ['before-link', 'after-link', 'before-unlink', 'after-unlink'];

interface Listed {
  key: string;
  state: string;
  finalPath?: string;
  error?: string;
}

/** A downloader process; with `fault`, it kills itself at that step of finishing. */
async function startDownloader(host: string, dataDir: string, fault?: FinalizeStep): Promise<ChildProcess> {
  const saved = process.env.PEERSHARE_FAULT;
  if (fault) process.env.PEERSHARE_FAULT = `finalize:${fault}`;
  else delete process.env.PEERSHARE_FAULT;
  try {
    return (await spawnPeer(['start', '--host', host, '--data', dataDir])).child;
  } finally {
    if (saved === undefined) delete process.env.PEERSHARE_FAULT;
    else process.env.PEERSHARE_FAULT = saved;
  }
}

async function shareSample(): Promise<{ url: string; source: string; id: string; data: Buffer }> {
  const source = await startFilesPeer({ chunkSize: '256KiB' });
  const data = randomBytes(3 * 1024 * 1024 + 1234);
  const { id } = (await (await upload(source.url, 'report.pdf', data)).json()) as { id: string };
  return { url: source.url, source: source.source, id, data };
}

async function request(host: string, id: string, source: string): Promise<void> {
  const res = await fetch(`http://${host}:${DEFAULT_PORTS.downloadPort}/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileId: id, name: 'report.pdf', sources: [source] }),
  });
  expect(res.status).toBe(202);
}

/** After the restart: done, one copy with the right bytes, shared from that path, nothing else left. */
async function expectOneVerifiedCopy(host: string, dataDir: string, id: string, data: Buffer): Promise<void> {
  const list = async () =>
    (await (await fetch(`http://${host}:${DEFAULT_PORTS.downloadPort}/downloads`)).json()) as Listed[];
  await expect.poll(async () => (await list())[0]?.state, { timeout: 60_000 }).toBe('done');
  const [done] = await list();
  const downloads = join(dataDir, 'downloads');
  expect(done!.finalPath).toBe(join(downloads, 'report.pdf'));
  expect(readdirSync(downloads)).toEqual(['report.pdf']);
  expect(sha256(readFileSync(done!.finalPath!))).toBe(sha256(data));
  const shared = (await (await fetch(`http://${host}:${DEFAULT_PORTS.filesPort}/files/${id}`)).json()) as {
    paths: string[];
  };
  expect(shared.paths).toEqual([done!.finalPath]);
  // The manifest kept to finish after a crash is dropped once done: a done record is listed often.
  const db = new Database(join(dataDir, 'downloads.db'), { readonly: true });
  try {
    expect(db.prepare('SELECT manifest FROM downloads').all()).toEqual([{ manifest: null }]);
  } finally {
    db.close();
  }
}

describe('a downloader killed while finishing a download', () => {
  it.each(STEPS)(
    'at %s: after a restart, one verified copy, done, no orphan',
    { timeout: PROCESS_TEST_MS },
    async (step) => {
      const { source, id, data } = await shareSample();
      const host = nextLoopback();
      const dataDir = join(tempDir(), 'data');
      const first = await startDownloader(host, dataDir, step);
      const killed = once(first, 'exit');
      await request(host, id, source);
      const [, signal] = (await killed) as [number | null, string | null];
      expect(signal).toBe('SIGKILL');

      await startDownloader(host, dataDir);
      await expectOneVerifiedCopy(host, dataDir, id, data);
    },
  );

  it(
    'killed the moment its partial file disappears: after a restart, one verified copy, done, no orphan',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const { source, id, data } = await shareSample();
      const host = nextLoopback();
      const dataDir = join(tempDir(), 'data');
      const downloads = join(dataDir, 'downloads');
      mkdirSync(downloads, { recursive: true });
      const first = await startDownloader(host, dataDir);
      const killed = once(first, 'exit');
      // The partial file appears, then goes when the download finishes: freeze the process then.
      let partial: string | undefined;
      const frozen = new Promise<void>((resolve) => {
        const watcher = watch(downloads, (_event, file) => {
          if (typeof file === 'string' && file.endsWith('.part')) partial ??= file;
          if (partial && !existsSync(join(downloads, partial))) {
            first.kill('SIGSTOP');
            watcher.close();
            resolve();
          }
        });
      });
      await request(host, id, source);
      await frozen;
      first.kill('SIGKILL');
      await killed;

      await startDownloader(host, dataDir);
      await expectOneVerifiedCopy(host, dataDir, id, data);
    },
  );
});
