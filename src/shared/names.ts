/**
 * File-name rules. A shared name is a single path component that is safe to create on Linux,
 * macOS and Windows alike, so a downloader can always write it under its own folder.
 */
import { PeershareError } from './errors.ts';

export const MAX_NAME_BYTES = 255;

// TextEncoder rather than Buffer: the web UI checks names in links with this module too.
const utf8 = new TextEncoder();

// Windows reserves these device names, with or without an extension.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// Separators, NUL and control characters, and the characters Windows forbids in names.
const FORBIDDEN = /[\u0000-\u001f\u007f/\\<>:"|?*]/;
// Characters that are invisible or reorder what is shown, so a name can pose as another: C0 and
// C1 controls (Cc), format characters (Cf: bidi overrides and isolates U+202A–202E, U+2066–2069,
// marks U+200E/F, U+061C; zero-width space U+200B, word joiner U+2060, BOM U+FEFF, soft hyphen,
// tags…) and line/paragraph separators. "evil\u202Etxt.exe" shows as "evilexe.txt". Only ZWNJ
// and ZWJ (U+200C/D) pass: Persian, Indic scripts and emoji sequences need them inside words.
const INVISIBLE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function reject(name: string, why: string): never {
  throw new PeershareError('INVALID_NAME', `invalid file name ${JSON.stringify(name.slice(0, 80))}: ${why}`);
}

/** Percent-decode repeatedly (bounded), so `%252e%252e%252f` is judged as `../`. */
function decodings(name: string): string[] {
  const out = [name];
  let current = name;
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(current); i++) {
    try {
      current = decodeURIComponent(current);
    } catch {
      break;
    }
    out.push(current);
  }
  return out;
}

function codePointOf(form: string): string {
  const found = INVISIBLE.exec(form)![0];
  return found.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}

/** Return `name` if it is a safe file name, or throw INVALID_NAME saying why not. */
export function validateFileName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) reject(String(name), 'empty');
  if (utf8.encode(name).length > MAX_NAME_BYTES) reject(name, `longer than ${MAX_NAME_BYTES} bytes`);
  for (const form of decodings(name)) {
    if (form === '.' || form === '..') reject(name, 'a dot segment');
    if (FORBIDDEN.test(form)) reject(name, 'contains a path separator, NUL, control or reserved character');
    if (INVISIBLE.test(form))
      reject(name, `contains an invisible or direction-changing character (U+${codePointOf(form)})`);
    if (form.split(/[/\\]/).some((part) => part === '..' || part === '.')) reject(name, 'a dot segment');
  }
  if (RESERVED.test(name)) reject(name, 'a reserved device name on Windows');
  if (/[. ]$/.test(name)) reject(name, 'ends with a dot or a space');
  if (!name.isWellFormed()) reject(name, 'not valid Unicode');
  return name;
}

/** Whether `name` is a safe file name (validateFileName's rules), for filtering what others send. */
export function isSafeFileName(name: string): boolean {
  try {
    validateFileName(name);
    return true;
  } catch {
    return false;
  }
}
