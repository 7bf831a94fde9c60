/**
 * Collections: a shared folder as a snapshot of its files (docs/PROTOCOL.md §11). The canonical
 * encoding is UTF-8 text, one header line then one line per file, sorted by the UTF-8 bytes of
 * the relative path:
 *
 *     peershare-collection 1\n
 *     <file id> <size> <path>\n      (path: segments joined by '/', each a safe file name)
 *
 * The collection id is SHA-256(COLLECTION_ID_DOMAIN ‖ SHA-256(encoding)). That input is always
 * COLLECTION_ID_DOMAIN.length + 32 = 55 bytes, never a multiple of 32, while a file id hashes the
 * concatenated 32-byte chunk hashes (a multiple of 32 bytes): the two never hash the same input,
 * so a collection id equal to a file id would be a SHA-256 collision.
 *
 * One strict parser: any byte sequence that is not exactly what encodeCollection() writes for
 * valid entries is refused with INVALID_COLLECTION saying why, so a verified id pins one tree.
 */
import { createHash } from 'node:crypto';
import { PeershareError } from './errors.ts';
import { isFileId } from './ids.ts';
import { validateFileName } from './names.ts';

/** Segments in one entry's path: a file at the top of the folder is depth 1. */
export const MAX_COLLECTION_DEPTH = 16;
/** Files listed in one collection. */
export const MAX_COLLECTION_ENTRIES = 10_000;
/** Bytes of one canonical encoding (10,000 entries of about 400 bytes). */
export const MAX_COLLECTION_BYTES = 4 * 1024 * 1024;

/** The first line of every encoding: the format and its version. */
export const COLLECTION_HEADER = 'peershare-collection 1\n';
/** Prefixed to the encoding's hash before hashing again: see the header comment for why. */
export const COLLECTION_ID_DOMAIN = 'peershare/collection/v1';
/** The media type a collection's canonical encoding is served as. */
export const COLLECTION_MEDIA_TYPE = 'application/vnd.peershare.collection';

export interface CollectionEntry {
  /** Relative path: segments joined by '/', each passing the file-name rules. */
  path: string;
  size: number;
  /** The file's id (shared/content.ts). */
  fileId: string;
}

export interface Collection {
  /** Lowercase hex, 64 characters, as a file id. */
  id: string;
  /** Entries in canonical order. */
  entries: CollectionEntry[];
  /** The sum of the entries' sizes. */
  size: number;
  /** The canonical encoding: the bytes the id is computed from. */
  encoding: Buffer;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LINE = /^([0-9a-f]{64}) (0|[1-9][0-9]*) (.+)$/s;

function invalid(why: string): never {
  throw new PeershareError('INVALID_COLLECTION', `invalid collection: ${why}`);
}

/** Order of two paths by their UTF-8 bytes (JavaScript's own order is by UTF-16 code units). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Why `path` cannot be an entry's path, or undefined when it can. */
export function collectionPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'an empty path';
  const segments = path.split('/');
  if (segments.length > MAX_COLLECTION_DEPTH)
    return `${segments.length} segments deep, more than ${MAX_COLLECTION_DEPTH}`;
  for (const segment of segments) {
    if (segment.length === 0) return 'an empty segment (a leading, trailing or doubled /)';
    try {
      validateFileName(segment);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
}

function quoted(path: string): string {
  return JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path);
}

/** Check entries already in canonical order against every rule; returns their total size. */
function checkEntries(entries: readonly CollectionEntry[]): number {
  if (entries.length === 0) invalid('no entries (an empty folder is not a collection)');
  if (entries.length > MAX_COLLECTION_ENTRIES)
    invalid(`${entries.length} entries, more than ${MAX_COLLECTION_ENTRIES}`);
  const files = new Set<string>();
  const folders = new Set<string>();
  let total = 0;
  let previous: string | undefined;
  for (const [i, { path, size, fileId }] of entries.entries()) {
    const at = `entry ${i + 1} (${quoted(path)})`;
    const problem = collectionPathProblem(path);
    if (problem) invalid(`${at}: ${problem}`);
    if (!Number.isSafeInteger(size) || size < 0) invalid(`${at}: size ${size} is not a whole number of bytes`);
    if (!isFileId(fileId)) invalid(`${at}: file id is not 64 lowercase hex characters`);
    if (previous !== undefined) {
      const order = compareUtf8(previous, path);
      if (order === 0) invalid(`${at}: the path is listed twice`);
      if (order > 0) invalid(`${at}: not sorted by the UTF-8 bytes of its path`);
    }
    previous = path;
    if (folders.has(path)) invalid(`${at}: a file where another entry has a folder`);
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join('/');
      if (files.has(folder)) invalid(`${at}: inside ${quoted(folder)}, which is a file`);
      folders.add(folder);
    }
    files.add(path);
    total += size;
    if (!Number.isSafeInteger(total)) invalid('the sizes add up past 2^53 bytes');
  }
  return total;
}

