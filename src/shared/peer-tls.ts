/**
 * TLS 1.3 between peers, pinned to peer ids (docs/PROTOCOL.md §2). Each peer presents a
 * self-signed X.509 certificate whose key *is* its Ed25519 identity key, so the TLS handshake's
 * CertificateVerify proves the key and the peer id is base32(SHA-256(that key)): no CA, no
 * fingerprint list. The certificate is made in memory at start from the key in the data
 * directory (never written to disk), lives 48 hours and is made again every 24.
 *
 * node:tls does the protocol; peer-certificate.ts writes the certificate (node:crypto can parse and
 * sign one but not build one). Chain validation is off on both
 * sides (`rejectUnauthorized: false`: a self-signed certificate has no chain) and replaced by
 * `provenPeerId()`, which every connection passes before a byte of it is read.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import {
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import { PeershareError } from './errors.ts';
import { peerIdFromPublicKey, type KeyHolder } from './keys.ts';
import { randomSerial, selfSignedCertificate } from './peer-certificate.ts';

/** How long a certificate is valid, and how often a running peer makes a new one. */
export const CERT_LIFETIME_MS = 48 * 3600_000;
export const CERT_RENEW_MS = 24 * 3600_000;
/** Clocks of two hosts may disagree by this much before a certificate is called expired or early. */
export const CLOCK_SKEW_MS = 3600_000;

/** ALPN names: a Search link and the HTTP routes peers call (Fetch sync, File Management ranges). */
export const ALPN_LINK = 'peershare-link/2';
export const ALPN_HTTP = 'http/1.1';
/**
 * A connect-back (PUSH, docs/PROTOCOL.md §6a): a firewalled holder dialled this File Management
 * port so that we send it HTTP requests over the connection; the port hands it to whoever waits
 * for it instead of serving it.
 */
export const ALPN_PUSH = 'peershare-push/1';

/** The TLS record type of a handshake: the first byte of every ClientHello. */
export const TLS_HANDSHAKE_BYTE = 0x16;

/** A private key this process holds, for TLS: the identity's own. */
export type TlsIdentity = KeyHolder;

/** A self-signed certificate for `identity`, valid from an hour ago for CERT_LIFETIME_MS. */
export function makeCertificate(identity: TlsIdentity, now = Date.now()): string {
  return selfSignedCertificate(identity, randomSerial(), now - CLOCK_SKEW_MS, now + CERT_LIFETIME_MS);
}

/**
 * The peer id a certificate proves, or why it proves none: an Ed25519 key, a valid self-signature,
 * and dates that hold now (give or take CLOCK_SKEW_MS). The handshake has already shown that the
 * other side holds the certificate's private key.
 */
export function peerIdOfCertificate(cert: X509Certificate | undefined, now = Date.now()): string {
  if (!cert) throw new PeershareError('PEER_UNVERIFIED', 'the peer presented no certificate');
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PeershareError(
      'PEER_UNVERIFIED',
      `the peer's certificate key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`,
    );
  }
  if (!cert.verify(key))
    throw new PeershareError('PEER_UNVERIFIED', "the peer's certificate is not signed by its own key");
  if (Date.parse(cert.validTo) + CLOCK_SKEW_MS < now)
    throw new PeershareError('PEER_UNVERIFIED', `the peer's certificate expired at ${cert.validTo}`);
  if (Date.parse(cert.validFrom) - CLOCK_SKEW_MS > now)
    throw new PeershareError('PEER_UNVERIFIED', `the peer's certificate is not valid before ${cert.validFrom}`);
  return peerIdFromPublicKey(rawPublicKey(key));
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
}

/**
 * The peer id the other end of a finished handshake proved, checked against `expected` when the
 * caller knows whom it dialled. Throws PEER_UNVERIFIED (TLS version, certificate) or
 * PEER_ID_MISMATCH with both ids named.
 */
