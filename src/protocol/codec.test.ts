import { toBinary, create } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, toWireMessage, type OutgoingMessage } from './codec.ts';
import { HelloSchema } from './gen/wire_pb.ts';
import {
  MAX_FEATURE_LENGTH,
  MAX_FEATURES,
  MAX_FRAME_BYTES,
  MAX_RESULTS_PER_HIT,
  MAX_ROUTE_LEVELS,
  MAX_TERMS,
  PROTOCOL_VERSION,
  ROUTE_TABLE_DATA_SLACK,
} from './limits.ts';
import { encodeRouteTable, RouteTable, ROUTE_TABLE_MAX_BITS_LOG2, ROUTE_TABLE_MIN_BITS_LOG2 } from './route-table.ts';
import { testHello } from '../../test/support/protocol-sessions.ts';

const me = testHello(1);
const id = { nonce: new Uint8Array(16).fill(7), originPeerId: me.peerId, originAddress: me.searchAddress };
const fileId = 'ab'.repeat(32);
const result = { fileId, name: 'song.ogg', size: 123_456_789n };

const samples: OutgoingMessage[] = [
  { case: 'hello', value: { ...me, protocolVersion: PROTOCOL_VERSION, nonce: new Uint8Array(16).fill(1) } },
  { case: 'query', value: { id, terms: ['song', 'ogg'], ttl: 7, hops: 0 } },
  { case: 'query', value: { id, fileId, ttl: 3, hops: 2 } },
  {
    case: 'hit',
    value: { queryId: id, results: [result], holderPeerId: me.peerId, holderFilesAddress: me.filesAddress, hops: 3 },
  },
  {
    case: 'hit',
    value: {
      queryId: id,
      results: [result, { fileId, name: 'Trip photos', size: 840_023n, folder: true, files: 4 }],
      holderPeerId: me.peerId,
      holderFilesAddress: me.filesAddress,
      hops: 1,
    },
  },
  { case: 'ping', value: { nonce: 42 } },
  { case: 'pong', value: { nonce: 42 } },
  { case: 'close', value: { code: 1, reason: 'unknown message type 9' } },
  {
    case: 'routeTable',
    value: { level: 2, bits: 2 ** 13, patch: true, data: Uint8Array.from(encodeRouteTable(RouteTable.full()).data) },
  },
];

/** A frame body with field `no` set to an empty message: how a newer message type would look. */
function unknownTypeBody(no: number): Uint8Array {
  return Uint8Array.of((no << 3) | 2, 0);
}

