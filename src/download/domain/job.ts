/**
 * A download job: what the queue carries from whoever asks for a file to the Download service.
 * It names the file and where it may be found — never its bytes. A job's key is derived from
 * the file id and the target folder, so the same file requested twice for the same folder is
 * one download whatever the queue delivers; it is keyed with a secret of this peer, so that no
 * one else can name a download (the key is what pause, resume and cancel take).
 */
import { createHash, createHmac } from 'node:crypto';
import { PeershareError } from '../../shared/errors.ts';
import { isFileId } from '../../shared/ids.ts';
import { validateFileName } from '../../shared/names.ts';
import { parsePeerAddress } from '../../shared/peer-address.ts';

/**
 * The sources a job keeps. A caller may name more (a popular file has more holders): the first
 * MAX_SOURCES_PER_JOB are kept, in the caller's order (its best first), never a failure; the
 * Client sends at most this many already (the best: alive first, most recently heard).
 */
export const MAX_SOURCES_PER_JOB = 64;
/** The most sources a job or a request may name at all (bounds the checking); beyond it, refused. */
export const MAX_SOURCES_NAMED = 1024;
const MAX_JOB_BYTES = 64 * 1024;

/** The job format this version writes: sources are `peerId@host:port` (2); 1 named them by http:// base URL. */
export const JOB_VERSION = 2;

export interface DownloadJob {
  /** Job version, so a later format can be told apart. */
  v: 2;
  fileId: string;
  /** The name to save the file under (validated like any shared name). */
  name: string;
  /** Absolute folder to save into; the peer's downloads folder when absent. */
  outDir?: string;
  /**
   * File Management endpoints known to hold the file (e.g. from search hits), each
   * `peerId@host:port` (shared/peer-address.ts): a download dials it over TLS and takes only the
   * peer whose certificate proves that id. At most MAX_SOURCES_PER_JOB (validateJob keeps the first).
   */
  sources: string[];
  /** The size the file should have (from a link): a verified manifest of another size fails the job. */
  size?: number;
  /** ms since the epoch. */
  requestedAt: number;
}

/** Bytes of secret a peer keys its download keys with. */
export const JOB_KEY_SECRET_BYTES = 32;

/** The idempotency key: one download per (file id, target folder), an HMAC under the peer's secret. */
export function jobKey(secret: Uint8Array, fileId: string, outDir: string): string {
  return createHmac('sha256', secret).update(`${fileId}\0${outDir}`).digest('hex').slice(0, 32);
}

/** The key earlier versions used (anyone could compute it); their records are still stored under it. */
export function legacyJobKey(fileId: string, outDir: string): string {
  return createHash('sha256').update(`${fileId}\0${outDir}`).digest('hex').slice(0, 32);
}

/**
 * The key of a (file, folder) on this peer: the legacy key when a download record already exists
 * under it (made before keys were secret; records are stored by key, and its partial file is
 * named after it), else the secret one. `isKnown` says whether a record has that key.
 */
export function jobKeys(
  secret: Uint8Array,
  isKnown: (key: string) => boolean,
): (fileId: string, outDir: string) => string {
  if (secret.length < JOB_KEY_SECRET_BYTES)
    throw new Error(`a download key secret needs at least ${JOB_KEY_SECRET_BYTES} bytes`);
  return (fileId, outDir) => {
    const legacy = legacyJobKey(fileId, outDir);
    return isKnown(legacy) ? legacy : jobKey(secret, fileId, outDir);
  };
}

function bad(message: string): PeershareError {
  return new PeershareError('BAD_REQUEST', `malformed download job: ${message}`);
}

/** Whether `value` is a source of the current format: `peerId@host:port`. */
export function isSource(value: unknown): value is string {
  return parsePeerAddress(value) !== undefined;
}

/** Whether `value` is a source of a version 1 job: an http(s) base URL, with no peer id to pin. */
function isLegacySource(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 512) return false;
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}

/** Validate a job from raw bytes (a queue message); throws BAD_REQUEST saying what is wrong. */
export function parseJob(body: Uint8Array): DownloadJob {
  if (body.length > MAX_JOB_BYTES) throw bad(`larger than ${MAX_JOB_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  return validateJob(raw);
}

/**
 * Validate a job; of more than MAX_SOURCES_PER_JOB sources, the first are kept. A version 1 job (queued by an earlier release: sources as http:// URLs, no peer
 * id) is still accepted, without its sources: an address with no id cannot be dialled pinned, so
 * it is dropped, and the download takes its sources from Fetch's directory when it runs.
 */
export function validateJob(raw: unknown): DownloadJob {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not an object');
  const j = raw as Record<string, unknown>;
  if (j.v !== 1 && j.v !== JOB_VERSION) throw bad(`unknown version ${JSON.stringify(j.v)}`);
  if (typeof j.fileId !== 'string' || !isFileId(j.fileId)) throw bad('fileId must be 64 lowercase hex characters');
  if (typeof j.name !== 'string') throw bad('name must be a string');
  try {
    validateFileName(j.name);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (
    j.outDir !== undefined &&
    (typeof j.outDir !== 'string' || !j.outDir.startsWith('/') || j.outDir.includes('\0') || j.outDir.length > 4096)
  ) {
    throw bad('outDir must be an absolute path');
  }
  const legacy = j.v === 1;
  if (
    !Array.isArray(j.sources) ||
    j.sources.length > MAX_SOURCES_NAMED ||
    !j.sources.every(legacy ? isLegacySource : isSource)
  ) {
    throw bad(
      legacy
        ? `sources must be at most ${MAX_SOURCES_NAMED} http(s) base URLs`
        : `sources must be at most ${MAX_SOURCES_NAMED} peer addresses, each peerId@host:port`,
    );
  }
  if (j.size !== undefined && (typeof j.size !== 'number' || !Number.isSafeInteger(j.size) || j.size < 0))
    throw bad('size must be a whole number of bytes');
  if (typeof j.requestedAt !== 'number' || !Number.isSafeInteger(j.requestedAt) || j.requestedAt < 0)
    throw bad('requestedAt must be a timestamp');
  const extra = Object.keys(j).filter(
    (k) => !['v', 'fileId', 'name', 'outDir', 'sources', 'size', 'requestedAt'].includes(k),
  );
  if (extra.length > 0) throw bad(`unknown field ${extra[0]}`);
  return {
    v: JOB_VERSION,
    fileId: j.fileId,
    name: j.name,
    ...(j.outDir !== undefined ? { outDir: j.outDir } : {}),
    // More than the cap is no failure: the first ones, in the caller's order, are kept.
    sources: legacy ? [] : [...new Set(j.sources as string[])].slice(0, MAX_SOURCES_PER_JOB),
    ...(j.size !== undefined ? { size: j.size } : {}),
    requestedAt: j.requestedAt,
  };
}
