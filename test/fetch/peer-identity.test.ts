/**
 * Fetch between peers is TLS 1.3 pinned to peer ids (issue 12), over real sockets on loopback:
 * peer routes refuse plaintext and local routes refuse peers; an announce must be the record of
 * the peer the connection proved; a version 1 record never enters a table; a join address is
 * trusted on first use, and a different key there later is refused until the user forgets the pin.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { signLeave, signRecord } from '../../src/fetch/domain/peer-record.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { converged, createFetchNet, type NetPeer } from '../support/fetch-net.ts';
import { tlsPeerClient } from '../support/tls-peer-client.ts';

const addresses = { files: '127.9.7.1:7871', search: '127.9.7.1:7872', fetch: '127.9.7.1:7874' };

const idOf = (peer: NetPeer) => peer.service.status().peerId;

/** Everything a pino logger writes, as parsed lines. */
function capture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('Fetch over TLS, pinned to peer ids', () => {
  it('refuses a plaintext POST /sync or /leave, and keeps the local routes from peers over TLS', async () => {
    const net = await createFetchNet(1);
    const { url } = net.peers[0]!.service;
    const address = net.peers[0]!.fetchAddress;
    const signer = memorySigner();
    const from = signRecord(signer, {
      status: 'alive',
      addresses,
      protocol: 2,
      seq: net.clock.epochMs(),
      issuedAt: net.clock.epochMs(),
    });
    for (const [route, body] of [
      ['/sync', { from }],
      ['/leave', signLeave(signer, from, net.clock.epochMs())],
    ] as const) {
      const plain = await fetch(`${url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(plain.status).toBe(403);
      expect(((await plain.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/over TLS/),
      });
    }
    expect(net.peers[0]!.service.peers()).toEqual([]);

    const peer = await tlsPeerClient();
    for (const [method, path] of [
      ['GET', '/peers'],
      ['GET', '/membership-log'],
      ['GET', '/join-pins'],
      ['DELETE', `/join-pins/${peer.signer.peerId}`],
    ] as const) {
      const answer = await peer.raw(address, method, path);
      expect({ path, status: answer.status, code: answer.body.error?.code }).toEqual({
        path,
        status: 403,
        code: 'FORBIDDEN',
      });
    }
    // This host's plaintext callers still read them.
    expect((await fetch(`${url}/peers`)).status).toBe(200);
  });

  it("refuses an announce of a record that is not the TLS-proven peer's own, though validly signed", async () => {
    const net = await createFetchNet(2);
    expect(await net.stepUntil(() => converged(net), 3)).toBeGreaterThan(0);
    const victim = net.peers[0]!;
    const before = JSON.stringify(victim.service.peers());
    const attacker = await tlsPeerClient();
    // A real, current record of peer 1, replayed by another peer, and a record signed by a third key.
    const honest = (await (await fetch(`${victim.service.url}/peers`)).json()) as { items: Array<{ peerId: string }> };
    expect(honest.items.map((p) => p.peerId)).toEqual([idOf(net.peers[1]!)]);
    const third = memorySigner();
    const thirds = signRecord(third, {
      status: 'alive',
      addresses,
      protocol: 2,
      seq: net.clock.epochMs() + 5,
      issuedAt: net.clock.epochMs(),
    });
    const refused = await attacker.post(victim.fetchAddress, '/sync', { from: thirds });
    expect(refused).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', details: { claimed: third.peerId, proven: attacker.signer.peerId } } },
    });
    expect(refused.body.error?.message).toContain(`proved peer ${attacker.signer.peerId}`);
    expect(JSON.stringify(victim.service.peers())).toBe(before);
    // The same request from the peer it belongs to is taken: held unverified until the victim
    // reaches that peer at its own address.
    const owner = await tlsPeerClient(third);
    const waiting = victim.service.status().admission.unverified;
    expect((await owner.post(victim.fetchAddress, '/sync', { from: thirds })).status).toBe(200);
    expect(victim.service.status().admission.unverified).toBe(waiting + 1);
  });

  it('refuses a protocol 1 record: a version 1 peer never enters the table', async () => {
    const net = await createFetchNet(1);
    const address = net.peers[0]!.fetchAddress;
    const old = await tlsPeerClient();
    const from = signRecord(old.signer, {
      status: 'alive',
      addresses,
      protocol: 1,
      seq: net.clock.epochMs(),
      issuedAt: net.clock.epochMs(),
    });
    const answer = await old.post(address, '/sync', { from });
    expect(answer).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', details: { field: 'from.protocol' } } },
    });
    expect(answer.body.error?.message).toMatch(new RegExp(`version 1 peer.*must upgrade to protocol 2`));
    expect(net.peers[0]!.service.peers()).toEqual([]);
  });

  it('pins a join address to the id it proved first; another key there is refused naming both ids until the pin is forgotten', async () => {
    const logs = capture();
    const tuning = { suspectAfterRounds: 1, downAfterRounds: 1, evictAfterMs: 60_000 };
    const net = await createFetchNet(2, {
      tuning,
      loggerOf: (i) => (i === 1 ? logs.logger : pino({ level: 'silent' })),
    });
    const [bootstrap, joiner] = [net.peers[0]!, net.peers[1]!];
    const first = idOf(bootstrap);
    await net.step();
    const pins = async () =>
      (
        (await (await fetch(`${joiner.service.url}/join-pins`)).json()) as {
          pins: Array<{ address: string; peerId: string; refused?: { peerId: string } }>;
        }
      ).pins;
    expect(await pins()).toEqual([{ address: bootstrap.fetchAddress, peerId: first, pinnedAt: expect.any(Number) }]);
    expect(logs.lines.some((l) => l.msg.includes('trust on first use') && l.peerId === first)).toBe(true);

    // Another peer (a new key) takes the address: once the joiner has nobody alive, it asks the join address again.
    await net.kill(bootstrap);
    await net.restart(bootstrap, { newKey: true });
    const second = idOf(bootstrap);
    expect(second).not.toBe(first);
    expect(await net.stepUntil(() => joiner.service.joinPins()[0]?.refused !== undefined, 10)).toBeGreaterThan(0);
    expect(await pins()).toEqual([
      {
        address: bootstrap.fetchAddress,
        peerId: first,
        pinnedAt: expect.any(Number),
        refused: { peerId: second, at: expect.any(Number) },
      },
    ]);
    const warning = logs.lines.find((l) => l.level === 50 && l.proven === second);
    expect(warning?.msg).toContain(`proved peer id ${second}, but peer id ${first} was pinned`);
    expect(warning?.msg).toContain(`peershare peers forget ${first}`);
    expect(joiner.service.peers().some((p) => p.peerId === second)).toBe(false);
    expect(bootstrap.service.peers()).toEqual([]); // nothing was sent to it beyond the handshake

    // The user accepts the new key: the next contact pins it, and the two peers know each other.
    const forgotten = await fetch(`${joiner.service.url}/join-pins/${first}`, {
      method: 'DELETE',
      headers: { 'x-peershare-client': 'test' },
    });
    expect(forgotten.status).toBe(200);
    expect(((await forgotten.json()) as { pins: Array<{ peerId: string }> }).pins).toEqual([
      expect.objectContaining({ address: bootstrap.fetchAddress, peerId: first }),
    ]);
    const knows = () => joiner.service.peers().some((p) => p.peerId === second && p.state === 'alive');
    expect(await net.stepUntil(knows, 10)).toBeGreaterThan(0);
    expect(await pins()).toEqual([{ address: bootstrap.fetchAddress, peerId: second, pinnedAt: expect.any(Number) }]);
  });
});
