/**
 * `peershare:` links, a file's shareable name (docs/PROTOCOL.md §10): its id, a suggested name,
 * its size and a few peers as hints, each `peerId@host:port` (peer-address.ts), so that a
 * newcomer who knows no network can ask those peers for it. Only the id is trusted: a download
 * verifies every chunk against it, a hint is dialled pinned to its peer id, the name must pass
 * the share rules (names.ts) and the size must match the verified manifest.
 *
 * Pure string work with no Node import, so the web UI parses links with this same module.
 */
import { isFileId } from './ids.ts';
import { validateFileName } from './names.ts';
import { formatPeerAddress, parsePeerAddress } from './peer-address.ts';

/** What a link starts with (`web+peershare:` is accepted too: what a browser hands a registered handler). */
export const LINK_SCHEME = 'peershare:';
export const WEB_LINK_SCHEME = 'web+peershare:';
/** The longest link accepted, in characters (8 hints at the longest address and a 255-byte name fit). */
export const MAX_LINK_LENGTH = 4096;
/** The most hints a link may carry. */
export const MAX_LINK_HINTS = 8;

export interface ShareLink {
  /** The file's id, or the folder's collection id (`folder: true`, docs/PROTOCOL.md §11). */
  fileId: string;
  /** A shared folder (written `folder=ID` instead of `id=ID`): the tree of files its collection lists. */
  folder?: true;
  /** A suggestion, checked by the share name rules; absent when the link gives none. */
  name?: string;
  /** Bytes; absent when the link gives none. */
  size?: number;
  /** Peers said to hold the file, each `peerId@host:port`, in the link's order, without repeats. */
  hints: string[];
}

export type LinkReading = { ok: true; link: ShareLink } | { ok: false; reason: string };

/** Everything but unreserved characters and the ':' and '@' of a hint percent-encoded (RFC 3986). */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/%3A/g, ':').replace(/%40/g, '@');
}

/** The link for a file; hints past MAX_LINK_HINTS, repeats and ones that are not `peerId@host:port` are left out. */
export function formatShareLink(link: ShareLink): string {
  if (!isFileId(link.fileId)) throw new Error(`not a file id: ${link.fileId}`);
  const parts = [`${link.folder ? 'folder' : 'id'}=${link.fileId}`];
  if (link.name !== undefined) parts.push(`name=${encode(validateFileName(link.name))}`);
  if (link.size !== undefined) parts.push(`size=${link.size}`);
  const hints = [...new Set(link.hints)]
    .map(parsePeerAddress)
    .filter((h) => h !== undefined)
    .slice(0, MAX_LINK_HINTS);
  for (const hint of hints) parts.push(`hint=${encode(formatPeerAddress(hint))}`);
  return `${LINK_SCHEME}?${parts.join('&')}`;
}

/** Whether `text` (trimmed) is written as a link, valid or not, rather than something else (a bare id, words). */
export function looksLikeLink(text: string): boolean {
  const t = text.trim().toLowerCase();
  return t.startsWith(LINK_SCHEME) || t.startsWith(WEB_LINK_SCHEME);
}

const SINGLE = new Set(['id', 'folder', 'name', 'size']);
const SIZE = /^(0|[1-9]\d{0,15})$/;

/** Read a link (surrounding white space ignored); never throws. */
export function parseShareLink(text: string): LinkReading {
  const fail = (reason: string): LinkReading => ({ ok: false, reason });
  const raw = text.trim();
  if (raw.length > MAX_LINK_LENGTH) return fail(`longer than ${MAX_LINK_LENGTH} characters`);
  const scheme = [LINK_SCHEME, WEB_LINK_SCHEME].find((s) => raw.slice(0, s.length).toLowerCase() === s);
  if (scheme === undefined) return fail(`does not start with ${LINK_SCHEME}`);
  // Printable ASCII only: anything else (white space, controls, raw Unicode) must be percent-encoded.
  if (!/^[\x21-\x7e]*$/.test(raw)) return fail('contains white space, a control character or unencoded non-ASCII text');
  const rest = raw.slice(scheme.length);
  if (!rest.startsWith('?')) return fail(`expected "?" after ${scheme}`);
  const single = new Map<string, string>();
  const hints: string[] = [];
  for (const pair of rest.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!SINGLE.has(key) && key !== 'hint') continue; // unknown parameters are for later versions
    let value: string;
    try {
      value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    } catch {
      return fail(`${key}: not valid percent-encoded UTF-8`);
    }
    if (key === 'hint') {
      if (hints.length === MAX_LINK_HINTS) return fail(`more than ${MAX_LINK_HINTS} hints`);
      if (parsePeerAddress(value) === undefined)
        return fail(`hint ${JSON.stringify(value.slice(0, 80))} is not peerId@host:port`);
      hints.push(value);
    } else {
      if (single.has(key)) return fail(`${key} given more than once`);
      single.set(key, value);
    }
  }
  const folder = single.get('folder');
  if (folder !== undefined && single.has('id')) return fail('both id and folder');
  const fileId = folder ?? single.get('id');
  if (fileId === undefined) return fail('no id');
  if (!isFileId(fileId)) return fail(`${folder !== undefined ? 'folder' : 'id'} is not 64 lowercase hex characters`);
  const link: ShareLink = {
    fileId,
    ...(folder !== undefined ? { folder: true as const } : {}),
    hints: [...new Set(hints)],
  };
  const name = single.get('name');
  if (name !== undefined) {
    try {
      link.name = validateFileName(name);
    } catch (err) {
      return fail(`name: ${(err as Error).message}`);
    }
  }
  const size = single.get('size');
  if (size !== undefined) {
    if (!SIZE.test(size) || !Number.isSafeInteger(Number(size))) return fail('size is not a whole number of bytes');
    link.size = Number(size);
  }
  return { ok: true, link };
}
