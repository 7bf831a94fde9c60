/**
 * The messages of a Fetch round and the checks on what a remote sends. A round is one request
 * (the asker's own record as an announce, plus the cursors it holds for the answerer) and one
 * response (the answerer's view delta and shared-file list delta).
 *
 * Everything is validated before anything is applied: a list over its cap is PAYLOAD_TOO_LARGE,
 * anything malformed (including one forged record in a hundred) is BAD_REQUEST, and in both cases
 * the caller changes nothing.
 */
import { createHash } from 'node:crypto';
import { PeershareError } from '../../shared/errors.ts';
import { isFileId } from '../../shared/ids.ts';
import type { FetchConfig } from './config.ts';
import { verifyRecord, type PeerRecord, type VerifyOptions } from './peer-record.ts';

export interface FileEntry {
  id: string;
  name: string;
  size: number;
}

/** A peer's own shared files that changed since a cursor (all of them when `reset`). */
export interface FileDelta {
  cursor: string;
  reset: boolean;
  added: FileEntry[];
  removed: string[];
}

/** A delta of a peer table for one requester: only what changed since its cursor. */
export interface ViewDelta {
  cursor: string;
  records: PeerRecord[];
  /**
   * Suspicion rumours: [peerId, seq of the record suspected, rounds the suspicion has lasted] for
   * peers that became suspected or down since the cursor. A live peer refutes by re-signing.
   */
  suspects: [string, number, number][];
  /**
   * Records of peers the sender holds as *firewalled* (admission.ts): their peer proved its key
   * but cannot be dialled; receivers hold them firewalled too and never dial them. Absent from
   * older peers, and when there are none.
   */
  firewalled?: PeerRecord[];
}

export interface SyncRequest {
  /** The asker's own record: every request is also an announce (this is how Join works). */
  from: PeerRecord;
  viewCursor?: string;
  filesCursor?: string;
  /**
   * Without a view cursor (first contact), a digest of the records the asker already holds, as
   * haveEntry() strings, so the answer carries only the records it lacks instead of a full view.
   */
  have?: string[];
  /**
   * Once the asker's own set of records has stopped changing: setHash() of its digest (instead of
   * the digest when there is no cursor). An answerer holding the same set sends no records; one
   * that differs sends what changed since the cursor, or without one its whole view (rare once
   * the network has settled). Suspicions since the cursor are sent either way.
   */
  haveHash?: string;
  /**
   * A firewalled asker's own shared files (nobody can dial it to ask): the delta since `base`, the
   * cursor the answerer said it holds (absent: the whole list, reset). Sent only to answerers that
   * showed they take it (`askerFiles` in their answers); an answerer applies it only for a peer it
   * holds firewalled, and only on top of the cursor it holds.
   */
  ownFiles?: { base?: string; delta: FileDelta };
  /**
   * Peers new to the asker's table (verified by its own probe), newest first: the answerer offers
   * each to its own Admission as a record pushed by the asker (admission.ts). Older answerers
   * ignore it.
   */
  news?: PeerRecord[];
  /** The asker sends this request for its news alone: the answer carries no records (the asker ignores its cursor). */
  pushOnly?: true;
}

/** Most news records a request may carry (the sender sends its newsPerRequest setting, 8 by default). */
export const MAX_NEWS_IN_REQUEST = 16;

/** Most digest entries a request may carry; an asker that knows more sends none (a full view). */
export const MAX_HAVE = 1_000;
/** Peer id characters in a digest entry: 80 bits, enough that a mix-up only costs a record resent elsewhere. */
const HAVE_ID_CHARS = 16;
const HAVE_ENTRY = /^[a-z2-7]{16}:[0-9a-z]{1,11}$/;

/** Digest entries of records already seen: a record never changes, and a table's digest lists each one again. */
const haveEntries = new WeakMap<object, string>();

