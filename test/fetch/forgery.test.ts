/** Forged and replayed peer records sent over real HTTP (TEST-PLAN 26): refused with 4xx, nothing changes. */
import { describe, expect, it } from 'vitest';
import { memorySigner } from '../../src/fetch/domain/keys.ts';
import { signLeave, signRecord, type PeerRecord } from '../../src/fetch/domain/peer-record.ts';
import { createFetchNet, type FetchNet } from '../support/fetch-net.ts';

function post(url: string, body: unknown): Promise<{ status: number; body: { error?: { code: string; details?: Record<string, unknown> } } }> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as { error?: { code: string } },
  }));
}

async function victim(): Promise<{ net: FetchNet; url: string; snapshot: () => string }> {
  const net = await createFetchNet(2);
  await net.step();
  const service = net.peers[0]!.service;
  return { net, url: service.url, snapshot: () => JSON.stringify(service.peers()) };
}

function stranger(seq: number) {
  const signer = memorySigner();
  const addresses = { files: '127.9.9.9:7871', search: '127.9.9.9:7872', fetch: '127.9.9.9:7874' };
  return { signer, record: (s = seq): PeerRecord => signRecord(signer, { status: 'alive', addresses, protocol: 1, seq: s, issuedAt: seq }) };
}

describe('forged and replayed records over HTTP', () => {
  it('refuses a record whose signature does not verify', async () => {
    const { net, url, snapshot } = await victim();
    const before = snapshot();
    const forged = { ...stranger(net.clock.now()).record(), addresses: { files: '127.6.6.6:7871', search: '127.6.6.6:7872', fetch: '127.6.6.6:7874' } };
    const answer = await post(`${url}/sync`, { from: forged });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('BAD_REQUEST');
    expect(snapshot()).toBe(before);
  });

  it('refuses a replayed (older) record of a known peer, and says which newer one it holds', async () => {
    const { net, url, snapshot } = await victim();
    const peer = stranger(net.clock.now());
    expect((await post(`${url}/sync`, { from: peer.record(net.clock.now() + 10) })).status).toBe(200);
    const before = snapshot();
    const replay = await post(`${url}/sync`, { from: peer.record(net.clock.now() + 5) });
    expect(replay.status).toBe(400);
    expect(replay.body.error?.details).toMatchObject({ reason: 'stale', newer: { seq: net.clock.now() + 10 } });
    expect(snapshot()).toBe(before);
  });

  it("refuses a record claiming another peer's id, or this peer's own", async () => {
    const { net, url, snapshot } = await victim();
    const before = snapshot();
    const honest = net.peers[1]!.service.status().peerId;
    const impostor = { ...stranger(net.clock.now()).record(), peerId: honest };
    expect((await post(`${url}/sync`, { from: impostor })).status).toBe(400);
    const own = (await (await fetch(`${url}/peers`)).json()) as { self: { peerId: string } };
    expect(own.self.peerId).toBe(net.peers[0]!.service.status().peerId);
    const ownRecord = { ...stranger(net.clock.now()).record(), peerId: own.self.peerId };
    expect((await post(`${url}/sync`, { from: ownRecord })).status).toBe(400);
    expect(snapshot()).toBe(before);
  });

  it('takes a leave only as a valid "left" record signed by the leaving peer', async () => {
    const { net, url, snapshot } = await victim();
    const peer = stranger(net.clock.now());
    await post(`${url}/sync`, { from: peer.record() });
    const before = snapshot();
    expect((await post(`${url}/leave`, peer.record(net.clock.now() + 1))).status).toBe(400); // alive, not left
    const tombstone = signLeave(peer.signer, peer.record(), net.clock.now() + 2);
    expect((await post(`${url}/leave`, { ...tombstone, seq: tombstone.seq + 1 })).status).toBe(400); // tampered
    expect(snapshot()).toBe(before);
    expect((await post(`${url}/leave`, tombstone)).status).toBe(200);
    expect(net.peers[0]!.service.peers().some((p) => p.peerId === peer.signer.peerId)).toBe(false);
  });
});
