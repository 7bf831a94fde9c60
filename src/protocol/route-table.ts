/**
 * Query routing tables (feature "qrp", docs/PROTOCOL.md §12): what a peer tells its neighbours
 * about the searches it could answer, so the last hops of a flood go only where a match is
 * possible — Gnutella's Query Routing Protocol, cut to this protocol's name matching.
 *
 * A table is a bit set of 2^k bits (k from ROUTE_TABLE_MIN_BITS_LOG2 to ..._MAX_...). A shared
 * name sets one bit per prefix of each of its tokens (up to ROUTE_PREFIX_MAX code points, since a
 * query term matches a token it is a prefix of), a shared file or folder one bit for its id; a
 * query may match when every term's bit is set (or its file id's). A bit set is only a hint: a
 * false positive costs a message, a table with every bit set is a flood, and there are no false
 * negatives for folded terms, so a table can never hide a holder that tells the truth.
 *
 * Tables of different sizes combine without loss of that property: a bit's index is the key's
 * hash masked to the table's size, so a small table widens to a larger one by repeating itself,
 * and the union of two tables is taken at the larger size.
 *
 * On the wire a table is sent whole or as a patch (its XOR with the table sent before on the same
 * link), raw-deflated either way; decoding is bounded by the table's own size.
 */
import { constants as zlib, deflateRawSync, inflateRawSync } from 'node:zlib';

/** Sizes a table may have, as powers of two (1 KiB … 128 KiB of bits). */
export const ROUTE_TABLE_MIN_BITS_LOG2 = 13;
export const ROUTE_TABLE_MAX_BITS_LOG2 = 20;
/** Code points of a token's prefixes that get a bit; a longer query term is looked up by this prefix. */
export const ROUTE_PREFIX_MAX = 12;
/** Keys per bit a table is sized for (about one bit in eight set), before the size cap. */
const BITS_PER_KEY = 8;
/**
 * The smallest size sizeFor chooses, above the protocol's least: tables are combined into levels
 * (a neighbour's and its neighbours' shares), and a union is never sparser than its smallest
 * member, widened. Own tables of 2^13 bits left the third level 78 % full at 10,000 simulated
 * peers, a near-flood; at 2^16, 17 % (docs/SCALE.md "Keyword routing"), and the fourth 55 %; at
 * 2^18 the four levels are 0.1, 0.9, 4.6 and 18 % full, which is what brings a TTL 7 search under
 * a tenth of a flood's messages (docs/SCALE.md "The target with the current rules"). 32 KiB,
 * deflated to a few hundred bytes when sparse.
 */
export const ROUTE_TABLE_OWN_MIN_BITS_LOG2 = 18;
/** Marks an id key; no token has it (tokens are letters and digits). */
const ID_MARK = '#';

/** A RouteTable of `bits` bits; `bits` must be a power of two within the protocol's sizes. */
export class RouteTable {
  readonly bits: number;
  private readonly set: Uint8Array;

  private constructor(bits: number, set: Uint8Array) {
    this.bits = bits;
    this.set = set;
  }

  /** An empty table of 2^log2 bits. */
  static empty(log2: number): RouteTable {
    checkLog2(log2);
    return new RouteTable(2 ** log2, new Uint8Array(2 ** log2 / 8));
  }

  /** A table with every bit set: matches every query (what an unknown neighbour is taken to have). */
  static full(log2: number = ROUTE_TABLE_MIN_BITS_LOG2): RouteTable {
    const table = RouteTable.empty(log2);
    table.set.fill(0xff);
    return table;
  }

  /**
   * The size (log2 of bits) an own table of `keys` keys gets: about one bit in eight set, at least
   * 2^`floorLog2` bits (ROUTE_TABLE_OWN_MIN_BITS_LOG2 unless a simulation measures others), at most the protocol's largest.
   */
  static sizeFor(keys: number, floorLog2: number = ROUTE_TABLE_OWN_MIN_BITS_LOG2): number {
    const wanted = Math.ceil(Math.log2(Math.max(1, keys * BITS_PER_KEY)));
    return Math.min(ROUTE_TABLE_MAX_BITS_LOG2, Math.max(ROUTE_TABLE_MIN_BITS_LOG2, floorLog2, wanted));
  }

