/**
 * Peer identity: an Ed25519 key pair created on first start and kept in the data directory.
 * The peer id is derived from the public key (base32 of its SHA-256), never from an address.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base32 } from './ids.ts';

const KEY_FILE = 'identity.pem';

export interface Identity {
  /** base32(SHA-256(raw public key)), 52 lowercase characters. */
  readonly peerId: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  sign(data: Uint8Array): Buffer;
}

/** The peer id that belongs to a raw Ed25519 public key. */
export function peerIdFromPublicKey(rawPublicKey: Uint8Array): string {
  return base32(createHash('sha256').update(rawPublicKey).digest());
}

/** Whether `signature` over `data` was made by the holder of `rawPublicKey`. */
export function verifySignature(rawPublicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (rawPublicKey.length !== 32 || signature.length !== 64) return false;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(rawPublicKey).toString('base64url') }, format: 'jwk' });
  return verify(null, data, key, signature);
}

function identityFromPrivateKey(privateKey: KeyObject): Identity {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x ?? '', 'base64url');
  return {
    peerId: peerIdFromPublicKey(publicKey),
    publicKey,
    sign: (data) => sign(null, data, privateKey),
  };
}

/** Load this peer's identity from `dataDir`, creating a new key pair (mode 0600) on first start. */
export function loadOrCreateIdentity(dataDir: string): Identity {
  const path = join(dataDir, KEY_FILE);
  try {
    return identityFromPrivateKey(createPrivateKey(readFileSync(path)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  // 'wx' fails if another process created the key meanwhile; then that key is the identity.
  try {
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIdentity(dataDir);
    throw err;
  }
  return identityFromPrivateKey(privateKey);
}
