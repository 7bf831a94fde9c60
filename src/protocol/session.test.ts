import { create, toBinary } from '@bufbuild/protobuf';
import { once } from 'node:events';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame, type WireMessage } from './codec.ts';
import { frame } from './framing.ts';
import { FrameSchema } from './gen/wire_pb.ts';
import { PROTOCOL_VERSION } from './limits.ts';
import { encodeRouteTable, RouteTable } from './route-table.ts';
import { duplexPair } from '../../test/support/duplex-pair.ts';
import { PeerSession, type SessionEvents } from './session.ts';
import { rawPeer, sessionPair, testHello, type RawPeer } from '../../test/support/protocol-sessions.ts';

const fileId = 'cd'.repeat(32);

/** A Hello frame built straight from the schema, so it can carry any version. */
function helloFrame(version = PROTOCOL_VERSION): Uint8Array {
  const value = { ...testHello(5), protocolVersion: version, nonce: new Uint8Array(16).fill(3) };
  return frame(toBinary(FrameSchema, create(FrameSchema, { msg: { case: 'hello', value } })));
}

/** The arguments of `session`'s next `event`: node:events once, typed by the session's event map. */
function next<E extends keyof SessionEvents>(session: PeerSession, event: E): Promise<SessionEvents[E]> {
  return once(session, event) as Promise<SessionEvents[E]>;
}

async function ready(...sessions: PeerSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => (s.isReady ? Promise.resolve() : once(s, 'ready'))));
}

/** Feed `bytes` to a fresh session and return how it closed and what it sent. */
async function attack(
  bytes: Uint8Array[],
  endAfter = false,
): Promise<{ reason: string; message: string; sent: WireMessage[]; peer: RawPeer }> {
  const peer = rawPeer();
  const closed = next(peer.session, 'close');
  for (const chunk of bytes) peer.raw.write(chunk);
  if (endAfter) peer.raw.end();
  const [info] = await closed;
  return { reason: info.reason, message: info.message, sent: await peer.received, peer };
}

