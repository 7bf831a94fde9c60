/**
 * The requester's signature on a Push (docs/PROTOCOL.md §6a). Without it any peer on the overlay
 * could name a verified peer R as requester, at R's own address, and have a firewalled holder
 * open connections to R that R never asked for. The requester signs, with its identity key, the
 * fields that say who asks whom for what, where to connect, and when (shared/signing-bytes.ts, as
 * peer records are signed); the push carries its public key, so the holder checks it alone,
 * without asking its membership: the key must hash to the requester id, the signature must
 * verify, and issuedAt must lie within the window. The ttl is not signed: forwarders lower it.
 */
import { peerIdFromPublicKey, verifySignature, type Signer } from '../../shared/keys.ts';
import { SigningBytes } from '../../shared/signing-bytes.ts';

const MAGIC = 'peershare/push';
const ENCODING_VERSION = 1;

/** The fields of a push its requester signs, and what signing adds. */
export interface SignedPushFields {
  targetPeerId: string;
  requesterPeerId: string;
  requesterFilesAddress: string;
  fileId: string;
  nonce: Uint8Array;
  /** ms since the epoch, requester's clock; 0n: unsigned. */
  issuedAt: bigint;
  /** The requester's raw Ed25519 public key; empty: unsigned. */
  requesterPublicKey: Uint8Array;
  /** Empty: unsigned. */
  signature: Uint8Array;
}

/** How old, and how far ahead of the holder's clock, a signed push may be. */
export interface PushWindow {
  /** A push issued longer ago than this (plus the skew) is ignored: it cannot be replayed later. */
  maxAgeMs: number;
  /** Clocks of two peers may differ by this much. */
  clockSkewMs: number;
}

/** Why a holder ignores a push, in the order checked. */
export type PushRejection = 'unsigned' | 'key-mismatch' | 'stale' | 'bad-signature';

/** The exact bytes a push's signature covers. */
export function encodePushForSigning(push: Omit<SignedPushFields, 'signature'>): Buffer {
  return new SigningBytes(MAGIC, ENCODING_VERSION)
    .text(push.targetPeerId)
    .text(push.requesterPeerId)
    .fixed(push.requesterPublicKey)
    .text(push.requesterFilesAddress)
    .text(push.fileId)
    .bytes(push.nonce)
    .u64(push.issuedAt)
    .done();
}

/** The requester fields of a push `signer` sends at `now`, signed. */
export function signPush(
  signer: Signer,
  push: Pick<SignedPushFields, 'targetPeerId' | 'requesterFilesAddress' | 'fileId' | 'nonce'>,
  now: number,
): Pick<SignedPushFields, 'requesterPeerId' | 'issuedAt' | 'requesterPublicKey' | 'signature'> {
  const signed = {
    requesterPeerId: signer.peerId,
    issuedAt: BigInt(Math.floor(now)),
    requesterPublicKey: new Uint8Array(signer.publicKey),
  };
  return { ...signed, signature: new Uint8Array(signer.sign(encodePushForSigning({ ...push, ...signed }))) };
}

/** Undefined when `push` is signed by its requester within `window` of `now`; else why not. */
export function checkPushSignature(
  push: SignedPushFields,
  now: number,
  window: PushWindow,
  verify = verifySignature,
): PushRejection | undefined {
  if (push.signature.length === 0 || push.requesterPublicKey.length === 0) return 'unsigned';
  if (peerIdFromPublicKey(push.requesterPublicKey) !== push.requesterPeerId) return 'key-mismatch';
  const issuedAt = Number(push.issuedAt);
  if (issuedAt < now - window.maxAgeMs - window.clockSkewMs || issuedAt > now + window.clockSkewMs) return 'stale';
  return verify(push.requesterPublicKey, encodePushForSigning(push), push.signature) ? undefined : 'bad-signature';
}
