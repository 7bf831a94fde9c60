/**
 * Ed25519 operations on raw keys, free of I/O so domain code may use them: derive a peer id
 * from a public key, verify a signature, and make a key pair held in memory only.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { base32 } from './ids.ts';

/** Something that signs as a peer: its id, raw 32-byte public key, and a signing function. */
export interface Signer {
  readonly peerId: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  sign(data: Uint8Array): Buffer;
}

/** The peer id that belongs to a raw Ed25519 public key: base32(SHA-256(key)). */
export function peerIdFromPublicKey(rawPublicKey: Uint8Array): string {
  return base32(createHash('sha256').update(rawPublicKey).digest());
}

/** Whether `signature` over `data` was made by the holder of `rawPublicKey`. */
export function verifySignature(rawPublicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (rawPublicKey.length !== 32 || signature.length !== 64) return false;
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(rawPublicKey).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return false; // not a point on the curve
  }
  return verify(null, data, key, signature);
}

/** A signer that also holds its private key, for TLS (shared/peer-tls.ts). */
export interface KeyHolder extends Signer {
  readonly privateKey: KeyObject;
}

/** The signer for a private key. */
export function signerFromPrivateKey(privateKey: KeyObject): KeyHolder {
  const publicKey = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x ?? '', 'base64url');
  return {
    peerId: peerIdFromPublicKey(publicKey),
    publicKey,
    privateKey,
    sign: (data) => sign(null, data, privateKey),
  };
}

/**
 * A new Ed25519 private key: the only place keys are generated. Generated as JWK and imported,
 * never kept as the KeyObject the generator returns. On Node 20, exporting a key holds the key's
 * lock while it allocates; if that allocation runs a garbage collection that finalizes the
 * generation job still sharing the key, the job's destructor takes the same lock and the main
 * thread deadlocks (a CI run stalled in a test making 2,000 identities; generateKeyPairSync then
 * export as JWK, in a loop, deadlocks within 10,000 keys). An imported key shares nothing with a
 * generation job. JWK both ways is as fast as the plain generator (DER import is 10x slower).
 * keys.test.ts runs the loop.
 */
export function newPrivateKey(): KeyObject {
  // @types/node types no JWK encoding for the generator, though Node 20 has it.
  const { privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'jwk' },
    privateKeyEncoding: { type: 'pkcs8', format: 'jwk' },
  } as never) as unknown as { privateKey: JsonWebKey };
  return createPrivateKey({ key: privateKey, format: 'jwk' });
}

/** A fresh key pair held in memory only (simulations, tests, throwaway identities). */
export function memorySigner(): KeyHolder {
  return signerFromPrivateKey(newPrivateKey());
}
