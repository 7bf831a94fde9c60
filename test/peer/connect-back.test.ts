/**
 * The holder's side of PUSH over real sockets (src/peer/connect-back.ts): a Push is acted on only
 * for a requester this peer verified, at exactly that requester's record address, within the
 * per-requester rate. A Push naming any other address (a bystander's) opens no connection there;
 * connections are counted at plain TCP listeners standing for the requester and the bystander.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { FetchService } from '../../src/fetch/service.ts';
import type { FilesService } from '../../src/files/service.ts';
import { connectBackHandler } from '../../src/peer/connect-back.ts';
import { create } from '@bufbuild/protobuf';
import { PushSchema } from '../../src/protocol/gen/wire_pb.ts';
import { ConnectBackGuard } from '../../src/search/domain/push.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { nextLoopback } from '../support/loopback.ts';
import { testIdentity } from '../support/testnet.ts';

const FILE = 'ab'.repeat(32);
const PORT = 7871;

/** A TCP listener at host:PORT that counts connections and drops each at once. */
async function counter(host: string): Promise<{ server: Server; count: () => number }> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  server.listen(PORT, host);
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, count: () => n };
}

describe('connect-back on a push (the firewalled holder)', () => {
  it('dials only the verified requester at its record address, at most perRequesterPerMinute times; a push naming a bystander is ignored', async () => {
    const requesterHost = nextLoopback();
    const bystanderHost = nextLoopback();
    const requester = await counter(requesterHost);
    const bystander = await counter(bystanderHost);
    const { tls } = await testIdentity();
    const requesterId = (await testIdentity()).identity.peerId;
    const holderId = (await testIdentity()).identity.peerId;
    const served: string[] = [];
    const fetch = { verifiedFilesAddress: (peerId: string) => (peerId === requesterId ? `${requesterHost}:${PORT}` : undefined) } as unknown as FetchService;
    const files = { serveDialled: (_socket: unknown, peerId: string) => served.push(peerId) } as unknown as FilesService;
    const guard = new ConnectBackGuard({ perRequesterPerMinute: 3, perMinute: 60 });
    const { onPush } = connectBackHandler({ fetch, files, tls, logger: silentLogger(), guard });
    let nonce = 0;
    const push = (address: string, from = requesterId) =>
      create(PushSchema, { targetPeerId: holderId, requesterPeerId: from, requesterFilesAddress: address, fileId: FILE, nonce: new Uint8Array(16).fill(++nonce), ttl: 1 });

    // Naming a bystander's address for the verified requester, or coming from a peer not verified: nothing dialled.
    onPush(push(`${bystanderHost}:${PORT}`));
    onPush(push(`${bystanderHost}:${PORT}`, holderId));
    // The verified requester at its own address: dialled, up to the rate (3 here), then ignored.
    for (let i = 0; i < 5; i++) onPush(push(`${requesterHost}:${PORT}`));
    await expect.poll(requester.count).toBe(3);
    expect(guard.counters).toEqual({ connect: 3, unverifiedRequester: 1, addressMismatch: 1, rateLimited: 2 });
    expect(bystander.count()).toBe(0);
    // The listener is no peer (no TLS): nothing reached File Management.
    expect(served).toEqual([]);
  });
});
