/**
 * Local faults end the work they hit, never the process: a whole peer (`peershare start`, a real
 * process) whose data folder is a small tmpfs that a download fills up to its reserve, then
 * filled to the last byte and given uploads and a share its catalog cannot record (failing
 * writes and database calls), and neighbours that send garbage or reset their link mid-frame (failing
 * sockets). Afterwards every service still answers and the process is still running.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/codec.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { upload } from '../support/files-peer.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { rawNeighbour } from '../support/raw-neighbour.ts';
import { fillDisk, freeBytes, isRoot, smallDisk } from '../support/small-disk.ts';
import { tempDir } from '../support/temp.ts';

const DISK_BYTES = 16 * 1024 * 1024; // room for part of the download above its 8 MiB reserve
const FILE_BYTES = 24 * 1024 * 1024;
const MAX_UPLOAD_BYTES = 1024 * 1024;

const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;
const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Start an upload declared over the cap and reset the connection while the peer drains it: once
 * 16 MiB are accepted by the kernel, more than its socket buffers hold, the peer is reading them.
 */
async function resetRefusedUpload(host: string, port: number): Promise<void> {
  const req = request({
    host,
    port,
    method: 'POST',
    path: '/files?name=huge.bin',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(64 * 1024 * 1024) },
  });
  req.on('error', () => undefined);
  const piece = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < 16; i++) await new Promise<void>((resolve) => req.write(piece, () => resolve()));
  req.socket!.resetAndDestroy();
  await once(req.socket!, 'close');
}

describe.skipIf(!isRoot)('a whole peer under local faults (needs root to mount a tmpfs)', () => {
  it(
    'keeps every service answering after a full disk, failing database writes and broken links',
    { timeout: 120_000 },
    async () => {
      // A source peer in this process holds a file three times the victim's disk.
      const source = await startFullPeer();
      const data = randomBytes(FILE_BYTES);
      const { id } = await json<{ id: string }>(upload(source.files, 'big.bin', data));
      await upload(source.files, 'findable notes.txt', 'notes');

      const disk = smallDisk(DISK_BYTES);
      const host = nextLoopback();
      const dataDir = join(disk, 'data');
      const peer = await spawnPeer([
        'start',
        '--host',
        host,
        '--data',
        dataDir,
        '--join',
        source.host,
        '--fetch-interval',
        '200',
        '--max-upload',
        String(MAX_UPLOAD_BYTES),
      ]);
      const url = (port: number) => `http://${host}:${port}`;
      // A peer that exits fails the test at once, with what it printed.
      const exited = new Promise<never>((_resolve, reject) =>
        peer.child.once('exit', (code, signal) =>
          reject(new Error(`the peer exited (${signal ?? code}); it printed:\n${peer.stderr()}`)),
        ),
      );
      exited.catch(() => undefined);
      const alive = <T>(work: Promise<T>): Promise<T> => Promise.race([work, exited]);
      const client = url(DEFAULT_PORTS.clientPort);

      // 1. A full disk under a download: it writes until only its reserve is left, then stops with
      // DISK_FULL (paused, keeping its chunks) instead of taking the peer down.
      const queued = await json<{ key: string }>(
        post(`${url(DEFAULT_PORTS.downloadPort)}/downloads`, {
          fileId: id,
          name: 'big.bin',
          sources: [`${source.context.identity.peerId}@${source.host}:${DEFAULT_PORTS.filesPort}`],
        }),
      );
      expect(queued.key).toMatch(/./);
      const download = async () =>
        (
          await json<Array<{ key: string; state: string; error?: string; bytesDone: number }>>(
            fetch(`${url(DEFAULT_PORTS.downloadPort)}/downloads`),
          )
        ).find((x) => x.key === queued.key);
      await alive(expect.poll(async () => (await download())?.state, { timeout: 60_000 }).toBe('paused'));
      const paused = (await download())!;
      expect(paused.error).toMatch(/disk full/i);
      expect(paused.bytesDone).toBeGreaterThan(0);

      // 2. Failing database calls: the catalog cannot record an upload or a share on a full disk.
      // Whatever the download left free (or freed since) is taken, so that every write fails.
      fillDisk(disk);
      expect(freeBytes(disk)).toBe(0);
      const uploaded = await upload(url(DEFAULT_PORTS.filesPort), 'more.bin', randomBytes(256 * 1024));
      expect(uploaded.status).toBe(507);
      const outside = join(tempDir(), 'outside.txt');
      writeFileSync(outside, 'shared from a disk with room');
      const shared = await post(`${url(DEFAULT_PORTS.filesPort)}/shares`, { path: outside });
      expect(shared.status).toBe(507); // the catalog's SQLITE_FULL: this request fails, nothing else
      expect(((await shared.json()) as { error: { code: string } }).error.code).toBe('DISK_FULL');

      // 3. Failing sockets: garbage, and a link reset in the middle of a frame.
      const searchLink = `${host}:${DEFAULT_PORTS.searchPort}`;
      const garbage = await rawNeighbour(searchLink);
      await garbage.send(randomBytes(4096));
      await garbage.closed;
      const cut = await rawNeighbour(searchLink);
      await cut.handshake();
      const frame = encodeFrame({ case: 'ping', value: { nonce: 7 } });
      await cut.send(frame.subarray(0, frame.length - 2));
      cut.tcp.resetAndDestroy(); // the TCP connection under the TLS one
      await cut.closed;

      // A refused upload (over the cap) whose client resets the connection while it is drained.
      for (const port of [DEFAULT_PORTS.filesPort, DEFAULT_PORTS.clientPort])
        await alive(resetRefusedUpload(host, port));

      // Every service still answers, and so does the process as a whole.
      for (const port of [
        DEFAULT_PORTS.clientPort,
        DEFAULT_PORTS.filesPort,
        DEFAULT_PORTS.searchApiPort,
        DEFAULT_PORTS.fetchPort,
        DEFAULT_PORTS.downloadPort,
      ]) {
        expect((await fetch(`${url(port)}/health`)).status, `GET /health on ${port}`).toBe(200);
      }
      await expect
        .poll(
          async () =>
            (
              await json<{ hits: Array<{ name: string }> }>(fetch(`${client}/search?q=findable&wait=1&timeout=1500`))
            ).hits.map((h) => h.name),
          { timeout: 20_000 },
        )
        .toContain('findable notes.txt');
      expect((await fetch(`${client}/files`)).status).toBe(200);
      expect(peer.child.exitCode).toBeNull();
      expect(peer.child.signalCode).toBeNull();
      expect(peer.stderr()).not.toMatch(/unhandled|uncaught|escaped/i);
    },
  );
});
