/**
 * Signed peer records: who a peer is (id and public key), where its services listen, which
 * protocol it speaks, and a sequence number so a newer record replaces an older one and an old
 * one cannot be replayed. A "left" record is the tombstone a peer signs when it shuts down cleanly.
 *
 * The signature covers a canonical binary encoding (shared/signing-bytes.ts: fixed field order,
 * length-prefixed strings, fixed-width integers), so it never depends on how some JSON library
 * orders keys.
 *
 * A peer reached at several addresses (`--advertise` repeated) lists them all: `addresses` is the
 * first, `otherAddresses` the rest in the owner's order (absent when there is one). A record with
 * one address is encoded exactly as before that field existed (encoding version 1), so such
 * records, kept or from older peers, read and verify unchanged; one with more is encoding version 2.
 *
 * `filesVersion` says where the peer's own shared-file list stands (it moves whenever the list
 * changes, see SyncRounds.sharesChanged): a peer holding an older version of it knows the list
 * moved and asks the peer itself (only the holder answers for what it holds). A record with the
 * field is encoding version 3 (the count of further sets always written, then the version); one
 * without it is encoded as version 1 or 2 exactly as before, so records of older releases verify
 * unchanged and simply never say that their list moved.
 */
import { PeershareError } from '../../shared/errors.ts';
import { SigningBytes } from '../../shared/signing-bytes.ts';
import { ADDRESS_KEYS, isAddress, MAX_ADVERTISED_ADDRESSES, type ServiceAddresses } from './addresses.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './config.ts';
import { peerIdOf, verifyEd25519, type RecordSigner, type SignatureVerifier } from './keys.ts';

export type RecordStatus = 'alive' | 'left';

/** The fields a peer signs about itself. */
export interface RecordFields {
  status: RecordStatus;
  /** The first address set, the one to try first. */
  addresses: ServiceAddresses;
  /** Further address sets, tried in this order after `addresses`: 1 to MAX_ADVERTISED_ADDRESSES − 1, or absent. */
  otherAddresses?: ServiceAddresses[];
  protocol: number;
  /** Strictly increasing per peer; the owner uses max(now ms, previous + 1). */
  seq: number;
  /** When the owner signed it (ms since the epoch, owner's clock). */
  issuedAt: number;
  /** The version of the owner's shared-file list (increasing; absent from records of older releases). */
  filesVersion?: number;
}

/** A peer record as it travels in JSON: keys and signature as lowercase hex. */
export interface PeerRecord extends RecordFields {
  peerId: string;
  publicKey: string;
  signature: string;
}

const MAGIC = 'peershare/peer-record';
/**
 * Version 1: one address set; version 2: a count (1 byte) and the further sets after the first;
 * version 3: as version 2 (the count written even when 0), then filesVersion (8 bytes).
 */
const ENCODING_VERSION = 1;
const ENCODING_VERSION_MANY = 2;
const ENCODING_VERSION_FILES = 3;
const STATUS_BYTE: Record<RecordStatus, number> = { alive: 1, left: 2 };
const RECORD_KEYS = new Set([
  'peerId',
  'publicKey',
  'signature',
  'status',
  'addresses',
  'otherAddresses',
  'protocol',
  'seq',
  'issuedAt',
  'filesVersion',
]);
const HEX_KEY = /^[0-9a-f]{64}$/;
const HEX_SIGNATURE = /^[0-9a-f]{128}$/;
const PEER_ID = /^[a-z2-7]{52}$/;

/** The exact bytes a record's signature covers. */
export function encodeForSigning(peerId: string, publicKey: Uint8Array, fields: RecordFields): Buffer {
  const others = fields.otherAddresses ?? [];
  const withFiles = fields.filesVersion !== undefined;
  const version = withFiles ? ENCODING_VERSION_FILES : others.length === 0 ? ENCODING_VERSION : ENCODING_VERSION_MANY;
  const bytes = new SigningBytes(MAGIC, version)
    .u8(STATUS_BYTE[fields.status])
    .text(peerId)
    .fixed(publicKey)
    .u16(fields.protocol)
    .u64(fields.seq)
    .u64(fields.issuedAt);
  for (const key of ADDRESS_KEYS) bytes.text(fields.addresses[key]);
  if (others.length > 0 || withFiles) {
    bytes.u8(others.length);
    for (const set of others) for (const key of ADDRESS_KEYS) bytes.text(set[key]);
  }
  if (withFiles) bytes.u64(fields.filesVersion as number);
  return bytes.done();
}

