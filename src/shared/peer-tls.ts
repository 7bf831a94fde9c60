/**
 * TLS 1.3 between peers, pinned to peer ids (docs/PROTOCOL.md §2). Each peer presents a
 * self-signed X.509 certificate whose key *is* its Ed25519 identity key, so the TLS handshake's
 * CertificateVerify proves the key and the peer id is base32(SHA-256(that key)): no CA, no
 * fingerprint list. The certificate is made in memory at start from the key in the data
 * directory (never written to disk), lives 48 hours and is made again every 24.
 *
 * node:tls does the protocol; @peculiar/x509 makes the certificate (node:crypto can parse but not
 * create one; js-libp2p's TLS transport uses the same library). Chain validation is off on both
 * sides (`rejectUnauthorized: false`: a self-signed certificate has no chain) and replaced by
 * `provenPeerId()`, which every connection passes before a byte of it is read.
 *
 * @peculiar/x509 (with reflect-metadata, which it needs loaded first) is imported when the first
 * certificate is made, not with this module: loading it costs ~0.2 s of CPU, and the `peershare`
 * commands that only talk to a running peer's Client API reach this module (through
 * shared/http-client.ts) without ever making a certificate.
 */
import { randomBytes, webcrypto, type KeyObject, type X509Certificate } from 'node:crypto';
import {
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import { PeershareError } from './errors.ts';
import { peerIdFromPublicKey, type KeyHolder } from './keys.ts';

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

const ED25519 = { name: 'Ed25519' } as const;

let x509Loaded: Promise<typeof import('@peculiar/x509')> | undefined;

/** @peculiar/x509, loaded once (after reflect-metadata, which it needs) and set to node's webcrypto. */
function loadX509(): Promise<typeof import('@peculiar/x509')> {
  x509Loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return x509Loaded;
}

/** A self-signed certificate for `identity`, valid from an hour ago for CERT_LIFETIME_MS. */
export async function makeCertificate(identity: TlsIdentity, now = Date.now()): Promise<string> {
  const x509 = await loadX509();
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey(
    'pkcs8',
    identity.privateKey.export({ format: 'der', type: 'pkcs8' }),
    ED25519,
    false,
    ['sign'],
  );
  const publicKey = await subtle.importKey('raw', identity.publicKey, ED25519, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8)
      .toString('hex')
      .replace(/^[89a-f]/, '1'), // positive
    name: `CN=${identity.peerId}`,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + CERT_LIFETIME_MS),
    // x509 types this as the DOM's CryptoKeyPair, which Node's libs lack (so it resolves to an error
    // type that accepts anything): check the pair against Node's own webcrypto type instead.
    keys: { privateKey, publicKey } satisfies webcrypto.CryptoKeyPair,
    signingAlgorithm: ED25519,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return cert.toString('pem');
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
  #renewing: Promise<void> | undefined;
  readonly #listeners = new Set<(context: SecureContext) => void>();

  constructor(identity: TlsIdentity, acceptLimits: AcceptLimits = {}) {
    this.#identity = identity;
    this.peerId = identity.peerId;
    this.acceptLimits = acceptLimits;
  }

  /** Make the certificate if there is none or it is due; resolves once one is current. */
  async ready(now = Date.now()): Promise<void> {
    if (this.#cert && now - this.#madeAt < CERT_RENEW_MS) return;
    this.#renewing ??= (async () => {
      try {
        const cert = await makeCertificate(this.#identity, now);
        this.#cert = cert;
        this.#madeAt = now;
        this.#context = createSecureContext(common(this.#identity.privateKey, cert));
        for (const listener of this.#listeners) listener(this.#context);
      } finally {
        this.#renewing = undefined;
      }
    })();
    return this.#renewing;
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
