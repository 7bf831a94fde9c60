/**
 * Field rules the schema cannot express: lengths, element counts, id formats. Every decoded
 * message passes through here before anyone sees it, and so does every message we send, so a peer
 * never receives from us what it would reject. Each check returns a problem description or
 * undefined.
 */
import { MAX_COLLECTION_ENTRIES } from '../shared/collection.ts';
import { peerIdFromPublicKey } from '../shared/identity.ts';
import { FILE_ID_PATTERN, PEER_ID_PATTERN } from '../shared/ids.ts';
import type { Close, Hello, Hit, Push, Query, QueryId, RouteTable } from './gen/wire_pb.ts';
import { ROUTE_TABLE_MAX_BITS_LOG2, ROUTE_TABLE_MIN_BITS_LOG2 } from './route-table.ts';
import {
  FEATURE_PATTERN,
  MAX_ADDRESS_LENGTH,
  MAX_FEATURE_LENGTH,
  MAX_FEATURES,
  MAX_HELLO_NONCE_BYTES,
  MAX_NAME_BYTES,
  MAX_REASON_LENGTH,
  MAX_RESULTS_PER_HIT,
  MAX_ROUTE_LEVELS,
  MAX_TERM_LENGTH,
  MAX_TERMS,
  MAX_WIRE_TTL,
  MIN_HELLO_NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  PUSH_NONCE_BYTES,
  QUERY_NONCE_BYTES,
  ROUTE_TABLE_DATA_SLACK,
  SIGNATURE_BYTES,
} from './limits.ts';

const PEER_ID_RE = new RegExp(PEER_ID_PATTERN);
const FILE_ID_RE = new RegExp(FILE_ID_PATTERN);
const FEATURE_RE = new RegExp(FEATURE_PATTERN);
const MAX_SIZE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextEncoder();

type Problem = string | undefined;

function address(field: string, value: string): Problem {
  if (value.length === 0) return `${field} is empty`;
  if (value.length > MAX_ADDRESS_LENGTH) return `${field} is longer than ${MAX_ADDRESS_LENGTH}`;
  return undefined;
}

function peerId(field: string, value: string): Problem {
  return PEER_ID_RE.test(value) ? undefined : `${field} is not a peer id`;
}

export function checkHello(m: Hello): Problem {
  if (m.publicKey.length !== PUBLIC_KEY_BYTES) return `public_key must be ${PUBLIC_KEY_BYTES} bytes`;
  if (m.nonce.length < MIN_HELLO_NONCE_BYTES || m.nonce.length > MAX_HELLO_NONCE_BYTES) {
    return `nonce must be ${MIN_HELLO_NONCE_BYTES}-${MAX_HELLO_NONCE_BYTES} bytes`;
  }
  if (m.signature.length !== 0 && m.signature.length !== SIGNATURE_BYTES)
    return `signature must be empty or ${SIGNATURE_BYTES} bytes`;
  // The id must belong to the key; the link manager then checks both against the id TLS proved.
  if (m.peerId !== peerIdFromPublicKey(m.publicKey)) return 'peer_id does not belong to public_key';
  if (m.features.length > MAX_FEATURES) return `more than ${MAX_FEATURES} features`;
  for (const f of m.features) {
    if (f.length > MAX_FEATURE_LENGTH || !FEATURE_RE.test(f))
      return `a feature name is not 1-${MAX_FEATURE_LENGTH} characters of [a-z0-9-]`;
  }
  return address('search_address', m.searchAddress) ?? address('files_address', m.filesAddress);
}

export function checkQueryId(id: QueryId | undefined): Problem {
  if (id === undefined) return 'query id is missing';
  if (id.nonce.length !== QUERY_NONCE_BYTES) return `query id nonce must be ${QUERY_NONCE_BYTES} bytes`;
  return peerId('origin_peer_id', id.originPeerId) ?? address('origin_address', id.originAddress);
}