/** The digest entry of a record: a peer id prefix and the record's seq. */
export function haveEntry(record: Pick<PeerRecord, 'peerId' | 'seq'>): string {
  let entry = haveEntries.get(record);
  if (entry === undefined) {
    entry = `${record.peerId.slice(0, HAVE_ID_CHARS)}:${record.seq.toString(36)}`;
    haveEntries.set(record, entry);
  }
  return entry;
}

/** A digest's fingerprint: equal sets of records give equal hashes, whatever their order. */
export function setHash(entries: readonly string[]): string {
  return createHash('sha256')
    .update([...entries].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
}

const SET_HASH = /^[0-9a-f]{32}$/;

export interface SyncResponse {
  /** The answerer's peer id. */
  from: string;
  view: ViewDelta;
  files?: FileDelta;
  /** The IP address the answerer saw the request come from: a claim, checked by a dial-back before use (reachability.ts). */
  observed?: string;
  /** The cursor of the asker's own file list the answerer holds ('' for none): says it takes `ownFiles`. */
  askerFiles?: string;
}

const PEER_ID = /^[a-z2-7]{52}$/;
/** An IPv4 or IPv6 address as a socket reports one (no port); the domain imports no I/O module to check it. */
const IP_ADDRESS = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]{2,39}(?:\.\d{1,3}){0,3}(?:%[\w.]{1,15})?)$/;
const CURSOR = /^[\x21-\x7e]{1,128}$/;
const BAD_NAME_CHARS = /[\u0000-\u001f\u007f/\\]/;
const MAX_NAME_LENGTH = 255;
/** A suspicion older than this many rounds is nonsense: the suspect is down and evicted long before. */
const MAX_SUSPECT_ROUNDS = 1_000_000;

export type MessageLimits = Pick<FetchConfig, 'maxPeers' | 'maxTombstones' | 'maxFilesPerPeer' | 'maxClockSkewMs'>;

/** Firewalled records one answer may carry (what a sender sends is its firewalledGossip setting, 32 by default). */
export const MAX_FIREWALLED_IN_ANSWER = 256;

function bad(message: string, field: string): PeershareError {
  return new PeershareError('BAD_REQUEST', message, { field });
}

/** The field a refused record names (peer-record.ts and bad() above set `details.field`, always a string). */
function fieldOf(err: PeershareError): string | undefined {
  const field = err.details?.field;
  return typeof field === 'string' ? field : undefined;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(`${field} must be an object`, field);
  return value as Record<string, unknown>;
}

function list(value: unknown, max: number, field: string): unknown[] {
  if (!Array.isArray(value)) throw bad(`${field} must be an array`, field);
  if (value.length > max) {
    throw new PeershareError('PAYLOAD_TOO_LARGE', `${field} has ${value.length} items, more than ${max}`, {
      field,
      max,
    });
  }
  return value;
}

function cursor(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !CURSOR.test(value)) throw bad(`${field} must be 1-128 printable characters`, field);
  return value;
}

/** How records in a message are checked: the table's verified copies and the signature verifier. */
export type RecordChecks = Pick<VerifyOptions, 'verified' | 'verifier'>;

function record(value: unknown, field: string, now: number, limits: MessageLimits, checks: RecordChecks): PeerRecord {
  try {
    return verifyRecord(value, { now, maxSkewMs: limits.maxClockSkewMs, ...checks });
  } catch (err) {
    if (err instanceof PeershareError) throw bad(err.message, `${field}.${fieldOf(err) ?? ''}`);
    throw err;
  }
}

/** Check one record on its own (a leave, or a record kept from the last run). */
export function parseRecord(
  input: unknown,
  now: number,
  limits: Pick<FetchConfig, 'maxClockSkewMs'>,
  checks: RecordChecks = {},
): PeerRecord {
  try {
    return verifyRecord(input, { now, maxSkewMs: limits.maxClockSkewMs, ...checks });
  } catch (err) {
    if (err instanceof PeershareError) throw bad(err.message, fieldOf(err) ?? 'record');
    throw err;
  }
}

