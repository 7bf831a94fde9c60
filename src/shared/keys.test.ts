import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memorySigner, peerIdFromPublicKey, verifySignature } from './keys.ts';

const KEYS = fileURLToPath(new URL('./keys.ts', import.meta.url));
const IDENTITIES = 50_000;

describe('keys', () => {
  it('signs with a fresh key whose public key and peer id match', () => {
    const signer = memorySigner();
    expect(signer.publicKey).toHaveLength(32);
    expect(signer.peerId).toBe(peerIdFromPublicKey(signer.publicKey));
    const data = Buffer.from('record bytes');
    expect(verifySignature(signer.publicKey, data, signer.sign(data))).toBe(true);
  });

  // Generating keys and exporting them as JWK while garbage collection runs often (a tiny young
  // generation) deadlocked Node 20 within the first few thousand keys (see newPrivateKey). The
  // deadline only ends a process that would otherwise never exit: a count, not a timing.
  it(`makes ${IDENTITIES.toLocaleString('en')} identities in a row under constant garbage collection without deadlocking`, () => {
    const program = `
      const { memorySigner } = await import(${JSON.stringify(KEYS)});
      let n = 0;
      for (; n < ${IDENTITIES}; n++) memorySigner();
      console.log(n);`;
    const run = spawnSync(
      process.execPath,
      ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', program],
      { encoding: 'utf8', timeout: 90_000 },
    );
    expect(run.signal, 'the process had to be killed: it deadlocked').toBeNull();
    expect(run.stdout.trim()).toBe(String(IDENTITIES));
  }, 100_000);
});
