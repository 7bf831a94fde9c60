import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PeershareError } from '../../shared/errors.ts';
import { isAddress } from './addresses.ts';
import {
  addressSets,
  encodeForSigning,
  nextSeq,
  signLeave,
  signRecord,
  verifyRecord,
  type PeerRecord,
} from './peer-record.ts';
import { MAX_ADVERTISED_ADDRESSES, type ServiceAddresses } from './addresses.ts';
import { fields, NOW, testPeer } from '../../../test/support/fetch-records.ts';

function rejection(input: unknown, now?: number): PeershareError {
  try {
    verifyRecord(input, now === undefined ? {} : { now });
  } catch (err) {
    if (err instanceof PeershareError) return err;
    throw err;
  }
  throw new Error('record was accepted');
}

describe('signed peer records', () => {
  const a = testPeer(1);
  const b = testPeer(2);

  it('verifies a record its owner signed, whatever order its JSON keys arrive in', () => {
    const record = a.record();
    expect(verifyRecord(record, { now: NOW })).toEqual(record);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(record).reverse()))) as unknown;
    expect(verifyRecord(reordered, { now: NOW })).toEqual(record);
  });

  it('signs bytes that never change: a different encoding would break every record already signed', () => {
    const bytes = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), {
      status: 'left',
      addresses: { files: '10.0.0.1:7070', search: '10.0.0.1:7071', fetch: '10.0.0.1:7072' },
      protocol: 2,
      seq: 1_700_000_000_123,
      issuedAt: 1_700_000_000_456,
    });
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      '3d5c3afa3e8efd79d19dd0b6fceaceadd273459f162b21f1bd15ace0403cff0d',
    );
  });

  it('rejects a forged signature: changed fields, or signed by another key', () => {
    const record = a.record();
    const moved = { ...record, addresses: { ...record.addresses, files: '6.6.6.6:7001' } };
    expect(rejection(moved).details).toEqual({ field: 'signature' });
    const bySomeoneElse = {
      ...record,
      signature: b.signer.sign(encodeForSigning(record.peerId, a.signer.publicKey, record)).toString('hex'),
    };
    expect(rejection(bySomeoneElse).details).toEqual({ field: 'signature' });
  });

  it("rejects a record claiming another peer's id", () => {
    // b signs a record about itself but puts a's id on it: the id does not derive from b's key.
    const claimed: PeerRecord = {
      ...b.record(),
      peerId: a.signer.peerId,
      signature: b.signer.sign(encodeForSigning(a.signer.peerId, b.signer.publicKey, fields(2))).toString('hex'),
    };
    const err = rejection(claimed);
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.details).toEqual({ field: 'peerId' });
  });

  it.each([
    ['seq 0', { seq: 0 }],
    ['fractional seq', { seq: 1.5 }],
    ['seq beyond safe integers', { seq: 2 ** 60 }],
    ['negative issuedAt', { issuedAt: -1 }],
    ['protocol 0', { protocol: 0 }],
    ['protocol above 16 bits', { protocol: 70_000 }],
    ['unknown status', { status: 'zombie' }],
  ])('rejects absurd values: %s', (_name, change) => {
    expect(rejection({ ...a.record(), ...change }).code).toBe('BAD_REQUEST');
  });

  it('refuses a correctly signed record of protocol 1: a version 1 peer must upgrade', () => {
    const old = a.record({ protocol: 1 });
    const err = rejection(old);
    expect(err).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'protocol' } });
    expect(err.message).toMatch(/version 1 peer .*upgrade to protocol 2/);
    expect(verifyRecord(a.record({ protocol: 3 })).protocol).toBe(3); // a newer release: its features are negotiated
  });

  it('rejects a record issued far in the future, unknown fields and non-objects', () => {
    const future = a.record({ seq: NOW + 3_600_000, issuedAt: NOW + 3_600_000 });
    expect(rejection(future, NOW).details).toEqual({ field: 'issuedAt' });
    expect(rejection({ ...a.record(), extra: 1 }).details).toEqual({ field: 'extra' });
    expect(rejection([]).code).toBe('BAD_REQUEST');
    expect(rejection({ ...a.record(), publicKey: 'zz' }).details).toEqual({ field: 'publicKey' });
  });

  it.each([
    '',
    'host',
    ':7001',
    'host:0',
    'host:65536',
    'host:07001',
    'a b:1',
    'http://x:1',
    '999.1.1.1:80',
    '-bad.example:80',
    '[::1:80',
  ])('rejects the malformed address %j', (address) => {
    expect(isAddress(address)).toBe(false);
    expect(() =>
      signRecord(a.signer, fields(1, { addresses: { files: address, search: '127.0.0.1:2', fetch: '127.0.0.1:3' } })),
    ).toThrow(PeershareError);
  });

  it.each(['127.0.0.1:7001', '[::1]:7001', 'peer-7.example.org:443', 'localhost:1'])(
    'accepts the address %j',
    (address) => {
      expect(isAddress(address)).toBe(true);
    },
  );

  it('signs a leave tombstone with a higher seq than the record it ends', () => {
    const current = a.record();
    const tombstone = signLeave(a.signer, current, NOW - 5_000); // even with a clock set back
    expect(tombstone.status).toBe('left');
    expect(tombstone.seq).toBe(current.seq + 1);
    expect(verifyRecord(tombstone).status).toBe('left');
    expect(nextSeq(10, 5)).toBe(11);
    expect(nextSeq(10, 50)).toBe(50);
  });

  it('skips the signature check only for a copy identical to an already verified record', () => {
    const record = a.record();
    const calls: number[] = [];
    const verifier = () => (calls.push(1), true);
    verifyRecord(record, { verified: () => record, verifier });
    expect(calls).toHaveLength(0);
    const changed = { ...record, addresses: { ...record.addresses, search: '6.6.6.6:1' } };
    verifyRecord(changed, { verified: () => record, verifier });
    expect(calls).toHaveLength(1);
  });

  describe('several address sets (--advertise repeated)', () => {
    const at = (host: string): ServiceAddresses => ({
      files: `${host}:7001`,
      search: `${host}:7002`,
      fetch: `${host}:7003`,
    });
    const sets = (n: number) => Array.from({ length: n }, (_, i) => at(`10.0.0.${i + 1}`));

    it('signs and verifies every set, in order; a record with one set has no otherAddresses field', () => {
      const record = a.record({
        addresses: at('10.0.0.1'),
        otherAddresses: [at('[2001:db8::2]'), at('peer.example.org')],
      });
      expect(addressSets(verifyRecord(record, { now: NOW }))).toEqual([
        at('10.0.0.1'),
        at('[2001:db8::2]'),
        at('peer.example.org'),
      ]);
      expect(JSON.parse(JSON.stringify(verifyRecord(record)))).toEqual(record);
      expect('otherAddresses' in a.record()).toBe(false);
    });

    it('signs the further sets: changing, dropping, reordering or adding one breaks the signature', () => {
      const record = a.record({ addresses: at('10.0.0.1'), otherAddresses: [at('10.0.0.2'), at('10.0.0.3')] });
      const [second, third] = record.otherAddresses as ServiceAddresses[];
      for (const otherAddresses of [
        [at('6.6.6.6'), third],
        [second],
        [third, second],
        [second, third, at('6.6.6.6')],
      ]) {
        expect(rejection({ ...record, otherAddresses }).details).toEqual({ field: 'signature' });
      }
      const { otherAddresses: _dropped, ...single } = record;
      expect(rejection(single).details).toEqual({ field: 'signature' });
    });

    it('encodes a one-set record exactly as before the list existed (version 1), and a longer one as version 2', () => {
      const fieldsOf = (otherAddresses?: ServiceAddresses[]) => ({
        status: 'alive' as const,
        addresses: at('10.0.0.1'),
        ...(otherAddresses ? { otherAddresses } : {}),
        protocol: 2,
        seq: 1,
        issuedAt: 1,
      });
      const one = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), fieldsOf());
      const two = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), fieldsOf([at('10.0.0.2')]));
      const magic = 'peershare/peer-record\0'.length;
      expect([one[magic], two[magic]]).toEqual([1, 2]);
      expect(two.subarray(magic + 1, one.length)).toEqual(one.subarray(magic + 1));
      expect(two[one.length]).toBe(1); // the count of further sets
    });

    it(`lists at most ${MAX_ADVERTISED_ADDRESSES} sets, each valid and each once; an empty list is refused (one encoding per record)`, () => {
      const most = a.record({ addresses: at('10.0.0.100'), otherAddresses: sets(MAX_ADVERTISED_ADDRESSES - 1) });
      expect(addressSets(verifyRecord(most))).toHaveLength(MAX_ADVERTISED_ADDRESSES);
      expect(() => a.record({ otherAddresses: sets(MAX_ADVERTISED_ADDRESSES) })).toThrow(/at most 8 address sets/);
      const valid = a.record({ otherAddresses: [at('10.0.0.1')] });
      const hostile: Array<[unknown, string]> = [
        [sets(MAX_ADVERTISED_ADDRESSES), 'otherAddresses'],
        [[], 'otherAddresses'],
        [at('10.0.0.1'), 'otherAddresses'],
        [[{ ...at('10.0.0.1'), files: 'nowhere' }], 'otherAddresses[0].files'],
        [[{ ...at('10.0.0.1'), extra: 'x:1' }], 'otherAddresses[0]'],
        [['10.0.0.1:7003'], 'otherAddresses[0]'],
        [[at('10.0.0.1'), at('10.0.0.1')], 'otherAddresses'],
        [[valid.addresses], 'otherAddresses'],
      ];
      for (const [otherAddresses, field] of hostile)
        expect(rejection({ ...valid, otherAddresses }).details, JSON.stringify(otherAddresses)).toEqual({ field });
    });

    it('does not take a copy with other further sets for the verified one (no skipped signature check)', () => {
      const record = a.record({ otherAddresses: [at('10.0.0.2')] });
      const calls: number[] = [];
      const verifier = () => (calls.push(1), true);
      verifyRecord(record, { verified: () => record, verifier });
      verifyRecord({ ...record, otherAddresses: [at('10.0.0.3')] }, { verified: () => record, verifier });
      expect(calls).toHaveLength(1);
    });
  });
  describe("filesVersion (where the peer's shared-file list stands)", () => {
    const base = {
      status: 'alive' as const,
      addresses: { files: '10.0.0.1:7070', search: '10.0.0.1:7071', fetch: '10.0.0.1:7072' },
      protocol: 2,
      seq: 1_700_000_000_123,
      issuedAt: 1_700_000_000_456,
    };
    const magic = 'peershare/peer-record\0'.length;

    it('is encoding version 3: the version 1 bytes, a count of further sets (0 here), then the version', () => {
      const one = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), base);
      const three = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), { ...base, filesVersion: 258 });
      expect([one[magic], three[magic]]).toEqual([1, 3]);
      expect(three.subarray(magic + 1, one.length)).toEqual(one.subarray(magic + 1));
      expect(three.subarray(one.length)).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 2]));
      expect(createHash('sha256').update(three).digest('hex')).toBe(
        '5f092b1376da6c3bd1cc566befd1a15bf8b9457ba34e9adf0ab43969d806eab8',
      );
    });

    it('with further sets: the version 2 bytes with version byte 3, then the version', () => {
      const others = [{ files: '10.0.0.2:7070', search: '10.0.0.2:7071', fetch: '10.0.0.2:7072' }];
      const two = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), { ...base, otherAddresses: others });
      const three = encodeForSigning('a'.repeat(52), Buffer.alloc(32, 7), {
        ...base,
        otherAddresses: others,
        filesVersion: 1,
      });
      expect([two[magic], three[magic]]).toEqual([2, 3]);
      expect(three.subarray(magic + 1, two.length)).toEqual(two.subarray(magic + 1));
      expect(three.length).toBe(two.length + 8);
    });

    it('is signed: changing, adding or dropping it breaks the signature; a record without it has no such field', () => {
      const record = a.record({ filesVersion: 5 });
      expect(verifyRecord(record, { now: NOW }).filesVersion).toBe(5);
      expect(JSON.parse(JSON.stringify(verifyRecord(record)))).toEqual(record);
      expect(rejection({ ...record, filesVersion: 6 }).details).toEqual({ field: 'signature' });
      const { filesVersion: _dropped, ...without } = record;
      expect(rejection(without).details).toEqual({ field: 'signature' });
      expect(rejection({ ...a.record(), filesVersion: 0 }).details).toEqual({ field: 'signature' });
      expect('filesVersion' in a.record()).toBe(false);
      expect('filesVersion' in verifyRecord(a.record())).toBe(false);
    });

    it.each([-1, 1.5, 2 ** 60, '7', null])('refuses the absurd filesVersion %j', (filesVersion) => {
      expect(rejection({ ...a.record({ filesVersion: 1 }), filesVersion }).details).toEqual({ field: 'filesVersion' });
    });

    it('does not take a copy with another filesVersion for the verified one (no skipped signature check)', () => {
      const record = a.record({ filesVersion: 1 });
      const calls: number[] = [];
      const verifier = () => (calls.push(1), true);
      verifyRecord({ ...record, filesVersion: 2 }, { verified: () => record, verifier });
      expect(calls).toHaveLength(1);
    });
  });
});
