/**
 * Random secrets a peer keeps in its data directory (mode 0600), created on first use. The
 * services of one peer may start at once as separate processes (`peershare service NAME`): a new
 * secret is written whole to a file of our own and linked into place, which fails if another
 * process was first; its secret is then the one. Nobody reads a half-written secret.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The secret kept in `dataDir/name`, at least `bytes` long; created when missing. */
export function loadOrCreateSecret(dataDir: string, name: string, bytes: number): Buffer {
  const path = join(dataDir, name);
  try {
    const secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
    if (secret.length < bytes)
      throw new Error(
        `${path} holds ${secret.length} bytes of secret, fewer than ${bytes}: remove it to have a new one made`,
      );
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, randomBytes(bytes).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSecret(dataDir, name, bytes);
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return loadOrCreateSecret(dataDir, name, bytes);
}
