/**
 * The holder's side of PUSH over real sockets (src/peer/connect-back.ts): a Push is acted on only
 * for a requester this peer verified, at exactly that requester's record address, within the
 * per-requester rate, and only if that requester signed it lately. A Push naming any other
 * address (a bystander's) opens no connection there, and neither does one a third peer sends in
 * the requester's name; connections are counted at plain TCP listeners standing for the requester
 * and the bystander.
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
import { signPush } from '../../src/search/domain/push-signature.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { nextLoopback } from '../support/loopback.ts';
import { createTestnet, testIdentity } from '../support/testnet.ts';

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
  it('dials only the verified requester at the address in use of those its record lists, at most perRequesterPerMinute times; a push naming a bystander is ignored', async () => {
    const requesterHost = nextLoopback();
    const bystanderHost = nextLoopback();
    // The requester's record lists another address first (unreachable from the holder, say); the holder dials the one that proved its key.
    const firstListedHost = nextLoopback();
    const requester = await counter(requesterHost);
    const bystander = await counter(bystanderHost);
    const firstListed = await counter(firstListedHost);
    const { tls } = await testIdentity();
    const requesterId = (await testIdentity()).identity.peerId;
    const holderId = (await testIdentity()).identity.peerId;
    const served: string[] = [];
    const inUse = `${requesterHost}:${PORT}`;
    const listed = [`${firstListedHost}:${PORT}`, inUse];
    const fetch = {
      verifiedFilesAddress: (peerId: string) => (peerId === requesterId ? inUse : undefined),
      connectBackAddress: (peerId: string, named: string) =>
        peerId === requesterId && listed.includes(named) ? inUse : undefined,
    } as unknown as FetchService;
    const files = {
      serveDialled: (_socket: unknown, peerId: string) => served.push(peerId),
    } as unknown as FilesService;
    const guard = new ConnectBackGuard({ perRequesterPerMinute: 3, perMinute: 60 });
    const { onPush } = connectBackHandler({ fetch, files, tls, logger: silentLogger(), guard });
    let nonce = 0;
    const push = (address: string, from = requesterId) =>
      create(PushSchema, {
        targetPeerId: holderId,
        requesterPeerId: from,
        requesterFilesAddress: address,
        fileId: FILE,
        nonce: new Uint8Array(16).fill(++nonce),
        ttl: 1,
      });

    // Naming a bystander's address for the verified requester, or coming from a peer not verified: nothing dialled.
    onPush(push(`${bystanderHost}:${PORT}`));
    onPush(push(`${bystanderHost}:${PORT}`, holderId));
    // The verified requester naming either of its own addresses: dialled at the one in use, up to the rate (3 here), then ignored.
    onPush(push(`${firstListedHost}:${PORT}`));
    for (let i = 0; i < 4; i++) onPush(push(inUse));
    await expect.poll(requester.count).toBe(3);
    expect(guard.counters).toEqual({ connect: 3, unverifiedRequester: 1, addressMismatch: 1, rateLimited: 2 });
    expect(bystander.count()).toBe(0);
    expect(firstListed.count()).toBe(0);
    // The listener is no peer (no TLS): nothing reached File Management.
    expect(served).toEqual([]);
  });

  it("ignores a push a third peer sends in a verified requester's name, at its own address, and connects back for the requester's signed push", async () => {
    // Over real links: requester — holder — forger. The holder's Search checks the signature, then
    // its connect-back handler (membership: the requester is verified at `${host}:PORT`) dials.
    const { tls } = await testIdentity();
    let requesterId = '';
    let requesterAddress = '';
    const fetch = {
      verifiedFilesAddress: (peerId: string) => (peerId === requesterId ? requesterAddress : undefined),
      connectBackAddress: (peerId: string, named: string) =>
        peerId === requesterId && named === requesterAddress ? requesterAddress : undefined,
    } as unknown as FetchService;
    const files = { serveDialled: () => undefined } as unknown as FilesService;
    const guard = new ConnectBackGuard({ perRequesterPerMinute: 6, perMinute: 60 });
    const { onPush } = connectBackHandler({ fetch, files, tls, logger: silentLogger(), guard });
    const net = await createTestnet(3, 'line', { onPush });
    const [requester, holder, forger] = net.peers as [
      (typeof net.peers)[0],
      (typeof net.peers)[0],
      (typeof net.peers)[0],
    ];
    requesterId = requester.peerId;
    requesterAddress = `${requester.host}:${PORT}`;
    const listener = await counter(requester.host);

    const toHolder = forger.service.links.linkTo(holder.peerId)!;
    let nonce = 0;
    const fields = () => ({
      targetPeerId: holder.peerId,
      requesterFilesAddress: requesterAddress,
      fileId: FILE,
      nonce: new Uint8Array(16).fill(++nonce),
    });
    const forge = (push: Parameters<typeof create<typeof PushSchema>>[1]) =>
      expect(forger.service.links.sendPush(toHolder, create(PushSchema, { ...push, ttl: 7 }))).toBe(true);
    // Unsigned, in the requester's name (as a peer of the release before would send).
    forge({ ...fields(), requesterPeerId: requester.peerId });
    // Signed by the forger, its own key, the requester's id.
    const own = fields();
    forge({ ...own, ...signPush(forger.identity, own, Date.now()), requesterPeerId: requester.peerId });
    // The requester's public key (anyone has it from its Hello), the forger's signature.
    const borrowed = fields();
    forge({
      ...borrowed,
      ...signPush(forger.identity, borrowed, Date.now()),
      requesterPeerId: requester.peerId,
      requesterPublicKey: new Uint8Array(requester.identity.publicKey),
    });
    // A push the requester really signed, replayed ten minutes later.
    const old = fields();
    forge({ ...old, ...signPush(requester.identity, old, Date.now() - 10 * 60_000) });

    const refused = { unsigned: 1, 'key-mismatch': 1, stale: 1, 'bad-signature': 1 };
    await expect.poll(() => holder.service.engine.pushCounters.refused).toEqual(refused);
    expect(holder.service.engine.pushCounters.delivered).toBe(0);
    expect(guard.counters.connect).toBe(0);

    // The requester's own push, signed now: the holder connects back, once.
    expect(requester.service.engine.requestPush(holder.peerId, FILE, requesterAddress)).toBe(true);
    await expect.poll(listener.count).toBe(1);
    expect(guard.counters).toEqual({ connect: 1, unverifiedRequester: 0, addressMismatch: 0, rateLimited: 0 });
    // The refusals on the holder's Search /health, where the other push counters are.
    const health = (await (await globalThis.fetch(`${holder.service.apiUrl}/health`)).json()) as {
      pushes: { delivered: number; refused: unknown };
    };
    expect(health.pushes).toMatchObject({ delivered: 1, refused });
  });
});
