/**
 * The self-signed X.509 certificate a peer presents (peer-tls.ts), written in DER here. It has
 * one shape: version 3, a random serial, Ed25519, the peer id as subject and issuer, a validity
 * and the key, with one extension (basic constraints, critical: not a CA). node:crypto signs it
 * but cannot build one, and @peculiar/x509, which built it before, cost ~0.15 s of CPU to load at
 * every peer's start; the bytes are the same (peer-certificate.test.ts compares them).
 */
import { randomBytes, sign } from 'node:crypto';
import type { KeyHolder } from './keys.ts';

/** DER tags of the types the certificate uses. */
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OBJECT_ID = 0x06;
const PRINTABLE_STRING = 0x13;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const SEQUENCE = 0x30;
const SET = 0x31;
/** [0] version and [3] extensions of a TBSCertificate (RFC 5280 §4.1). */
const VERSION = 0xa0;
const EXTENSIONS = 0xa3;

/** One DER element: tag, definite length, contents. */
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

const ED25519 = der(SEQUENCE, der(OBJECT_ID, Buffer.from([0x2b, 0x65, 0x70]))); // 1.3.101.112
const COMMON_NAME = der(OBJECT_ID, Buffer.from([0x55, 0x04, 0x03])); // 2.5.4.3
const NOT_A_CA = der(
  SEQUENCE,
  der(OBJECT_ID, Buffer.from([0x55, 0x1d, 0x13])), // 2.5.29.19 basic constraints
  der(BOOLEAN, Buffer.from([0xff])), // critical
  der(OCTET_STRING, der(SEQUENCE)), // cA false (the default, so left out), no path length
);

/** A name of one common name (a peer id is base32: a printable string). */
function name(commonName: string): Buffer {
  return der(SEQUENCE, der(SET, der(SEQUENCE, COMMON_NAME, der(PRINTABLE_STRING, Buffer.from(commonName)))));
}

/** A time to the second: UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(ms: number): Buffer {
  const digits = new Date(ms).toISOString().slice(0, 19).replace(/[-T:]/g, ''); // YYYYMMDDHHMMSS
  return new Date(ms).getUTCFullYear() < 2050
    ? der(UTC_TIME, Buffer.from(`${digits.slice(2)}Z`))
    : der(GENERALIZED_TIME, Buffer.from(`${digits}Z`));
}

/** A raw Ed25519 public key as a SubjectPublicKeyInfo. */
function publicKeyInfo(rawPublicKey: Buffer): Buffer {
  return der(SEQUENCE, ED25519, der(BIT_STRING, Buffer.from([0]), rawPublicKey));
}

/** An unsigned big-endian number as a DER INTEGER: no leading zero byte but the one that keeps it positive. */
function unsigned(hex: string): Buffer {
  let bytes = Buffer.from(hex, 'hex');
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return der(INTEGER, bytes[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** A positive 8-byte serial number, as hex. */
export function randomSerial(): string {
  return randomBytes(8)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

/**
 * A self-signed certificate (PEM) for `identity`'s public key and peer id, signed with its private
 * key, valid from `notBefore` to `notAfter` (ms).
 */
export function selfSignedCertificate(
  identity: KeyHolder,
  serial: string,
  notBefore: number,
  notAfter: number,
): string {
  const subject = name(identity.peerId);
  const tbs = der(
    SEQUENCE,
    der(VERSION, der(INTEGER, Buffer.from([2]))), // v3
    unsigned(serial),
    ED25519,
    subject, // issuer
    der(SEQUENCE, time(notBefore), time(notAfter)),
    subject,
    publicKeyInfo(identity.publicKey),
    der(EXTENSIONS, der(SEQUENCE, NOT_A_CA)),
  );
  const signature = sign(null, tbs, identity.privateKey);
  const certificate = der(SEQUENCE, tbs, ED25519, der(BIT_STRING, Buffer.from([0]), signature));
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----`;
}
