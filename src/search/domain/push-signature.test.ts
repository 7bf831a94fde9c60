import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memorySigner } from '../../shared/keys.ts';
import { checkPushSignature, encodePushForSigning, signPush, type SignedPushFields } from './push-signature.ts';

const NOW = 1_700_000_000_000;
const WINDOW = { maxAgeMs: 60_000, clockSkewMs: 30_000 };
const requester = memorySigner();
const holder = memorySigner();
const mallory = memorySigner();

function pushBy(signer = requester, issuedAt = NOW): SignedPushFields {
  const fields = {
    targetPeerId: holder.peerId,
    requesterFilesAddress: '10.0.0.1:7070',
    fileId: 'ab'.repeat(32),
    nonce: new Uint8Array(16).fill(3),
  };
  return { ...fields, ...signPush(signer, fields, issuedAt) };
}

describe('the signature on a push', () => {
  it('verifies a push its requester signed, within the window either side of the holder clock', () => {
    expect(checkPushSignature(pushBy(), NOW, WINDOW)).toBeUndefined();
    expect(checkPushSignature(pushBy(requester, NOW - 90_000), NOW, WINDOW)).toBeUndefined();
    expect(checkPushSignature(pushBy(requester, NOW + 30_000), NOW, WINDOW)).toBeUndefined();
  });

  it.each([
    ['target', { targetPeerId: mallory.peerId }],
    ['file', { fileId: 'cd'.repeat(32) }],
    ['address', { requesterFilesAddress: '10.6.6.6:7070' }],
    ['nonce', { nonce: new Uint8Array(16).fill(4) }],
    ['time', { issuedAt: BigInt(NOW + 1) }],
  ])('rejects a push whose %s was changed after signing', (_name, change: Partial<SignedPushFields>) => {
    expect(checkPushSignature({ ...pushBy(), ...change }, NOW, WINDOW)).toBe('bad-signature');
  });

  it('signs the bytes docs/PROTOCOL.md §6a lists: another implementation must produce the same', () => {
    const bytes = encodePushForSigning({
      targetPeerId: 'a'.repeat(52),
      requesterPeerId: 'b'.repeat(52),
      requesterPublicKey: new Uint8Array(32).fill(7),
      requesterFilesAddress: '10.0.0.1:7070',
      fileId: 'ab'.repeat(32),
      nonce: new Uint8Array(16).fill(3),
      issuedAt: 1_700_000_000_456n,
    });
    expect(bytes.subarray(0, 16).toString('latin1')).toBe('peershare/push\0\x01');
    expect(bytes.length).toBe(263);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      '9b2c36847e6d9ede8044a882b5512aa1d5af943fb73aac365aacf6ada5c61e78',
    );
  });

  it('does not sign the ttl, which forwarders lower', () => {
    expect(checkPushSignature({ ...pushBy(), ttl: 3 } as SignedPushFields, NOW, WINDOW)).toBeUndefined();
  });

  it('rejects a push naming a requester whose key did not sign it', () => {
    // Mallory's own key and signature under the requester's id: the key is not the requester's.
    expect(checkPushSignature({ ...pushBy(mallory), requesterPeerId: requester.peerId }, NOW, WINDOW)).toBe(
      'key-mismatch',
    );
    // The requester's key (public, from any Hello) with Mallory's signature: does not verify.
    const forged = {
      ...pushBy(mallory),
      requesterPeerId: requester.peerId,
      requesterPublicKey: new Uint8Array(requester.publicKey),
    };
    expect(checkPushSignature(forged, NOW, WINDOW)).toBe('bad-signature');
  });

  it('rejects a push issued before the window or too far ahead of the holder clock: it cannot be replayed later', () => {
    expect(checkPushSignature(pushBy(requester, NOW - 90_001), NOW, WINDOW)).toBe('stale');
    expect(checkPushSignature(pushBy(requester, NOW + 30_001), NOW, WINDOW)).toBe('stale');
    expect(checkPushSignature(pushBy(), NOW + 90_001, WINDOW)).toBe('stale');
  });

  it('rejects an unsigned push (a peer of the release before)', () => {
    const unsigned = { ...pushBy(), issuedAt: 0n, requesterPublicKey: new Uint8Array(0), signature: new Uint8Array(0) };
    expect(checkPushSignature(unsigned, NOW, WINDOW)).toBe('unsigned');
    expect(checkPushSignature({ ...pushBy(), signature: new Uint8Array(0) }, NOW, WINDOW)).toBe('unsigned');
  });
});
