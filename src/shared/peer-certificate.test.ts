import { webcrypto, X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { memorySigner, type KeyHolder } from './keys.ts';
import { randomSerial, selfSignedCertificate } from './peer-certificate.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The certificate as @peculiar/x509 (which made it before) makes it from the same facts. */
async function byX509(identity: KeyHolder, serial: string, notBefore: number, notAfter: number): Promise<string> {
  const ed25519 = { name: 'Ed25519' };
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    identity.privateKey.export({ format: 'der', type: 'pkcs8' }),
    ed25519,
    false,
    ['sign'],
  );
  const publicKey = await webcrypto.subtle.importKey('raw', identity.publicKey, ed25519, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${identity.peerId}`,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    keys: { privateKey, publicKey } satisfies webcrypto.CryptoKeyPair,
    signingAlgorithm: ed25519,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return cert.toString('pem');
}

describe('the peer certificate', () => {
  it('is byte for byte the certificate @peculiar/x509 makes from the same key, serial and dates', async () => {
    const hour = 3600_000;
    const cases: [string, number][] = [
      [randomSerial(), Date.now()],
      ['0012345678abcdef', Date.UTC(2026, 0, 2, 3, 4, 5, 678)], // a leading zero byte is left out
      ['00f2345678abcdef', Date.UTC(2026, 0, 2)], // ...but one that keeps it positive is not
      ['7fffffffffffffff', Date.UTC(2049, 11, 31, 23, 0, 0)], // valid into 2050: UTCTime, then GeneralizedTime
      [randomSerial(), Date.UTC(2070, 5, 6)],
    ];
    for (const [serial, now] of cases) {
      const identity = memorySigner();
      const ours = selfSignedCertificate(identity, serial, now - hour, now + 48 * hour);
      expect(ours, `${serial} at ${new Date(now).toISOString()}`).toBe(
        await byX509(identity, serial, now - hour, now + 48 * hour),
      );
    }
  });

  it("names the identity's key and peer id, and verifies with that key", () => {
    const identity = memorySigner();
    const cert = new X509Certificate(selfSignedCertificate(identity, randomSerial(), Date.now(), Date.now() + 1000));
    expect(cert.subject).toBe(`CN=${identity.peerId}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(false);
    expect(cert.publicKey.export({ format: 'jwk' }).x).toBe(identity.publicKey.toString('base64url'));
    expect(cert.verify(cert.publicKey)).toBe(true);
  });
});
