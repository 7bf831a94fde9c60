import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateIdentity, peerIdFromPublicKey, verifySignature } from './identity.ts';
import { PEER_ID_PATTERN } from './ids.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('peer identity', () => {
  it('creates an Ed25519 key on first start and keeps the same id afterwards', () => {
    dir = mkdtempSync(join(tmpdir(), 'peershare-id-'));
    const first = loadOrCreateIdentity(dir);
    const again = loadOrCreateIdentity(dir);
    expect(first.peerId).toMatch(new RegExp(PEER_ID_PATTERN));
    expect(again.peerId).toBe(first.peerId);
    expect(first.peerId).toBe(peerIdFromPublicKey(first.publicKey));
    expect(statSync(join(dir, 'identity.pem')).mode & 0o777).toBe(0o600);
  });

  it('signs data that only its own public key verifies', () => {
    dir = mkdtempSync(join(tmpdir(), 'peershare-id-'));
    const me = loadOrCreateIdentity(join(dir, 'a'));
    const other = loadOrCreateIdentity(join(dir, 'b'));
    const data = Buffer.from('peer record');
    const signature = me.sign(data);
    expect(verifySignature(me.publicKey, data, signature)).toBe(true);
    expect(verifySignature(other.publicKey, data, signature)).toBe(false);
    expect(verifySignature(me.publicKey, Buffer.from('peer recorD'), signature)).toBe(false);
  });

  it(
    'is one identity when several processes create it at once (the services of a split peer)',
    { timeout: 30_000 },
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'peershare-id-'));
      const script = `const { loadOrCreateIdentity } = await import(${JSON.stringify(join(import.meta.dirname, 'identity.ts'))}); process.stdout.write(loadOrCreateIdentity(process.argv[1]).peerId);`;
      const run = () =>
        promisify(execFile)(process.execPath, [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
          join(dir, 'data'),
        ]);
      const ids = (await Promise.all(Array.from({ length: 6 }, run))).map((r) => r.stdout);
      expect(new Set(ids).size).toBe(1);
      expect(ids[0]).toMatch(new RegExp(PEER_ID_PATTERN));
      expect(readdirSync(join(dir, 'data'))).toEqual(['identity.pem']); // no temporary key left behind
    },
  );
});