describe('peer session', () => {
  let healthy: [PeerSession, PeerSession];

  beforeEach(async () => {
    healthy = sessionPair();
    await ready(...healthy);
  });

  afterEach(async () => {
    const closing = healthy.map((s) => next(s, 'close'));
    healthy[0].close('test over');
    await Promise.all(closing);
  });

  /** The session pair from beforeEach still carries a query, whatever happened to others. */
  async function expectHealthyStillWorks(): Promise<void> {
    const [a, b] = healthy;
    const got = next(b, 'message');
    const id = { nonce: new Uint8Array(16).fill(9), originPeerId: a.remote!.peerId, originAddress: 'x:1' };
    expect(a.send({ case: 'query', value: { id, fileId, ttl: 2 } })).toBe(true);
    const [message] = await got;
    expect(message.case).toBe('query');
  }

  it('completes the handshake and exchanges a query and its hit', async () => {
    const [a, b] = healthy;
    expect(a.remote?.filesAddress).toBe('http://127.0.0.2:7070');
    expect(b.remote?.searchAddress).toBe('127.0.0.1:7071');
    const id = { nonce: new Uint8Array(16).fill(1), originPeerId: a.remote!.peerId, originAddress: '127.0.0.2:7071' };
    const queryAtB = next(b, 'message');
    a.send({ case: 'query', value: { id, terms: ['song'], ttl: 7, hops: 0 } });
    const [query] = await queryAtB;
    expect(query).toMatchObject({ case: 'query', value: { terms: ['song'], ttl: 7 } });
    const hitAtA = next(a, 'message');
    const result = { fileId, name: 'song.ogg', size: 10n };
    b.send({
      case: 'hit',
      value: {
        queryId: id,
        results: [result],
        holderPeerId: b.remote!.peerId,
        holderFilesAddress: 'http://127.0.0.1:7070',
        hops: 1,
      },
    });
    const [hit] = await hitAtA;
    expect(hit).toMatchObject({ case: 'hit', value: { results: [result], hops: 1 } });
  });

  it('negotiates the features both hellos list, in our order', async () => {
    const [x, y] = duplexPair();
    const a = new PeerSession(x, { hello: testHello(1), features: ['push', 'folders', 'keyword-tables'] });
    const b = new PeerSession(y, { hello: testHello(2), features: ['keyword-tables', 'push', 'later'] });
    await ready(a, b);
    expect(a.features).toEqual(['push', 'keyword-tables']);
    expect(b.features).toEqual(['keyword-tables', 'push']);
    expect(b.remote?.features).toEqual(['push', 'folders', 'keyword-tables']);
    const closing = [next(a, 'close'), next(b, 'close')];
    a.close('test over');
    await Promise.all(closing);
  });

  it('sends a Push only over a link that negotiated "push", and closes a link that receives one without it', async () => {
    const push = (target: string, requester: string) => ({
      case: 'push' as const,
      value: {
        targetPeerId: target,
        requesterPeerId: requester,
        requesterFilesAddress: '10.0.0.2:7871',
        fileId,
        nonce: new Uint8Array(16).fill(4),
        ttl: 3,
      },
    });
    // Both list it (the default): it crosses.
    const [a, b] = sessionPair();
    await ready(a, b);
    expect(a.features).toContain('push');
    const atB = next(b, 'message');
    expect(a.send(push(a.remote!.peerId, b.remote!.peerId))).toBe(true); // to b, from a
    const [message] = (await atB) as [WireMessage];
    expect(message).toMatchObject({ case: 'push', value: { requesterFilesAddress: '10.0.0.2:7871', ttl: 3 } });
    const closing = [next(a, 'close'), next(b, 'close')];
    a.close('test over');
    await Promise.all(closing);

    // An older peer lists no features: nothing is sent to it, and one that sends it a push anyway is cut.
    const [x, y] = duplexPair();
    const c = new PeerSession(x, { hello: testHello(1) });
    const old = new PeerSession(y, { hello: testHello(2), features: [] });
    await ready(c, old);
    expect(c.features).toEqual([]);
    expect(c.send(push(old.remote!.peerId, c.remote!.peerId))).toBe(false);
    const cut = next(c, 'close');
    (old as unknown as { write(m: unknown): boolean }).write(push(c.remote!.peerId, old.remote!.peerId)); // bypasses send's own check
    const [info] = await cut;
    expect(info).toMatchObject({ reason: 'unexpected-message' });
    expect((info as { message: string }).message).toContain('did not negotiate "push"');
  });

  it('sends a RouteTable only over a link that negotiated "qrp", closes a link that receives one without it, and closes on reject', async () => {
    const table = { case: 'routeTable' as const, value: { level: 0, ...encodeRouteTable(RouteTable.full()) } };
    const [a, b] = sessionPair();
    await ready(a, b);
    expect(a.features).toContain('qrp');
    const atB = next(b, 'message');
    expect(a.send(table)).toBe(true);
    const [message] = (await atB) as [WireMessage];
    expect(message).toMatchObject({ case: 'routeTable', value: { level: 0, bits: 2 ** 13, patch: false } });
    // The owner found the table undecodable: the link closes, and the peer is told why.
    const told = next(a, 'close');
    b.reject('invalid-route-table', 'route table data does not inflate to 1024 bytes');
    const [info] = await told;
    expect(info).toMatchObject({
      reason: 'closed-by-peer',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('inflate'),
    });
    expect(b.closeInfo).toMatchObject({ reason: 'invalid-route-table' });

    const [x, y] = duplexPair();
    const c = new PeerSession(x, { hello: testHello(1) });
    const old = new PeerSession(y, { hello: testHello(2), features: ['push', 'folders'] });
    await ready(c, old);
    expect(c.send(table)).toBe(false);
    const cut = next(c, 'close');
    (old as unknown as { write(m: unknown): boolean }).write(table); // bypasses send's own check
    const [closed] = await cut;
    expect(closed).toMatchObject({
      reason: 'unexpected-message',
      message: expect.stringContaining('did not negotiate "qrp"'),
    });
  });

  it('closes a link whose hello claims another peer than the transport proved, before it is ready', async () => {
    const [x, y] = duplexPair();
    const honest = testHello(1);
    const proven = testHello(3).peerId;
    const a = new PeerSession(x, { hello: testHello(2), remotePeerId: proven });
    const b = new PeerSession(y, { hello: honest });
    const ready = vi.fn();
    a.on('ready', ready);
    const [[atA], [atB]] = await Promise.all([next(a, 'close'), next(b, 'close')]);
    expect(ready).not.toHaveBeenCalled();
    expect(atA).toMatchObject({ reason: 'peer-mismatch', code: 'PEER_ID_MISMATCH' });
    expect(atA.message).toBe(`the hello claims peer ${honest.peerId} but the TLS certificate proved ${proven}`);
    expect(atB).toMatchObject({ reason: 'closed-by-peer', code: 'PEER_ID_MISMATCH' });
  });

  it.each([
    ['a huge length prefix', [Uint8Array.of(0xff, 0xff, 0xff, 0xff)], 'frame-too-large', 'PAYLOAD_TOO_LARGE'],
    ['garbage', [frame(Uint8Array.of(0xff, 0xfe, 0x01, 0x99, 0x42))], 'malformed-frame', 'BAD_REQUEST'],
    ['an unknown message type', [frame(Uint8Array.of((12 << 3) | 2, 0))], 'unknown-type', 'BAD_REQUEST'],
    ['a query before hello', [encodeFrame({ case: 'ping', value: { nonce: 1 } })], 'unexpected-message', 'BAD_REQUEST'],
    ['a wrong version', [helloFrame(7)], 'version-mismatch', 'BAD_REQUEST'],
    ['a second hello', [helloFrame(), helloFrame()], 'unexpected-message', 'BAD_REQUEST'],
  ])('closes only that link on %s, telling the peer why', async (_name, bytes, reason, code) => {
    const result = await attack(bytes);
    expect(result.reason).toBe(reason);
    const close = result.sent.find((m) => m.case === 'close');
    expect(close?.value).toMatchObject({ code: { PAYLOAD_TOO_LARGE: 12, BAD_REQUEST: 1 }[code] });
    await expectHealthyStillWorks();
  });

  it('closes a link whose stream ends inside a frame', async () => {
    const result = await attack([helloFrame(), frame(new Uint8Array(100)).subarray(0, 50)], true);
    expect(result.reason).toBe('truncated-frame');
    await expectHealthyStillWorks();
  });

  it('closes with a protocol reason, never a throw, whatever bytes follow the hello', async () => {
    const expected = [
      'frame-too-large',
      'truncated-frame',
      'malformed-frame',
      'unknown-type',
      'invalid-message',
      'unexpected-message',
      'stream-ended',
    ];
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (garbage) => {
        const result = await attack([helloFrame(), garbage], true);
        expect(expected).toContain(result.reason);
      }),
      { numRuns: 100 },
    );
    await expectHealthyStillWorks();
  });

  it('reports the reason a peer gives when it closes', async () => {
    const [a, b] = sessionPair();
    await ready(a, b);
    const closed = next(b, 'close');
    a.close('shutting down', 'UNAVAILABLE');
    const [info] = await closed;
    expect(info).toEqual({ reason: 'closed-by-peer', code: 'UNAVAILABLE', message: 'shutting down' });
  });

  it('closes a link when no hello comes within the handshake timeout', async () => {
    const peer = rawPeer({ handshakeMs: 20 });
    const [info] = await next(peer.session, 'close');
    expect(info.reason).toBe('handshake-timeout');
    expect((await peer.received).at(-1)).toMatchObject({ case: 'close', value: { code: 15 } });
  });

  it('closes a link when nothing arrives within the idle timeout', async () => {
    const peer = rawPeer({ idleMs: 20, keepaliveMs: 1_000 });
    peer.raw.write(helloFrame());
    await once(peer.session, 'ready');
    const [info] = await next(peer.session, 'close');
    expect(info.reason).toBe('idle-timeout');
  });

  it('closes a link whose frame trickles in past the frame deadline, though bytes keep the idle timer fresh', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const peer = rawPeer({ idleMs: 40, keepaliveMs: 1_000, frameMs: 100 });
      peer.raw.write(helloFrame());
      await vi.advanceTimersByTimeAsync(0);
      expect(peer.session.isReady).toBe(true);
      const closed = next(peer.session, 'close');
      // A Ping frame (prefix + body), one byte every 30 ms: always inside the idle timeout.
      const ping = encodeFrame({ case: 'ping', value: { nonce: 1 } });
      let sent = 0;
      while (peer.session.isReady && sent < ping.length - 1) {
        peer.raw.write(ping.subarray(sent, ++sent));
        await vi.advanceTimersByTimeAsync(30);
      }
      const [info] = await closed;
      expect(info.reason).toBe('frame-timeout');
      // Closed on the 4th byte's wait: 100 ms after the first byte, short of the whole frame.
      expect(sent).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets frames that arrive in pieces within the frame deadline through, one after another', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const peer = rawPeer({ idleMs: 1_000, keepaliveMs: 1_000, frameMs: 100 });
      peer.raw.write(helloFrame());
      await vi.advanceTimersByTimeAsync(0);
      const ping = encodeFrame({ case: 'ping', value: { nonce: 1 } });
      // Each frame takes 80 ms, in two halves; ten of them take far longer than the deadline.
      for (let i = 0; i < 10; i++) {
        peer.raw.write(ping.subarray(0, 3));
        await vi.advanceTimersByTimeAsync(80);
        peer.raw.write(ping.subarray(3));
        await vi.advanceTimersByTimeAsync(0);
      }
      expect(peer.session.isReady).toBe(true);
      const closed = next(peer.session, 'close');
      peer.session.close('test over');
      await closed;
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps an idle link alive with pings', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const [a, b] = sessionPair({ keepaliveMs: 10, idleMs: 35 });
      await ready(a, b);
      for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(10);
      expect(a.isReady && b.isReady).toBe(true);
      const closed = [next(a, 'close'), next(b, 'close')];
      a.close();
      await Promise.all(closed);
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves no timer behind, however a session ends', async () => {
    // Fake timers count only the timers sessions create, so the check is exact.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const [a, b] = sessionPair({ keepaliveMs: 10, idleMs: 1_000 });
      await ready(a, b);
      const closedByUs = [next(a, 'close'), next(b, 'close')];
      a.close();
      await vi.advanceTimersByTimeAsync(0);
      await Promise.all(closedByUs);

      const broken = rawPeer();
      const closedOnGarbage = next(broken.session, 'close');
      broken.raw.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
      await vi.advanceTimersByTimeAsync(0);
      await closedOnGarbage;

      const silent = rawPeer({ handshakeMs: 50 });
      const closedOnTimeout = next(silent.session, 'close');
      await vi.advanceTimersByTimeAsync(50);
      await closedOnTimeout;

      const idle = rawPeer({ idleMs: 50 });
      idle.raw.write(helloFrame());
      await vi.advanceTimersByTimeAsync(0);
      expect(idle.session.isReady).toBe(true);
      const closedOnIdle = next(idle.session, 'close');
      await vi.advanceTimersByTimeAsync(50);
      await closedOnIdle;

      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('survives a listener that throws, closing that link only', async () => {
    const [a, b] = sessionPair();
    await ready(a, b);
    b.on('message', () => {
      throw new Error('boom');
    });
    const closed = next(b, 'close');
    const id = { nonce: new Uint8Array(16), originPeerId: a.remote!.peerId, originAddress: 'x:1' };
    a.send({ case: 'query', value: { id, fileId, ttl: 1 } });
    const [info] = await closed;
    expect(info).toMatchObject({ reason: 'closed-locally', code: 'INTERNAL' });
    await expectHealthyStillWorks();
  });
});