  /** A table from the raw bit set of `bytes` (bit i is bit i % 8 of byte i / 8); throws on a bad size. */
  static fromBytes(bytes: Uint8Array): RouteTable {
    const log2 = Math.log2(bytes.length * 8);
    checkLog2(log2);
    return new RouteTable(bytes.length * 8, Uint8Array.from(bytes));
  }

  /** Set the bits of a name's tokens (already folded, as LocalIndex tokenizes names): each prefix of each token. */
  addTokens(tokens: readonly string[]): void {
    for (const token of tokens) forEachPrefixHash(token, (hash) => this.setBit(hash));
  }

  /** Set the bit of a file id or a folder's collection id. */
  addId(id: string): void {
    this.setBit(hashKey(ID_MARK + id));
  }

  /** Whether a query with these (folded) terms, or this file id, may match something behind this table. */
  mayMatch(terms: readonly string[], fileId: string): boolean {
    if (fileId !== '') return this.hasBit(hashKey(ID_MARK + fileId));
    // An empty term is a prefix of every token (validate.ts refuses it on the wire anyway).
    return terms.every((term) => term === '' || this.hasBit(termHash(term)));
  }

  /** The union of this table and `other`, at the larger of their sizes (neither is changed). */
  union(other: RouteTable): RouteTable {
    return RouteTable.unionOf([this, other]);
  }

  /**
   * The union of `tables` (at least one) at the largest of their sizes, none of them changed: one
   * new table, OR-ed into a word at a time (a level of 8 links at 2^18 bits is 256 KiB to combine).
   */
  static unionOf(tables: readonly RouteTable[]): RouteTable {
    const bits = Math.max(...tables.map((t) => t.bits));
    const out = RouteTable.empty(Math.log2(bits));
    const into = words(out.set);
    for (const table of tables) {
      const from = words(table.set);
      // A smaller table widens by repeating itself.
      for (let offset = 0; offset < into.length; offset += from.length)
        for (let i = 0; i < from.length; i += 1) into[offset + i]! |= from[i]!;
    }
    return out;
  }

  /** Whether both tables have the same size and bits. */
  equals(other: RouteTable): boolean {
    return other.bits === this.bits && Buffer.compare(this.set, other.set) === 0;
  }

  /** Fraction of bits set (a single-term query's false-positive rate against this table). */
  get fill(): number {
    let ones = 0;
    for (const byte of this.set) ones += POPCOUNT[byte]!;
    return ones / this.bits;
  }

  /** A copy of the raw bit set. */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.set);
  }

  private setBit(hash: number): void {
    const bit = hash & (this.bits - 1);
    this.set[bit >>> 3]! |= 1 << (bit & 7);
  }

  private hasBit(hash: number): boolean {
    const bit = hash & (this.bits - 1);
    return (this.set[bit >>> 3]! & (1 << (bit & 7))) !== 0;
  }
}

/**
 * Run-length deflate: a sparse bit set (or a patch of a few bits) is long runs of zero bytes, which
 * Z_RLE finds without the default's string matching: 32 KiB tables and patches came out smaller
 * and took 3–10 times less CPU to compress (at 20 to 2,000 names), which is what a peer pays for each link and changed
 * level whenever its neighbourhood churns. Any raw deflate stream decodes the same, so peers that
 * compress otherwise interoperate.
 */
const DEFLATE_OPTIONS = { strategy: zlib.Z_RLE };

/** A table as it crosses a link: whole, or as its XOR with the table sent before on that link. */
export interface EncodedRouteTable {
  readonly bits: number;
  readonly patch: boolean;
  /** The raw-deflated bit set (or XOR). */
  readonly data: Uint8Array;
}

/** Encode `table` for a link on which `previous` was sent last (a patch then, if the sizes agree). */
export function encodeRouteTable(table: RouteTable, previous?: RouteTable): EncodedRouteTable {
  const bytes = table.toBytes();
  const patch = previous !== undefined && previous.bits === table.bits;
  if (patch) xorInto(bytes, previous.toBytes());
  return { bits: table.bits, patch, data: deflateRawSync(bytes, DEFLATE_OPTIONS) };
}

/**
 * Decode a table a neighbour sent, given the one it sent before on the link (for a patch).
 * Throws a RangeError on anything malformed: a size outside the protocol's, a patch with no
 * table (or one of another size) before it, data that does not inflate to exactly bits / 8
 * bytes (inflating stops there, so a compressed bomb costs nothing).
 */
