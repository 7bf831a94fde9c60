/**
 * The Client API's upload route (the web UI's "add by upload"), in both deployments: a whole
 * peer in one process, and a Client alone that streams the body on to File Management over HTTP.
 * Bodies with and without a declared length arrive whole; the same bytes twice are one file;
 * refusals come back with File Management's code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPeerContext, startPeer } from '../../src/peer/wiring.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

async function startClient(mode: 'one process' | 'client alone', flags: Record<string, string> = {}): Promise<string> {
  const config = loadConfig({ flags: { host: nextLoopback(), dataDir: join(tempDir(), 'data'), ...flags } });
  if (mode === 'one process') {
    const peer = await startPeer(createPeerContext(config, silentLogger()));
    onTestFinished(() => peer.stop());
  } else {
    const services = await startPeer(createPeerContext(config, silentLogger()), [
      'files',
      'fetch',
      'search',
      'download',
    ]);
    onTestFinished(() => services.stop());
    const client = await startPeer(createPeerContext(config, silentLogger()), ['client']);
    onTestFinished(() => client.stop());
  }
  return `http://${config.host}:${config.clientPort}`;
}

/** A body in pieces with no declared length (chunked). */
function streamOf(data: Buffer, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.subarray(at, at + piece));
      at += piece;
    },
  });
}

const post = (url: string, body: Buffer | string | ReadableStream<Uint8Array>, type = 'application/octet-stream') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body, duplex: 'half' });

describe.each(['one process', 'client alone'] as const)('uploads through the Client API (%s)', (mode) => {
  it('stream into the store and are shared; the same bytes again are the same file', { timeout: 30_000 }, async () => {
    const client = await startClient(mode);
    const data = randomBytes(2 * 1024 * 1024 + 99);

    const first = await post(`${client}/files?name=${encodeURIComponent('kestrel upload.bin')}`, data);
    expect(first.status).toBe(201);
    const file = (await first.json()) as { id: string; name: string; size: number };
    expect(file).toMatchObject({ name: 'kestrel upload.bin', size: data.length });

    const again = await post(`${client}/files?name=kestrel-copy.bin`, streamOf(data));
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(file.id);

    const listed = (await (await fetch(`${client}/files?q=kestrel`)).json()) as {
      items: Array<{ id: string; names: string[] }>;
    };
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]!.names.sort()).toEqual(['kestrel upload.bin', 'kestrel-copy.bin']);
    // The id is the hash over the chunk hashes: the bytes arrived whole and in order.
    const chunk = 1024 * 1024;
    const hashes = [0, 1, 2].map((i) =>
      createHash('sha256')
        .update(data.subarray(i * chunk, (i + 1) * chunk))
        .digest(),
    );
    expect(file.id).toBe(createHash('sha256').update(Buffer.concat(hashes)).digest('hex'));
  });

  it('answer a refused upload with its code', async () => {
    const client = await startClient(mode, { maxUploadBytes: '64KiB' });
    for (const body of [randomBytes(1024 * 1024), streamOf(randomBytes(1024 * 1024))]) {
      const tooLarge = await post(`${client}/files?name=big.bin`, body);
      expect(tooLarge.status).toBe(413);
      expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    }

    const badName = await post(`${client}/files?name=..`, randomBytes(1000));
    expect(badName.status).toBe(400);
    expect(((await badName.json()) as { error: { code: string } }).error.code).toBe('INVALID_NAME');

    const notBytes = await post(`${client}/files?name=a.txt`, 'text', 'text/plain');
    expect(notBytes.status).toBe(415);
    expect(((await notBytes.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});
