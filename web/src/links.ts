/**
 * Links in the UI: what the paste box holds (a `peershare:` link or a bare file id, read with the
 * peer's own parser, src/shared/share-link.ts) and the deep links that open the UI on a form
 * (`#/get/LINK_OR_ID`, `#/search?q=WORDS`). A deep link only fills a form in: a page that links
 * here cannot start anything, the user's click does.
 */
import { FILE_ID_PATTERN } from '../../src/shared/ids.ts';
import { looksLikeLink, parseShareLink, type ShareLink } from '../../src/shared/share-link.ts';

const FILE_ID = new RegExp(FILE_ID_PATTERN);

export type Pasted =
  | { kind: 'empty' }
  | { kind: 'link'; link: ShareLink; text: string }
  | { kind: 'id'; fileId: string }
  | { kind: 'invalid'; reason: string };

/** What the paste box holds. */
export function readPasted(text: string): Pasted {
  const t = text.trim();
  if (t === '') return { kind: 'empty' };
  if (FILE_ID.test(t)) return { kind: 'id', fileId: t };
  if (!looksLikeLink(t)) return { kind: 'invalid', reason: 'paste a peershare: link or a 64-character file id' };
  const read = parseShareLink(t);
  return read.ok ? { kind: 'link', link: read.link, text: t } : { kind: 'invalid', reason: read.reason };
}

/** The body of POST /downloads for what was pasted. */
export function downloadRequest(p: Pasted): { link: string } | { fileId: string } | undefined {
  return p.kind === 'link' ? { link: p.text } : p.kind === 'id' ? { fileId: p.fileId } : undefined;
}

export type DeepLink = { view: 'get'; text: string } | { view: 'search'; q: string };

/**
 * The form a deep link fills: `#/get/` followed by a link or id, as is or percent-encoded whole
 * (what registerProtocolHandler's %s gives); `#/search?q=`.
 */
export function readDeepLink(hash: string): DeepLink | undefined {
  if (hash.startsWith('#/get/')) {
    const rest = hash.slice('#/get/'.length);
    if (looksLikeLink(rest) || FILE_ID.test(rest)) return { view: 'get', text: rest };
    try {
      return { view: 'get', text: decodeURIComponent(rest) };
    } catch {
      return { view: 'get', text: rest };
    }
  }
  if (hash.startsWith('#/search')) {
    const query = hash.indexOf('?');
    return { view: 'search', q: query < 0 ? '' : (new URLSearchParams(hash.slice(query + 1)).get('q') ?? '') };
  }
  return undefined;
}