export function decodeRouteTable(encoded: EncodedRouteTable, previous?: RouteTable): RouteTable {
  const log2 = Math.log2(encoded.bits);
  checkLog2(log2);
  const size = encoded.bits / 8;
  let bytes: Buffer;
  try {
    bytes = inflateRawSync(encoded.data, { maxOutputLength: size });
  } catch {
    throw new RangeError(`route table data does not inflate to ${size} bytes`);
  }
  if (bytes.length !== size) throw new RangeError(`route table data inflates to ${bytes.length} bytes, not ${size}`);
  if (!encoded.patch) return RouteTable.fromBytes(bytes);
  if (previous === undefined || previous.bits !== encoded.bits)
    throw new RangeError('route table patch without a table of its size before it');
  xorInto(bytes, previous.toBytes());
  return RouteTable.fromBytes(bytes);
}

/** A table's bits as 32-bit words (every table is a whole number of them, 1 KiB at least). */
function words(set: Uint8Array): Uint32Array {
  return set.byteOffset % 4 === 0
    ? new Uint32Array(set.buffer, set.byteOffset, set.length / 4)
    : new Uint32Array(Uint8Array.from(set).buffer);
}

/** `bytes` ^= `other` (same length), a word at a time. */
function xorInto(bytes: Uint8Array, other: Uint8Array): void {
  const into = words(bytes);
  const from = words(other);
  if (into.buffer === bytes.buffer) {
    for (let i = 0; i < into.length; i += 1) into[i]! ^= from[i]!;
  } else {
    for (let i = 0; i < bytes.length; i += 1) bytes[i]! ^= other[i]!;
  }
}

function checkLog2(log2: number): void {
  if (!Number.isInteger(log2) || log2 < ROUTE_TABLE_MIN_BITS_LOG2 || log2 > ROUTE_TABLE_MAX_BITS_LOG2)
    throw new RangeError(`route table size must be 2^${ROUTE_TABLE_MIN_BITS_LOG2}…2^${ROUTE_TABLE_MAX_BITS_LOG2} bits`);
}

// FNV-1a over UTF-8, then murmur3's finalizer so the low bits (the ones a mask keeps) are mixed.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvStep(state: number, byte: number): number {
  return Math.imul(state ^ byte, FNV_PRIME) >>> 0;
}

function finish(state: number): number {
  let h = state;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashKey(key: string): number {
  let state = FNV_OFFSET;
  for (const char of key) state = stepCodePoint(state, char.codePointAt(0)!);
  return finish(state);
}

/**
 * FNV-1a steps over the UTF-8 bytes of one code point, as TextEncoder would encode it (a lone
 * surrogate as U+FFFD) but without allocating: a table of 100,000 names hashes millions of prefixes.
 */
function stepCodePoint(state: number, codePoint: number): number {
  const cp = codePoint >= 0xd800 && codePoint <= 0xdfff ? 0xfffd : codePoint;
  if (cp < 0x80) return fnvStep(state, cp);
  if (cp < 0x800) return fnvStep(fnvStep(state, 0xc0 | (cp >> 6)), 0x80 | (cp & 0x3f));
  if (cp < 0x10000) {
    return fnvStep(fnvStep(fnvStep(state, 0xe0 | (cp >> 12)), 0x80 | ((cp >> 6) & 0x3f)), 0x80 | (cp & 0x3f));
  }
  const first = fnvStep(fnvStep(state, 0xf0 | (cp >> 18)), 0x80 | ((cp >> 12) & 0x3f));
  return fnvStep(fnvStep(first, 0x80 | ((cp >> 6) & 0x3f)), 0x80 | (cp & 0x3f));
}

/** Calls `visit` with the hash of each prefix of `token` of 1 … ROUTE_PREFIX_MAX code points. */
function forEachPrefixHash(token: string, visit: (hash: number) => void): void {
  let state = FNV_OFFSET;
  let points = 0;
  for (const char of token) {
    state = stepCodePoint(state, char.codePointAt(0)!);
    visit(finish(state));
    points += 1;
    if (points === ROUTE_PREFIX_MAX) return;
  }
}

/** A query term's hash: that of its first ROUTE_PREFIX_MAX code points (the longest prefix a table holds). */
function termHash(term: string): number {
  return hashKey([...term].slice(0, ROUTE_PREFIX_MAX).join(''));
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
});
