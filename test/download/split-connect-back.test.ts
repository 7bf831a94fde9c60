/**
 * The requester's side of PUSH in split mode (src/peer/connect-back-remote.ts) over real sockets
 * on loopback: Download's chunk source, for a source held firewalled, asks this peer's File
 * Management (another service, its own port) to splice the holder's connect-back, has the Push
 * sent only once File Management waits, and reads the manifest and a range over the spliced
 * socket from a real File Management that connected back. The holder's listed address is a
 * counting listener: never dialled. A push that cannot be sent ends that attempt with
 * UNAVAILABLE and leaves no wait behind.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HttpChunkSource } from '../../src/download/adapters/http/http-chunk-source.ts';
import type { FilesService } from '../../src/files/service.ts';
import { buildFiles } from '../../src/peer/build-files.ts';
import { connectBackOverHttp } from '../../src/peer/connect-back-remote.ts';
import { createPeerContext, type PeerContext } from '../../src/peer/context.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { ConnectBacks } from '../../src/shared/connect-backs.ts';
import { PeershareError } from '../../src/shared/errors.ts';
import { dialPeer } from '../../src/shared/http-client.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { ALPN_PUSH } from '../../src/shared/peer-tls.ts';
import { startFilesPeer, upload, type FilesPeer } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

/** The requester's File Management alone (as `peershare service files` runs it), and its identity. */
async function requesterFiles(): Promise<{ ctx: PeerContext; files: FilesService; connectBacks: ConnectBacks }> {
  const config = loadConfig({ flags: { host: nextLoopback(), dataDir: join(tempDir(), 'data') } });
  const ctx = createPeerContext(config, silentLogger());
  await ctx.tls.ready();
  const connectBacks = new ConnectBacks({ timeoutMs: 2_000 });
  const files = buildFiles(ctx, connectBacks);
  await files.start();
  onTestFinished(() => files.stop());
  return { ctx, files, connectBacks };
}

/** A TCP listener standing for the holder's advertised address: counts connections. */
async function counting(): Promise<{ address: string; count: () => number }> {
  const host = nextLoopback();
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  server.listen(0, host);
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { address: `${host}:${(server.address() as { port: number }).port}`, count: () => n };
}

/** The holder acting on a Push: it dials the requester's files address, pinned to its id, and serves it there. */
function holderConnectsBack(holder: FilesPeer, requesterId: string) {
  return async (_holder: string, _fileId: string, filesAddress: string): Promise<void> => {
    const { socket } = await dialPeer(holder.tls, filesAddress, requesterId, { alpn: [ALPN_PUSH] });
    holder.service.serveDialled(socket, requesterId);
  };
}

describe('PUSH for a Download in a process of its own', () => {
  it('reads the manifest and the ranges of a firewalled holder over the splice File Management makes, never dialling the holder', async () => {
    const { ctx, files, connectBacks } = await requesterFiles();
    const holder = await startFilesPeer();
    const data = randomBytes(300 * 1024 + 7);
    const { id } = (await (await upload(holder.url, 'behind.bin', data)).json()) as { id: string };
    const listed = await counting();
    const source = `${holder.peerId}@${listed.address}`;
    const ownAddress = new URL(files.url).host;
    const pushes: string[] = [];
    const push = holderConnectsBack(holder, ctx.identity.peerId);
    const chunks = new HttpChunkSource(
      ctx.tls,
      8,
      connectBackOverHttp({
        isFirewalled: (peerId) => peerId === holder.peerId,
        ownFilesAddress: async () => ownAddress,
        push: async (h, fileId, filesAddress) => {
          pushes.push(`${h} ${fileId} ${filesAddress}`);
          await push(h, fileId, filesAddress);
        },
        filesUrl: files.url,
        token: ctx.apiToken,
      }),
    );
    onTestFinished(() => chunks.close());
    const signal = new AbortController().signal;

    const manifest = await chunks.manifest(source, id, signal);
    expect(manifest).toMatchObject({ id, size: data.length });
    const got: Buffer[] = [];
    await chunks.range(source, id, 0, data.length - 1, signal, { take: (piece) => void got.push(Buffer.from(piece)) });
    expect(Buffer.concat(got).equals(data)).toBe(true);

    // One push per connection (the manifest's, the range's), each naming this peer's files address.
    expect(pushes).toEqual([`${holder.peerId} ${id} ${ownAddress}`, `${holder.peerId} ${id} ${ownAddress}`]);
    expect(connectBacks.counters).toEqual({ taken: 2, unasked: 0, timedOut: 0 });
    expect(listed.count()).toBe(0);
    // File Management's /health counts them too.
    const health = (await (await fetch(`${files.url}/health`)).json()) as { connectBacks: unknown };
    expect(health.connectBacks).toEqual({ taken: 2, unasked: 0, timedOut: 0 });
  });

  it('ends the attempt with UNAVAILABLE when no push could be sent, and leaves no wait behind', async () => {
    const { ctx, files, connectBacks } = await requesterFiles();
    const holder = await startFilesPeer();
    const listed = await counting();
    const chunks = new HttpChunkSource(
      ctx.tls,
      8,
      connectBackOverHttp({
        isFirewalled: () => true,
        ownFilesAddress: async () => new URL(files.url).host,
        push: async () => {
          throw new PeershareError('UNAVAILABLE', 'no push could be sent (no route)');
        },
        filesUrl: files.url,
        token: ctx.apiToken,
      }),
    );
    onTestFinished(() => chunks.close());
    await expect(
      chunks.manifest(`${holder.peerId}@${listed.address}`, 'ab'.repeat(32), new AbortController().signal),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('no route') });
    // The wait went with the splice: a connect-back now finds nobody waiting, and is closed.
    await expect.poll(() => connectBacks.waiting).toBe(0);
    const { socket } = await dialPeer(holder.tls, new URL(files.url).host, ctx.identity.peerId, { alpn: [ALPN_PUSH] });
    socket.on('error', () => undefined);
    await once(socket, 'close');
    expect(connectBacks.counters).toEqual({ taken: 0, unasked: 1, timedOut: 0 });
    expect(listed.count()).toBe(0);
  });
});