/** Check a request from a peer that asks for our view. */
export function parseSyncRequest(
  input: unknown,
  now: number,
  limits: MessageLimits,
  checks: RecordChecks = {},
  /**
   * Whether the receiver may take news about this peer id: news it would not take is dropped
   * before its signature is checked, so a request full of news the receiver's table would refuse
   * costs it no signature checks (anyone may send one, with up to MAX_NEWS_IN_REQUEST records).
   */
  wantsNews: (peerId: string) => boolean = () => true,
): SyncRequest {
  const body = object(input, 'request');
  const have =
    body.have === undefined
      ? undefined
      : list(body.have, MAX_HAVE, 'have').map((entry, i) => {
          if (typeof entry !== 'string' || !HAVE_ENTRY.test(entry))
            throw bad(`have[${i}] is not a digest entry`, `have[${i}]`);
          return entry;
        });
  const haveHash = body.haveHash;
  if (haveHash !== undefined && (typeof haveHash !== 'string' || !SET_HASH.test(haveHash)))
    throw bad('haveHash must be 32 hex digits', 'haveHash');
  const ownFiles = body.ownFiles === undefined ? undefined : object(body.ownFiles, 'ownFiles');
  const news =
    body.news === undefined
      ? undefined
      : list(body.news, MAX_NEWS_IN_REQUEST, 'news').flatMap((r, i) => {
          const peerId = typeof r === 'object' && r !== null ? (r as { peerId?: unknown }).peerId : undefined;
          if (typeof peerId !== 'string') throw bad(`news[${i}] has no peer id`, `news[${i}].peerId`);
          return wantsNews(peerId) ? [record(r, `news[${i}]`, now, limits, checks)] : [];
        });
  if (body.pushOnly !== undefined && body.pushOnly !== true)
    throw bad('pushOnly must be true when present', 'pushOnly');
  return {
    ...(ownFiles
      ? {
          ownFiles: {
            ...(cursor(ownFiles.base, 'ownFiles.base') !== undefined ? { base: ownFiles.base as string } : {}),
            delta: parseFileDelta(ownFiles.delta, limits),
          },
        }
      : {}),
    from: record(body.from, 'from', now, limits, checks),
    viewCursor: cursor(body.viewCursor, 'viewCursor'),
    filesCursor: cursor(body.filesCursor, 'filesCursor'),
    ...(have ? { have } : {}),
    ...(haveHash !== undefined ? { haveHash } : {}),
    ...(news && news.length > 0 ? { news } : {}),
    ...(body.pushOnly === true ? { pushOnly: true as const } : {}),
  };
}

