/** Identifier encodings shared by every service. */

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lowercase, without padding (used for peer ids). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A file id: lowercase hex SHA-256, 64 characters. */
export const FILE_ID_PATTERN = '^[0-9a-f]{64}$';
const FILE_ID_RE = new RegExp(FILE_ID_PATTERN);

export function isFileId(value: string): boolean {
  return FILE_ID_RE.test(value);
}

/** A peer id: base32 of a SHA-256, 52 characters. */
export const PEER_ID_PATTERN = '^[a-z2-7]{52}$';