/** The canonical encoding of entries already in canonical order (not checked here). */
function encode(entries: readonly CollectionEntry[]): Buffer {
  const lines = entries.map((e) => `${e.fileId} ${e.size} ${e.path}\n`);
  return Buffer.from(COLLECTION_HEADER + lines.join(''), 'utf8');
}

/** The id of a canonical encoding. */
export function collectionId(encoding: Uint8Array): string {
  const inner = createHash('sha256').update(encoding).digest();
  return createHash('sha256').update(utf8.encode(COLLECTION_ID_DOMAIN)).update(inner).digest('hex');
}

function finish(entries: CollectionEntry[], size: number, encoding: Buffer): Collection {
  if (encoding.length > MAX_COLLECTION_BYTES)
    invalid(`${encoding.length} bytes encoded, more than ${MAX_COLLECTION_BYTES}`);
  return { id: collectionId(encoding), entries, size, encoding };
}

/**
 * The collection of these entries, in any order (a folder walked in any order gives the same id).
 * Throws INVALID_COLLECTION when they break a rule.
 */
export function buildCollection(entries: Iterable<CollectionEntry>): Collection {
  const sorted = [...entries]
    .map(({ path, size, fileId }) => ({ path, size, fileId }))
    .sort((a, b) => compareUtf8(a.path, b.path));
  const size = checkEntries(sorted);
  return finish(sorted, size, encode(sorted));
}

/**
 * Read a canonical encoding, refusing anything else with INVALID_COLLECTION saying why. With
 * `expectedId`, an encoding whose id differs is refused too: what a downloader does with the
 * bytes a peer sent for an id.
 */
export function parseCollection(encoding: Uint8Array, expectedId?: string): Collection {
  if (encoding.length > MAX_COLLECTION_BYTES) invalid(`${encoding.length} bytes, more than ${MAX_COLLECTION_BYTES}`);
  if (expectedId !== undefined && collectionId(encoding) !== expectedId)
    invalid(`its bytes do not hash to ${expectedId}`);
  let text: string;
  try {
    text = strictUtf8.decode(encoding);
  } catch {
    invalid('not valid UTF-8');
  }
  if (!text.startsWith(COLLECTION_HEADER))
    invalid(`it does not start with the line ${JSON.stringify(COLLECTION_HEADER.trimEnd())}`);
  const body = text.slice(COLLECTION_HEADER.length);
  if (body === '') invalid('no entries (an empty folder is not a collection)');
  if (!body.endsWith('\n')) invalid('the last line does not end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length > MAX_COLLECTION_ENTRIES) invalid(`${lines.length} entries, more than ${MAX_COLLECTION_ENTRIES}`);
  const entries = lines.map((line, i): CollectionEntry => {
    const m = LINE.exec(line);
    if (!m) invalid(`line ${i + 2} is not "<file id> <size> <path>"`);
    return { fileId: m[1]!, size: Number(m[2]), path: m[3]! };
  });
  const size = checkEntries(entries);
  const canonical = encode(entries);
  // Catches what the line pattern lets by (a size written past 2^53 that reads back as another number).
  if (!canonical.equals(encoding)) invalid('not in canonical form');
  return finish(entries, size, canonical);
}