/** Every address set a record lists, in the owner's order (the first is `addresses`). */
export function addressSets(record: Pick<RecordFields, 'addresses' | 'otherAddresses'>): ServiceAddresses[] {
  return [record.addresses, ...(record.otherAddresses ?? [])];
}

/** The fields that list `sets` (at least one): the first as `addresses`, the rest, if any, as `otherAddresses`. */
export function withAddressSets(sets: readonly ServiceAddresses[]): Pick<RecordFields, 'addresses' | 'otherAddresses'> {
  const [first, ...others] = sets.map(copyAddresses);
  if (!first) throw new RangeError('a record lists at least one address set');
  return others.length > 0 ? { addresses: first, otherAddresses: others } : { addresses: first };
}

function copyAddresses(a: ServiceAddresses): ServiceAddresses {
  return { files: a.files, search: a.search, fetch: a.fetch };
}

/** Sign `fields` as the peer holding `signer`'s key. The fields are checked like a remote's. */
export function signRecord(signer: RecordSigner, fields: RecordFields): PeerRecord {
  checkFields(fields, undefined, 0);
  const signature = signer.sign(encodeForSigning(signer.peerId, signer.publicKey, fields));
  return {
    peerId: signer.peerId,
    publicKey: signer.publicKey.toString('hex'),
    status: fields.status,
    ...withAddressSets(addressSets(fields)),
    protocol: fields.protocol,
    seq: fields.seq,
    issuedAt: fields.issuedAt,
    ...(fields.filesVersion !== undefined ? { filesVersion: fields.filesVersion } : {}),
    signature: signature.toString('hex'),
  };
}

/** The sequence number for a record issued at `now` after one carrying `previous`. */
export function nextSeq(previous: number, now: number): number {
  return Math.max(Math.floor(now), previous + 1);
}

/** The tombstone a peer signs when it leaves cleanly: its last record, status "left", newer seq. */
export function signLeave(signer: RecordSigner, current: PeerRecord, now: number): PeerRecord {
  return signRecord(signer, { ...current, status: 'left', seq: nextSeq(current.seq, now), issuedAt: now });
}