describe('codec', () => {
  it.each(samples.map((m) => [m.case, m] as const))('round-trips a %s', (_name, message) => {
    const decoded = decodeMessage(encodeMessage(message));
    expect(decoded).toEqual({ ok: true, message: toWireMessage(message) });
  });

  it('reports an unknown message type with its number', () => {
    expect(decodeMessage(unknownTypeBody(9))).toEqual({
      ok: false,
      error: { kind: 'unknown-type', detail: 'unknown message type 9' },
    });
    expect(decodeMessage(new Uint8Array(0))).toMatchObject({ ok: false, error: { kind: 'unknown-type' } });
  });

  it('reports a hello of another protocol version as a version mismatch, telling a version 1 peer to upgrade', () => {
    const hello = create(HelloSchema, { protocolVersion: PROTOCOL_VERSION + 1, peerId: 'not checked first' });
    const body = encodeHelloRaw(toBinary(HelloSchema, hello));
    expect(decodeMessage(body)).toMatchObject({ ok: false, error: { kind: 'version-mismatch' } });
    const v1 = encodeHelloRaw(toBinary(HelloSchema, create(HelloSchema, { protocolVersion: 1 })));
    expect(decodeMessage(v1)).toMatchObject({
      ok: false,
      error: { kind: 'version-mismatch', detail: expect.stringMatching(/^version 1 peer: upgrade/) },
    });
  });

  it('bounds the features a hello may list', () => {
    const ok = { ...me, nonce: new Uint8Array(16), protocolVersion: PROTOCOL_VERSION };
    expect(() =>
      encodeMessage({
        case: 'hello',
        value: { ...ok, features: Array.from({ length: MAX_FEATURES }, (_, i) => `f${i}`) },
      }),
    ).not.toThrow();
    expect(() =>
      encodeMessage({
        case: 'hello',
        value: { ...ok, features: Array.from({ length: MAX_FEATURES + 1 }, (_, i) => `f${i}`) },
      }),
    ).toThrow(/more than 32 features/);
    expect(() =>
      encodeMessage({ case: 'hello', value: { ...ok, features: ['x'.repeat(MAX_FEATURE_LENGTH + 1)] } }),
    ).toThrow(/feature name/);
    expect(() => encodeMessage({ case: 'hello', value: { ...ok, features: ['Push!'] } })).toThrow(/feature name/);
  });

  it('rejects messages that break a limit', () => {
    const tooManyTerms = {
      case: 'query',
      value: { id, terms: Array.from({ length: MAX_TERMS + 1 }, (_, i) => `t${i}`), ttl: 7 },
    } as const;
    expect(() => encodeMessage(tooManyTerms)).toThrow(/more than 16 terms/);
    const results = Array.from({ length: MAX_RESULTS_PER_HIT + 1 }, () => result);
    const bigHit = {
      case: 'hit',
      value: { queryId: id, results, holderPeerId: me.peerId, holderFilesAddress: me.filesAddress },
    } as const;
    expect(() => encodeMessage(bigHit)).toThrow(/more than 256 results/);
    expect(() => encodeMessage({ case: 'query', value: { id, terms: ['a'], fileId, ttl: 1 } })).toThrow(/both/);
    const hitWith = (r: object): OutgoingMessage => ({
      case: 'hit',
      value: {
        queryId: id,
        results: [{ ...result, ...r }],
        holderPeerId: me.peerId,
        holderFilesAddress: me.filesAddress,
      },
    });
    expect(() => encodeMessage(hitWith({ folder: true, files: 0 }))).toThrow(
      /a folder result has 1 to 10000 files, a file result none/,
    );
    expect(() => encodeMessage(hitWith({ folder: true, files: 10_001 }))).toThrow(/folder result/);
    expect(() => encodeMessage(hitWith({ files: 3 }))).toThrow(/folder result/);
    expect(() =>
      encodeMessage({ case: 'query', value: { id: { ...id, nonce: new Uint8Array(3) }, terms: ['a'] } }),
    ).toThrow(/nonce/);
  });

  it('bounds the signature fields of a push; empty ones (a push of the release before) pass, for the holder to ignore', () => {
    const target = testHello(3).peerId;
    const push = {
      targetPeerId: target,
      requesterPeerId: me.peerId,
      requesterFilesAddress: '127.0.0.1:7070',
      fileId,
      nonce: new Uint8Array(16).fill(5),
      ttl: 7,
    };
    const signed = {
      ...push,
      issuedAt: 1_700_000_000_000n,
      requesterPublicKey: me.publicKey,
      signature: new Uint8Array(64).fill(1),
    };
    expect(decodeMessage(encodeMessage({ case: 'push', value: signed }))).toEqual({
      ok: true,
      message: toWireMessage({ case: 'push', value: signed }),
    });
    expect(() => encodeMessage({ case: 'push', value: push })).not.toThrow();
    expect(() => encodeMessage({ case: 'push', value: { ...signed, signature: new Uint8Array(63) } })).toThrow(
      /signature must be empty or 64 bytes/,
    );
    expect(() => encodeMessage({ case: 'push', value: { ...signed, requesterPublicKey: new Uint8Array(33) } })).toThrow(
      /requester_public_key must be empty or 32 bytes/,
    );
    expect(() => encodeMessage({ case: 'push', value: { ...signed, issuedAt: 2n ** 53n } })).toThrow(/issued_at/);
  });

  it('bounds a route table: level, a power-of-two size within the protocol, data no longer than a deflated table', () => {
    const table = RouteTable.empty(ROUTE_TABLE_MIN_BITS_LOG2);
    table.addTokens(['ubuntu', 'iso']);
    const ok = { level: MAX_ROUTE_LEVELS - 1, ...encodeRouteTable(table) };
    const send = (value: Partial<typeof ok>) => () => encodeMessage({ case: 'routeTable', value: { ...ok, ...value } });
    expect(send({})).not.toThrow();
    expect(send({ level: MAX_ROUTE_LEVELS })).toThrow(/level must be below 4/);
    expect(send({ bits: 3 * 2 ** 12 })).toThrow(/power of two/);
    expect(send({ bits: 2 ** (ROUTE_TABLE_MIN_BITS_LOG2 - 1) })).toThrow(/power of two/);
    expect(send({ bits: 2 ** (ROUTE_TABLE_MAX_BITS_LOG2 + 1) })).toThrow(/power of two/);
    expect(send({ data: new Uint8Array(0) })).toThrow(/data must be/);
    expect(send({ data: new Uint8Array(ok.bits / 8 + ROUTE_TABLE_DATA_SLACK + 1) })).toThrow(/data must be/);
  });

  it('fits the largest table, of random bits (deflate cannot shrink it), in one frame', () => {
    const bytes = new Uint8Array(2 ** ROUTE_TABLE_MAX_BITS_LOG2 / 8);
    for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
    const encoded = encodeRouteTable(RouteTable.fromBytes(bytes));
    expect(encoded.data.length).toBeGreaterThan(bytes.length);
    const body = encodeMessage({ case: 'routeTable', value: { level: 0, ...encoded } });
    expect(body.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(decodeMessage(body)).toMatchObject({ ok: true, message: { case: 'routeTable', value: { bits: 2 ** 20 } } });
  });

  it('rejects a hello whose peer id does not belong to its key', () => {
    const other = testHello(2);
    const hello = { ...me, peerId: other.peerId, protocolVersion: PROTOCOL_VERSION, nonce: new Uint8Array(16) };
    expect(() => encodeMessage({ case: 'hello', value: hello })).toThrow(/does not belong/);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const decoded = decodeMessage(bytes);
        if (!decoded.ok)
          expect(['malformed-frame', 'unknown-type', 'invalid-message', 'version-mismatch']).toContain(
            decoded.error.kind,
          );
      }),
      { numRuns: 2000 },
    );
  });
});

/** Wrap an encoded Hello as Frame field 1 by hand, bypassing the encoder's own checks. */
function encodeHelloRaw(hello: Uint8Array): Uint8Array {
  return Uint8Array.from([0x0a, hello.length, ...hello]);
}
