/**
 * Peer identity: an Ed25519 key pair created on first start and kept in the data directory.
 * The peer id is derived from the public key (base32 of its SHA-256), never from an address.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newPrivateKey, signerFromPrivateKey, type KeyHolder } from './keys.ts';

export { peerIdFromPublicKey, verifySignature } from './keys.ts';

const KEY_FILE = 'identity.pem';

/** This peer's identity: peer id = base32(SHA-256(raw public key)), 52 lowercase characters. */
export type Identity = KeyHolder;

/** Load this peer's identity from `dataDir`, creating a new key pair (mode 0600) on first start. */
export function loadOrCreateIdentity(dataDir: string): Identity {
  const path = join(dataDir, KEY_FILE);
  try {
    return signerFromPrivateKey(createPrivateKey(readFileSync(path)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const privateKey = newPrivateKey();
  // The services of one peer may start at once on a new data dir (`peershare service NAME`): the
  // key is written whole to a file of our own, then linked into place, which fails if another
  // process was first; its key is then the identity. Nobody ever reads a half-written key.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIdentity(dataDir);
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return signerFromPrivateKey(privateKey);
}
