/**
 * Forged and replayed peer records sent over real HTTP over TLS (TEST-PLAN 26) by a peer with its
 * own identity: refused with 4xx, nothing changes.
 */
import { describe, expect, it } from 'vitest';
import { signLeave, signRecord, type PeerRecord } from '../../src/fetch/domain/peer-record.ts';
import { loadOrCreateIdentity } from '../../src/shared/identity.ts';
import { converged, createFetchNet, type FetchNet } from '../support/fetch-net.ts';
import { tlsPeerClient, type TlsPeerClient } from '../support/tls-peer-client.ts';

async function victim(): Promise<{ net: FetchNet; address: string; snapshot: () => string }> {
  const net = await createFetchNet(2);
  // Each verifies the other (peer 0 reaches peer 1 at its address one round after its announce).
  expect(await net.stepUntil(() => converged(net), 3)).toBeGreaterThan(0);
  const service = net.peers[0]!.service;
  return { net, address: net.peers[0]!.fetchAddress, snapshot: () => JSON.stringify(service.peers()) };
}

/** A peer over TLS whose records are signed by the key its certificate proves. */
async function stranger(seq: number): Promise<TlsPeerClient & { record(s?: number): PeerRecord }> {
  const client = await tlsPeerClient();
  const addresses = { files: '127.9.9.9:7871', search: '127.9.9.9:7872', fetch: '127.9.9.9:7874' };
  return {
    ...client,
    record: (s = seq): PeerRecord =>
      signRecord(client.signer, { status: 'alive', addresses, protocol: 2, seq: s, issuedAt: seq }),
  };
}

describe('forged and replayed records over HTTP (TLS)', () => {
  it('refuses a record whose signature does not verify', async () => {
    const { net, address, snapshot } = await victim();
    const before = snapshot();
    const peer = await stranger(net.clock.epochMs());
    const forged = {
      ...peer.record(),
      addresses: { files: '127.6.6.6:7871', search: '127.6.6.6:7872', fetch: '127.6.6.6:7874' },
    };
    const answer = await peer.post(address, '/sync', { from: forged });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('BAD_REQUEST');
    expect(snapshot()).toBe(before);
  });

  it('refuses a replayed (older) record of a known peer, and says which newer one it holds', async () => {
    const { net, address, snapshot } = await victim();
    // Known means verified: peer 1, which peer 0 reached. Its key signs a record older than its current one.
    const owner = net.peers[1]!;
    const peer = await tlsPeerClient(loadOrCreateIdentity(owner.dataDir));
    const current = net.clock.epochMs();
    const addresses = { files: '127.9.9.9:7871', search: '127.9.9.9:7872', fetch: owner.fetchAddress };
    const before = snapshot();
    const replay = await peer.post(address, '/sync', {
      from: signRecord(peer.signer, { status: 'alive', addresses, protocol: 2, seq: 1, issuedAt: current - 60_000 }),
    });
    expect(replay.status).toBe(400);
    expect(replay.body.error?.details).toMatchObject({ reason: 'stale', newer: { peerId: peer.signer.peerId } });
    expect(snapshot()).toBe(before);
  });

  it("refuses a record claiming another peer's id, or this peer's own", async () => {
    const { net, address, snapshot } = await victim();
    const before = snapshot();
    const peer = await stranger(net.clock.epochMs());
    const honest = net.peers[1]!.service.status().peerId;
    const impostor = { ...peer.record(), peerId: honest };
    const claimed = await peer.post(address, '/sync', { from: impostor });
    expect(claimed).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', details: { claimed: honest, proven: peer.signer.peerId } } },
    });
    const own = net.peers[0]!.service.status().peerId;
    expect((await peer.post(address, '/sync', { from: { ...peer.record(), peerId: own } })).status).toBe(403);
    expect(snapshot()).toBe(before);
  });

  it('takes a leave only as a valid "left" record signed by the leaving peer, sent by that peer', async () => {
    const { net, address, snapshot } = await victim();
    const peer = await stranger(net.clock.epochMs());
    await peer.post(address, '/sync', { from: peer.record() });
    const before = snapshot();
    expect((await peer.post(address, '/leave', peer.record(net.clock.epochMs() + 1))).status).toBe(400); // alive, not left
    const tombstone = signLeave(peer.signer, peer.record(), net.clock.epochMs() + 2);
    expect((await peer.post(address, '/leave', { ...tombstone, seq: tombstone.seq + 1 })).status).toBe(400); // tampered
    const other = await tlsPeerClient();
    expect((await other.post(address, '/leave', tombstone)).status).toBe(403); // someone else's leave
    expect(snapshot()).toBe(before);
    expect((await peer.post(address, '/leave', tombstone)).status).toBe(200);
    expect(net.peers[0]!.service.peers().some((p) => p.peerId === peer.signer.peerId)).toBe(false);
  });
});
