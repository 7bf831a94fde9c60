/**
 * The rules for serving the built web UI (web/dist): which request paths name a file, with what
 * content type, how long browsers may keep it, and its validator. Pure, so the rules that keep a
 * request inside web/dist are tested on their own (web-assets.test.ts).
 */

/**
 * One path segment of a built asset: what Vite emits (`index-B3x_9kQa.js`, `logo.svg`). No dot
 * segments, no separators, no escapes: anything else is not a file of the UI.
 */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
const MAX_DEPTH = 4;

/**
 * The path under web/dist/assets/ that an `/assets/*` request names, or undefined when it names
 * nothing the UI could have built (`..`, `%2e`, backslashes, NUL, hidden files, too deep).
 */
export function assetPath(wildcard: string): string | undefined {
  const segments = wildcard.split('/');
  if (segments.length > MAX_DEPTH || !segments.every((s) => SEGMENT.test(s))) return undefined;
  return `assets/${segments.join('/')}`;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
};

export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot >= 0 ? TYPES[path.slice(dot + 1).toLowerCase()] : undefined) ?? 'application/octet-stream';
}

/** Vite names every bundled asset after a hash of its content: `name-HASH.ext`. */
const HASHED = /^assets\/(?:.+\/)?[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * A hashed asset never changes under its name, so browsers keep it; index.html (and anything
 * unhashed) is revalidated on every load, so a rebuilt UI is picked up at once.
 */
export function cacheControlOf(path: string): string {
  return HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** A weak validator from size and modification time, enough for a rebuilt file to differ. */
export function etagOf(size: number, mtimeMs: number): string {
  return `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}

/** Whether an If-None-Match header matches `etag` (weak comparison, RFC 9110 §13.1.2). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

/**
 * What the UI's page may load: only its own files and its own API (no CDN, no inline script),
 * and never inside another site's frame.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
