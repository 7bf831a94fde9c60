/**
 * Search's POST /push, by which this peer's Download in another process (split mode) has a
 * firewalled holder asked to connect back: over a real link, the local caller's push reaches the
 * holder signed by this peer (the holder's engine checks the signature before its handler sees
 * it); one for a holder with no route is 503 UNAVAILABLE once the route search ends; another peer
 * over TLS is refused, and nothing is sent for it.
 */
import { describe, expect, it } from 'vitest';
import type { Push } from '../../src/protocol/gen/wire_pb.ts';
import { createTestnet } from '../support/testnet.ts';
import { tlsPeerClient } from '../support/tls-peer-client.ts';

const FILE = 'cd'.repeat(32);

describe("Search's POST /push", () => {
  it("sends this peer's signed push for a local caller, answers 503 when no push could go, and refuses other peers", async () => {
    const delivered: Push[] = [];
    const net = await createTestnet(2, 'line', { onPush: (push) => delivered.push(push) });
    await net.linked();
    const [requester, holder] = net.peers as [(typeof net.peers)[0], (typeof net.peers)[0]];
    const body = { holderPeerId: holder.peerId, fileId: FILE, filesAddress: `${requester.host}:7871` };
    const post = (json: unknown) =>
      fetch(`${requester.service.apiUrl}/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(json),
      });

    const sent = await post(body);
    expect(sent.status).toBe(200);
    expect(await sent.json()).toEqual({ sent: true });
    await expect.poll(() => delivered.length).toBe(1);
    expect(delivered[0]).toMatchObject({
      targetPeerId: holder.peerId,
      requesterPeerId: requester.peerId,
      requesterFilesAddress: `${requester.host}:7871`,
      fileId: FILE,
    });

    // A holder nobody's hits came from: the route search finds none, and no push goes.
    const nowhere = await post({ ...body, holderPeerId: 'z'.repeat(52) });
    expect(nowhere.status).toBe(503);
    expect(((await nowhere.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');

    // Another peer, over TLS: refused before anything is sent.
    const peer = await tlsPeerClient();
    const refused = await peer.post(new URL(requester.service.apiUrl).host, '/push', body, requester.peerId);
    expect(refused.status).toBe(403);
    expect(requester.service.engine.pushCounters.sent).toBe(1);
    expect(delivered).toHaveLength(1);
  });
});