/** Check a response to our request; `expectedFrom` is the peer we meant to ask, when known. */
export function parseSyncResponse(
  input: unknown,
  now: number,
  limits: MessageLimits,
  expectedFrom?: string,
  checks: RecordChecks = {},
  /**
   * Whether the asker may take gossip about this peer id (a full table takes only peers that rank
   * below its highest entry): a record it would not take is dropped before its signature is
   * checked, as pushed news is. The answerer's own record, and records that say a peer left (a
   * tombstone spreads to every table), are always checked.
   */
  wantsGossip: (peerId: string) => boolean = () => true,
): SyncResponse {
  const body = object(input, 'response');
  const from = body.from;
  if (typeof from !== 'string' || !PEER_ID.test(from)) throw bad('from must be a peer id', 'from');
  if (expectedFrom !== undefined && from !== expectedFrom)
    throw bad('answered by another peer than the one asked', 'from');
  const view = object(body.view, 'view');
  const rawRecords = list(view.records, limits.maxPeers + limits.maxTombstones + 1, 'view.records');
  const rawSuspects = list(view.suspects, limits.maxPeers, 'view.suspects');
  const viewCursor = cursor(view.cursor, 'view.cursor');
  if (viewCursor === undefined) throw bad('view.cursor is required', 'view.cursor');
  const suspects = rawSuspects.map((triple, i): [string, number, number] => {
    const field = `view.suspects[${i}]`;
    if (!Array.isArray(triple) || triple.length !== 3) throw bad(`${field} must be [peerId, seq, rounds]`, field);
    const [peerId, seq, rounds] = triple as unknown[];
    if (typeof peerId !== 'string' || !PEER_ID.test(peerId)) throw bad(`${field} has no valid peer id`, field);
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw bad(`${field} has no valid seq`, field);
    if (typeof rounds !== 'number' || !Number.isSafeInteger(rounds) || rounds < 0 || rounds > MAX_SUSPECT_ROUNDS)
      throw bad(`${field} has an absurd age`, field);
    return [peerId, seq, rounds];
  });
  const records = rawRecords.flatMap((r, i) => {
    const field = `view.records[${i}]`;
    const { peerId, status } = typeof r === 'object' && r !== null ? (r as { peerId?: unknown; status?: unknown }) : {};
    if (typeof peerId !== 'string') throw bad(`${field} has no peer id`, `${field}.peerId`);
    const checked = peerId === from || status === 'left' || wantsGossip(peerId);
    return checked ? [record(r, field, now, limits, checks)] : [];
  });
  const firewalled =
    view.firewalled === undefined
      ? undefined
      : list(view.firewalled, MAX_FIREWALLED_IN_ANSWER, 'view.firewalled').map((r, i) =>
          record(r, `view.firewalled[${i}]`, now, limits, checks),
        );
  const files = body.files === undefined ? undefined : parseFileDelta(body.files, limits);
  // Only a hint (and absent from older peers): an unusable one is dropped, not a reason to refuse the answer.
  const observed = typeof body.observed === 'string' && IP_ADDRESS.test(body.observed) ? body.observed : undefined;
  return {
    from,
    view: { cursor: viewCursor, records, suspects, ...(firewalled ? { firewalled } : {}) },
    ...(files ? { files } : {}),
    ...(observed ? { observed } : {}),
  };
}

/** The cursor of our own file list a raw answer says its sender holds, if it says (it then takes ownFiles). */
export function askerFilesIn(input: unknown): string | undefined {
  const held = typeof input === 'object' && input !== null ? (input as { askerFiles?: unknown }).askerFiles : undefined;
  return typeof held === 'string' && (held === '' || CURSOR.test(held)) ? held : undefined;
}

/** The observed address of a raw answer (applyResponse checked the rest), if it carries a usable one. */
export function observedIn(input: unknown): string | undefined {
  const observed = typeof input === 'object' && input !== null ? (input as { observed?: unknown }).observed : undefined;
  return typeof observed === 'string' && IP_ADDRESS.test(observed) ? observed : undefined;
}

/** Check a shared-file list delta. */
export function parseFileDelta(input: unknown, limits: Pick<FetchConfig, 'maxFilesPerPeer'>): FileDelta {
  const body = object(input, 'files');
  const deltaCursor = cursor(body.cursor, 'files.cursor');
  if (deltaCursor === undefined) throw bad('files.cursor is required', 'files.cursor');
  if (typeof body.reset !== 'boolean') throw bad('files.reset must be a boolean', 'files.reset');
  const added = list(body.added, limits.maxFilesPerPeer, 'files.added').map((raw, i) => {
    const field = `files.added[${i}]`;
    const file = object(raw, field);
    if (typeof file.id !== 'string' || !isFileId(file.id)) throw bad(`${field}.id is not a file id`, `${field}.id`);
    const name = file.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || BAD_NAME_CHARS.test(name)) {
      throw bad(`${field}.name is not a file name`, `${field}.name`);
    }
    if (typeof file.size !== 'number' || !Number.isSafeInteger(file.size) || file.size < 0)
      throw bad(`${field}.size is not a size`, `${field}.size`);
    return { id: file.id, name, size: file.size };
  });
  const removed = list(body.removed, limits.maxFilesPerPeer, 'files.removed').map((id, i) => {
    if (typeof id !== 'string' || !isFileId(id))
      throw bad(`files.removed[${i}] is not a file id`, `files.removed[${i}]`);
    return id;
  });
  return { cursor: deltaCursor, reset: body.reset, added, removed };
}