export function checkQuery(m: Query): Problem {
  const idProblem = checkQueryId(m.id);
  if (idProblem) return idProblem;
  if (m.terms.length > MAX_TERMS) return `more than ${MAX_TERMS} terms`;
  if (m.terms.length > 0 && m.fileId !== '') return 'both terms and file_id are set';
  if (m.terms.length === 0 && m.fileId === '') return 'neither terms nor file_id is set';
  for (const term of m.terms) {
    if (term.length === 0 || term.length > MAX_TERM_LENGTH) return `a term is empty or longer than ${MAX_TERM_LENGTH}`;
  }
  if (m.fileId !== '' && !FILE_ID_RE.test(m.fileId)) return 'file_id is not a file id';
  if (m.ttl > MAX_WIRE_TTL || m.hops > MAX_WIRE_TTL) return `ttl or hops above ${MAX_WIRE_TTL}`;
  return undefined;
}

export function checkHit(m: Hit): Problem {
  const idProblem = checkQueryId(m.queryId);
  if (idProblem) return idProblem;
  if (m.results.length === 0) return 'a hit has no results';
  if (m.results.length > MAX_RESULTS_PER_HIT) return `more than ${MAX_RESULTS_PER_HIT} results`;
  for (const r of m.results) {
    if (!FILE_ID_RE.test(r.fileId)) return 'a result file_id is not a file id';
    if (r.name.length === 0 || utf8.encode(r.name).length > MAX_NAME_BYTES)
      return `a result name is empty or over ${MAX_NAME_BYTES} bytes`;
    if (r.size > MAX_SIZE) return 'a result size is above 2^53 - 1';
    if (r.folder ? r.files < 1 || r.files > MAX_COLLECTION_ENTRIES : r.files !== 0)
      return `a folder result has 1 to ${MAX_COLLECTION_ENTRIES} files, a file result none`;
  }
  if (m.hops > MAX_WIRE_TTL) return `hops above ${MAX_WIRE_TTL}`;
  return peerId('holder_peer_id', m.holderPeerId) ?? address('holder_files_address', m.holderFilesAddress);
}

export function checkPush(m: Push): Problem {
  if (m.nonce.length !== PUSH_NONCE_BYTES) return `push nonce must be ${PUSH_NONCE_BYTES} bytes`;
  if (!FILE_ID_RE.test(m.fileId)) return 'file_id is not a file id';
  if (m.ttl > MAX_WIRE_TTL) return `ttl above ${MAX_WIRE_TTL}`;
  if (m.targetPeerId === m.requesterPeerId) return 'a push names the same peer as target and requester';
  // Form only: whether the signature is the requester's, and recent, is the holder's call
  // (search/domain/push-signature.ts). Empty is a push of the release before, ignored there.
  if (m.requesterPublicKey.length !== 0 && m.requesterPublicKey.length !== PUBLIC_KEY_BYTES)
    return `requester_public_key must be empty or ${PUBLIC_KEY_BYTES} bytes`;
  if (m.signature.length !== 0 && m.signature.length !== SIGNATURE_BYTES)
    return `push signature must be empty or ${SIGNATURE_BYTES} bytes`;
  if (m.issuedAt > MAX_SIZE) return 'issued_at is above 2^53 - 1';
  return (
    peerId('target_peer_id', m.targetPeerId) ??
    peerId('requester_peer_id', m.requesterPeerId) ??
    address('requester_files_address', m.requesterFilesAddress)
  );
}

/** Form only: whether the data inflates to the table (and a patch has a table to apply to) is the link's check. */
export function checkRouteTable(m: RouteTable): Problem {
  if (m.level >= MAX_ROUTE_LEVELS) return `level must be below ${MAX_ROUTE_LEVELS}`;
  const log2 = Math.log2(m.bits);
  if (!Number.isInteger(log2) || log2 < ROUTE_TABLE_MIN_BITS_LOG2 || log2 > ROUTE_TABLE_MAX_BITS_LOG2)
    return `bits must be a power of two from 2^${ROUTE_TABLE_MIN_BITS_LOG2} to 2^${ROUTE_TABLE_MAX_BITS_LOG2}`;
  if (m.data.length === 0 || m.data.length > m.bits / 8 + ROUTE_TABLE_DATA_SLACK)
    return `data must be 1 to bits / 8 + ${ROUTE_TABLE_DATA_SLACK} bytes`;
  return undefined;
}

export function checkClose(m: Close): Problem {
  return m.reason.length > MAX_REASON_LENGTH ? `reason is longer than ${MAX_REASON_LENGTH}` : undefined;
}