export function provenPeerId(socket: TLSSocket, expected?: string): string {
  const version = socket.getProtocol();
  if (version !== 'TLSv1.3')
    throw new PeershareError('PEER_UNVERIFIED', `the peer speaks ${version ?? 'no TLS'}, not TLS 1.3`);
  const peerId = peerIdOfCertificate(socket.getPeerX509Certificate());
  if (expected !== undefined && peerId !== expected) {
    throw new PeershareError('PEER_ID_MISMATCH', `expected peer ${expected} but the peer proved ${peerId}`, {
      expected,
      proven: peerId,
    });
  }
  return peerId;
}

/** Options every peer TLS endpoint shares: TLS 1.3 only, our certificate, theirs asked for. */
function common(key: KeyObject, cert: string) {
  return {
    key: key.export({ format: 'pem', type: 'pkcs8' }) as string,
    cert,
    minVersion: 'TLSv1.3' as const,
    maxVersion: 'TLSv1.3' as const,
    rejectUnauthorized: false,
  };
}

/**
 * How a peer port admits connections before they prove an id (shared/peer-port.ts): the handshake
 * deadline and the unproven connections held at once, per remote address and in all. Settings
 * (peer-handshake-timeout, peer-max-unproven-per-address, peer-max-unproven); peer-port.ts has the defaults.
 */
export interface AcceptLimits {
  handshakeTimeoutMs?: number;
  maxUnprovenPerAddress?: number;
  maxUnproven?: number;
}

/**
 * This peer's TLS credentials: its certificate, made again before it expires. `ready()` must have
 * resolved before any option is asked for (the peer's start awaits it). It also carries the
 * peer's accept limits, so that every port it serves peers on applies the same settings.
 */
export class PeerTls {
  readonly peerId: string;
  readonly acceptLimits: AcceptLimits;
  readonly #identity: TlsIdentity;
  #cert: string | undefined;
  #context: SecureContext | undefined;
  #madeAt = 0;
  readonly #listeners = new Set<(context: SecureContext) => void>();

  constructor(identity: TlsIdentity, acceptLimits: AcceptLimits = {}) {
    this.#identity = identity;
    this.peerId = identity.peerId;
    this.acceptLimits = acceptLimits;
  }

  /** Make the certificate if there is none or it is due; resolves once one is current. */
  async ready(now = Date.now()): Promise<void> {
    if (this.#cert && now - this.#madeAt < CERT_RENEW_MS) return;
    const cert = makeCertificate(this.#identity, now);
    this.#cert = cert;
    this.#madeAt = now;
    this.#context = createSecureContext(common(this.#identity.privateKey, cert));
    for (const listener of this.#listeners) listener(this.#context);
  }

  /** The current secure context (key and certificate, parsed once). */
  get secureContext(): SecureContext {
    if (!this.#context) throw new Error('PeerTls.ready() has not resolved');
    return this.#context;
  }

  /** The current certificate (PEM). */
  get certificate(): string {
    if (!this.#cert) throw new Error('PeerTls.ready() has not resolved');
    return this.#cert;
  }

  /** Options for a TLS server (or a TLSSocket on the accepting side) of a peer port. */
  serverOptions(alpn: readonly string[]): TlsOptions {
    return { ...common(this.#identity.privateKey, this.certificate), requestCert: true, ALPNProtocols: [...alpn] };
  }

  /** Options for dialling a peer; the caller checks `provenPeerId(socket, expected)` on 'secureConnect'. */
  clientOptions(alpn: readonly string[]): ConnectionOptions {
    if (!this.#context) throw new Error('PeerTls.ready() has not resolved');
    return {
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false,
      secureContext: this.#context, // parsed once, not at every dial
      ALPNProtocols: [...alpn],
      // Names are not what we check: the peer id is (provenPeerId).
      checkServerIdentity: () => undefined,
    };
  }

  /** Call `listener` with each new secure context (a server swaps it in: server.setSecureContext). */
  onRenew(listener: (context: SecureContext) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Make new certificates every CERT_RENEW_MS while the returned function has not been called. */
  keepFresh(onError: (err: unknown) => void): () => void {
    const timer = setInterval(() => void this.ready().catch(onError), CERT_RENEW_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}
