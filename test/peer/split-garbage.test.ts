/**
 * Services run apart (`peershare service NAME`) call each other over HTTP. Something that is not
 * the expected service on the other end (it answers 200 with a body that is not JSON) fails the
 * call that met it, and the process keeps running.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

/** An HTTP server on host:port that answers every request 200 with text that is not JSON. */
async function impostor(host: string, port: number): Promise<{ paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    paths.push(`${req.method} ${req.url}`);
    req.resume();
    req.once('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not the service you want</html>'),
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { paths };
}

describe('a split-mode service answered with garbage', () => {
  it(
    'Download run alone goes on when "Fetch" answers its question for sources with something other than JSON',
    { timeout: 60_000 },
    async () => {
      const host = nextLoopback();
      const fetchImpostor = await impostor(host, DEFAULT_PORTS.fetchPort);
      const download = await spawnPeer(['service', 'download', '--host', host, '--data', join(tempDir(), 'data')]);
      const downloadUrl = `http://${host}:${DEFAULT_PORTS.downloadPort}`;
      const fileId = 'ab'.repeat(32);
      const queued = await fetch(`${downloadUrl}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileId, name: 'wanted.bin' }),
      });
      expect(queued.status).toBe(202);
      // Asked again on the retry: the first garbage answer ended only that attempt.
      await expect
        .poll(() => fetchImpostor.paths.filter((p) => p === `GET /sources/${fileId}`).length, { timeout: 30_000 })
        .toBeGreaterThanOrEqual(2);
      expect((await fetch(`${downloadUrl}/health`)).status).toBe(200);
      expect(download.child.exitCode).toBeNull();
      expect(download.stderr()).not.toMatch(/escaped/);
    },
  );

  it(
    'the Client run alone fails an upload whose "File Management" answers with something other than JSON, and keeps answering',
    { timeout: 60_000 },
    async () => {
      const host = nextLoopback();
      const files = await impostor(host, DEFAULT_PORTS.filesPort);
      const client = await spawnPeer(['service', 'client', '--host', host, '--data', join(tempDir(), 'data')]);
      const clientUrl = `http://${host}:${DEFAULT_PORTS.clientPort}`;
      const res = await fetch(`${clientUrl}/files?name=note.txt`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: 'a note',
      });
      expect(files.paths).toContain('POST /files?name=note.txt');
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect((await fetch(`${clientUrl}/health`)).status).toBe(200);
      expect(client.child.exitCode).toBeNull();
      expect(client.stderr()).not.toMatch(/escaped/);
    },
  );
});
