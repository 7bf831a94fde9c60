/**
 * Names at the file-system limit (TEST-PLAN 41): a file whose name is 255 bytes of UTF-8 (one,
 * two and three bytes a character) downloads under that name; the partial file's own name is
 * short whatever the file is called; when the name is taken, the free "NAME (1).EXT" is cut to
 * fit, keeping its extension; cancelling such a download answers 200 and leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_NAME_BYTES } from '../../src/shared/names.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { startDownloadPeer } from '../support/download-peer.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { startMeteredSource } from '../support/metered-source.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const CHUNK = 64 * 1024;

const NAMES = {
  ascii: `${'a'.repeat(MAX_NAME_BYTES - 4)}.bin`,
  'two-byte': `${'é'.repeat(125)}x.bin`,
  'three-byte': `${'日'.repeat(83)}xx.bin`,
};

interface Listed {
  key: string;
  state: string;
  finalPath?: string;
  error?: string;
}

async function shared(name: string, data: Buffer) {
  const source = await startFilesPeer({ chunkSize: '64KiB' });
  const res = await upload(source.url, name, data);
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  return { source, id };
}

async function request(url: string, body: unknown): Promise<Listed> {
  const res = await fetch(`${url}/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as Listed;
}

async function settled(url: string, key: string): Promise<Listed> {
  const get = async () => (await (await fetch(`${url}/downloads/${key}`)).json()) as Listed;
  await expect.poll(async () => (await get()).state, { timeout: 20_000 }).toMatch(/^(done|failed)$/);
  return get();
}

describe('a download whose name is at the file-system limit', () => {
  it.each(Object.entries(NAMES))('%s: saved under its full 255-byte name', async (_kind, name) => {
    expect(Buffer.byteLength(name)).toBe(MAX_NAME_BYTES);
    const data = randomBytes(5 * CHUNK + 77);
    const { source, id } = await shared(name, data);
    const peer = await startDownloadPeer();
    const { key } = await request(peer.url, { fileId: id, name, sources: [source.source] });
    const done = await settled(peer.url, key);
    expect(done).toMatchObject({ state: 'done', finalPath: join(peer.downloadsDir, name) });
    expect(readdirSync(peer.downloadsDir)).toEqual([name]);
    expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(data));
  });

  it.each(Object.entries(NAMES))(
    '%s: a taken name becomes a shortened "NAME (1).EXT" that fits',
    async (_kind, name) => {
      const data = randomBytes(3 * CHUNK);
      const { source, id } = await shared(name, data);
      const peer = await startDownloadPeer();
      mkdirSync(peer.downloadsDir, { recursive: true });
      writeFileSync(join(peer.downloadsDir, name), 'somebody else’s file');
      const { key } = await request(peer.url, { fileId: id, name, sources: [source.source] });
      const done = await settled(peer.url, key);
      expect(done.state).toBe('done');
      const placed = basename(done.finalPath!);
      expect(Buffer.byteLength(placed)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      expect(placed).toMatch(/ \(1\)\.bin$/);
      expect(name.startsWith(placed.slice(0, -' (1).bin'.length))).toBe(true);
      expect(placed.isWellFormed()).toBe(true);
      expect(readFileSync(join(peer.downloadsDir, name), 'utf8')).toBe('somebody else’s file');
      expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(data));
      expect(readdirSync(peer.downloadsDir).sort()).toEqual([name, placed].sort());
    },
  );

  it('cancelled mid-transfer: answers 200 and leaves no partial file', async () => {
    const name = NAMES['three-byte'];
    const { source, id } = await shared(name, randomBytes(8 * CHUNK));
    const metered = await startMeteredSource(source.url);
    metered.limit(2 * CHUNK + 10); // the transfer stalls with some chunks written
    const peer = await startDownloadPeer();
    const { key } = await request(peer.url, { fileId: id, name, sources: [metered.source] });
    await metered.spent();
    expect(readdirSync(peer.downloadsDir)).toHaveLength(1); // the partial, under a short name
    expect(Buffer.byteLength(readdirSync(peer.downloadsDir)[0]!)).toBeLessThan(64);

    const res = await fetch(`${peer.url}/downloads/${key}/cancel`, {
      method: 'POST',
      headers: { [CLIENT_HEADER]: '1' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Listed).state).toBe('cancelled');
    expect(readdirSync(peer.downloadsDir)).toEqual([]);
  });
});