function bad(message: string, field: string): PeershareError {
  return new PeershareError('BAD_REQUEST', `peer record rejected: ${message}`, { field });
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function checkFields(fields: RecordFields, now: number | undefined, maxSkewMs: number): void {
  if (fields.status !== 'alive' && fields.status !== 'left') throw bad('status must be "alive" or "left"', 'status');
  if (!isIntIn(fields.protocol, 1, 0xffff)) throw bad('protocol must be an integer 1..65535', 'protocol');
  if (!isIntIn(fields.seq, 1, Number.MAX_SAFE_INTEGER)) throw bad('seq must be a positive safe integer', 'seq');
  const latest = now === undefined ? Number.MAX_SAFE_INTEGER : now + maxSkewMs;
  if (!isIntIn(fields.issuedAt, 0, latest)) throw bad('issuedAt is negative, fractional or in the future', 'issuedAt');
  if (fields.filesVersion !== undefined && !isIntIn(fields.filesVersion, 0, Number.MAX_SAFE_INTEGER))
    throw bad('filesVersion must be a non-negative safe integer when present', 'filesVersion');
  checkAddresses(fields.addresses, 'addresses');
  const others: unknown = fields.otherAddresses;
  if (others === undefined) return;
  // One encoding per record: a single address set is written without the list, never with an empty one.
  if (!Array.isArray(others) || others.length === 0)
    throw bad('otherAddresses must be a non-empty array when present', 'otherAddresses');
  if (others.length > MAX_ADVERTISED_ADDRESSES - 1)
    throw bad(`a record lists at most ${MAX_ADVERTISED_ADDRESSES} address sets`, 'otherAddresses');
  others.forEach((set, i) => checkAddresses(set, `otherAddresses[${i}]`));
  const fetches = addressSets(fields).map((set) => set.fetch);
  if (new Set(fetches).size !== fetches.length)
    throw bad('an address set is listed twice (the same fetch address)', 'otherAddresses');
}

function checkAddresses(addresses: unknown, field: string): void {
  if (typeof addresses !== 'object' || addresses === null || Array.isArray(addresses))
    throw bad(`${field} must be an object`, field);
  if (Object.keys(addresses).length !== ADDRESS_KEYS.length)
    throw bad(`${field} must name files, search and fetch only`, field);
  for (const key of ADDRESS_KEYS) {
    if (!isAddress((addresses as Record<string, unknown>)[key]))
      throw bad(`${field}.${key} is not host:port`, `${field}.${key}`);
  }
}

/** Looks up a record already verified (the copy a peer table holds), to skip the signature check. */
export type VerifiedLookup = (peerId: string) => PeerRecord | undefined;

export interface VerifyOptions {
  /** Local clock; when given, a record issued more than maxSkewMs after it is absurd. */
  now?: number;
  maxSkewMs?: number;
  verified?: VerifiedLookup;
  /** The signature check (default: Ed25519 via node:crypto); simulations share a memoized one. */
  verifier?: SignatureVerifier;
}

/**
 * Check a record received from anywhere and return it typed. Throws BAD_REQUEST when its shape or
 * values are wrong, its protocol is older than MIN_PROTOCOL_VERSION (a version 1 peer never enters
 * a table), its peer id does not derive from its public key (a record claiming another
 * peer's id), or its signature does not verify. Staleness (an old seq) is the peer table's call.
 * A record identical in every field to one `verified` returns is accepted without the (costly)
 * signature check: views repeat the same records many times.
 */
export function verifyRecord(input: unknown, options: VerifyOptions = {}): PeerRecord {
  const { now, maxSkewMs = 10 * 60_000, verified, verifier = verifyEd25519 } = options;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('not an object', 'record');
  const record = input as Record<string, unknown>;
  // The very object already verified (records are never changed once made): only the clock check
  // can differ. Messages from the network are fresh objects; simulated peers hand records over.
  const peerIdField = record.peerId;
  if (typeof peerIdField === 'string' && verified?.(peerIdField) === input) {
    const known = input as unknown as PeerRecord;
    if (now !== undefined && known.issuedAt > now + maxSkewMs)
      throw bad('issuedAt is negative, fractional or in the future', 'issuedAt');
    return known;
  }
  for (const key of Object.keys(record)) if (!RECORD_KEYS.has(key)) throw bad(`unknown field ${key}`, key);
  const { peerId, publicKey, signature } = record;
  if (typeof peerId !== 'string' || !PEER_ID.test(peerId)) throw bad('peerId is not a peer id', 'peerId');
  if (typeof publicKey !== 'string' || !HEX_KEY.test(publicKey))
    throw bad('publicKey must be 64 hex digits', 'publicKey');
  if (typeof signature !== 'string' || !HEX_SIGNATURE.test(signature))
    throw bad('signature must be 128 hex digits', 'signature');
  const fields = record as unknown as RecordFields;
  checkFields(fields, now, maxSkewMs);
  if (fields.protocol < MIN_PROTOCOL_VERSION) {
    throw bad(
      `protocol ${fields.protocol}: peer ${peerId} is a version ${fields.protocol} peer (peershare before TLS between peers); it must upgrade to protocol ${PROTOCOL_VERSION}`,
      'protocol',
    );
  }
  const known = verified?.(peerId);
  if (known && sameRecord(known, record)) return known;
  const key = Buffer.from(publicKey, 'hex');
  if (peerIdOf(key) !== peerId) throw bad('peerId does not belong to publicKey', 'peerId');
  if (!verifier(key, encodeForSigning(peerId, key, fields), Buffer.from(signature, 'hex'))) {
    throw bad('signature does not verify', 'signature');
  }
  // A fresh object: nothing the sender attached (prototype tricks, getters) survives.
  return {
    peerId,
    publicKey,
    signature,
    status: fields.status,
    ...withAddressSets(addressSets(fields)),
    protocol: fields.protocol,
    seq: fields.seq,
    issuedAt: fields.issuedAt,
    ...(fields.filesVersion !== undefined ? { filesVersion: fields.filesVersion } : {}),
  };
}

function sameRecord(known: PeerRecord, other: Record<string, unknown>): boolean {
  const knownSets = addressSets(known);
  const otherSets = addressSets(other as unknown as RecordFields);
  return (
    knownSets.length === otherSets.length &&
    knownSets.every((set, i) => ADDRESS_KEYS.every((key) => set[key] === otherSets[i]?.[key])) &&
    known.signature === other.signature &&
    known.publicKey === other.publicKey &&
    known.status === other.status &&
    known.protocol === other.protocol &&
    known.seq === other.seq &&
    known.issuedAt === other.issuedAt &&
    known.filesVersion === other.filesVersion
  );
}
