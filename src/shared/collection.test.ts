import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildCollection,
  COLLECTION_HEADER,
  COLLECTION_ID_DOMAIN,
  collectionId,
  collectionPathProblem,
  MAX_COLLECTION_BYTES,
  MAX_COLLECTION_DEPTH,
  MAX_COLLECTION_ENTRIES,
  parseCollection,
  type CollectionEntry,
} from './collection.ts';
import { HASH_BYTES } from './content.ts';
import type { PeershareError } from './errors.ts';

const EMPTY_ID = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ONES = '1'.repeat(64);
const TWOS = '2'.repeat(64);

const TREE: CollectionEntry[] = [
  { path: 'b.txt', size: 5, fileId: ONES },
  { path: 'a/empty.txt', size: 0, fileId: EMPTY_ID },
];

/** The INVALID_COLLECTION message `fn` throws (fails the test when it throws nothing or another code). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as PeershareError).code).toBe('INVALID_COLLECTION');
    return (err as Error).message;
  }
  throw new Error('expected INVALID_COLLECTION, nothing was thrown');
}

const text = (s: string) => Buffer.from(s, 'utf8');
const line = (fileId: string, size: number | string, path: string) => `${fileId} ${size} ${path}\n`;

describe('collection encoding and id', () => {
  it('matches a vector computed independently (Python hashlib) from docs/PROTOCOL.md §11', () => {
    const c = buildCollection(TREE);
    expect(c.encoding.toString('utf8')).toBe(`peershare-collection 1\n${EMPTY_ID} 0 a/empty.txt\n${ONES} 5 b.txt\n`);
    expect(c.id).toBe('e46929ea368aa9ea965fa9268e77641212c1bbb513fcff2e00989684b505fb6b');
    expect(c.size).toBe(5);
    expect(c.entries.map((e) => e.path)).toEqual(['a/empty.txt', 'b.txt']);
  });

  it('gives the same id for the same tree whatever order it was walked in', () => {
    const entries: CollectionEntry[] = [
      { path: 'z/deep/x.bin', size: 1, fileId: ONES },
      { path: 'a b.txt', size: 2, fileId: TWOS },
      { path: 'a/c.txt', size: 3, fileId: ONES },
      { path: 'a-c.txt', size: 4, fileId: TWOS },
      { path: 'Ünø.flac', size: 5, fileId: ONES },
    ];
    const ids = new Set(
      [entries, [...entries].reverse(), [entries[2]!, entries[0]!, entries[4]!, entries[1]!, entries[3]!]].map(
        (e) => buildCollection(e).id,
      ),
    );
    expect(ids.size).toBe(1);
  });

  it('sorts by UTF-8 bytes, not by UTF-16 code units', () => {
    // UTF-16 puts the emoji (a surrogate pair, D83D…) before U+FF5E; UTF-8 puts it after (F0… > EF…).
    const c = buildCollection([
      { path: '😀.txt', size: 1, fileId: ONES },
      { path: '～.txt', size: 1, fileId: ONES },
      { path: 'a/b', size: 1, fileId: ONES },
      { path: 'a.b', size: 1, fileId: ONES },
    ]);
    expect(c.entries.map((e) => e.path)).toEqual(['a.b', 'a/b', '～.txt', '😀.txt']);
  });

  it('gives a new id when anything in the tree changes', () => {
    const base = buildCollection(TREE).id;
    const variants: CollectionEntry[][] = [
      [{ ...TREE[0]!, fileId: TWOS }, TREE[1]!],
      [{ ...TREE[0]!, size: 6 }, TREE[1]!],
      [{ ...TREE[0]!, path: 'c.txt' }, TREE[1]!],
      [...TREE, { path: 'new.txt', size: 0, fileId: EMPTY_ID }],
      [TREE[0]!],
    ];
    const ids = variants.map((v) => buildCollection(v).id);
    expect(new Set([base, ...ids]).size).toBe(variants.length + 1);
  });

  it('hashes an input of a length no file id hashes, so a collection id is never a file id', () => {
    // A file id is SHA-256 over whole 32-byte chunk hashes; a collection id over DOMAIN ‖ SHA-256(encoding).
    const input = Buffer.byteLength(COLLECTION_ID_DOMAIN) + 32;
    expect(input % HASH_BYTES).not.toBe(0);
    const encoding = buildCollection(TREE).encoding;
    const inner = createHash('sha256').update(encoding).digest();
    expect(collectionId(encoding)).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from(COLLECTION_ID_DOMAIN), inner]))
        .digest('hex'),
    );
  });

  it('reads back what it writes, and checks the bytes against an expected id', () => {
    const built = buildCollection(TREE);
    const parsed = parseCollection(built.encoding, built.id);
    expect(parsed).toEqual(built);
    expect(refusal(() => parseCollection(built.encoding, EMPTY_ID))).toMatch(/do not hash to/);
  });
});

describe('collection rules', () => {
  it.each([
    ['a/../b', /dot segment/],
    ['./a', /dot segment/],
    ['/a', /empty segment/],
    ['a/', /empty segment/],
    ['a//b', /empty segment/],
    ['a\\b', /separator/],
    ['con/a.txt', /reserved device name/],
    ['folder./a.txt', /ends with a dot/],
    ['a/evil\u202Etxt.exe', /U\+202E/],
    ['x'.repeat(256), /longer than 255 bytes/],
    [Array.from({ length: MAX_COLLECTION_DEPTH + 1 }, () => 'd').join('/'), /17 segments deep, more than 16/],
  ])('refuses the path %j', (path, why) => {
    expect(collectionPathProblem(path)).toMatch(why);
    expect(refusal(() => buildCollection([{ path, size: 1, fileId: ONES }]))).toMatch(why);
  });

  it('accepts a path exactly as deep as the limit', () => {
    const path = Array.from({ length: MAX_COLLECTION_DEPTH }, (_, i) => `d${i}`).join('/');
    expect(buildCollection([{ path, size: 1, fileId: ONES }]).entries[0]!.path).toBe(path);
  });

  it('refuses a path listed twice', () => {
    expect(refusal(() => buildCollection([...TREE, { path: 'b.txt', size: 1, fileId: TWOS }]))).toMatch(/listed twice/);
  });

  it('refuses a file and a folder at the same path, whichever sorts first and whatever lies between', () => {
    expect(
      refusal(() =>
        buildCollection([
          { path: 'a', size: 1, fileId: ONES },
          { path: 'a-x', size: 1, fileId: ONES },
          { path: 'a/b', size: 1, fileId: ONES },
        ]),
      ),
    ).toMatch(/inside "a", which is a file/);
    // '!' (0x21) sorts before '/': the folder's file comes first, then a file named as the folder.
    expect(
      refusal(() =>
        parseCollection(text(COLLECTION_HEADER + line(ONES, 1, 'a!') + line(ONES, 1, 'a/b/c') + line(ONES, 1, 'a/b'))),
      ),
    ).toMatch(/not sorted|a file where another entry has a folder/);
    expect(
      refusal(() =>
        buildCollection([
          { path: 'a/b/c', size: 1, fileId: ONES },
          { path: 'a/b', size: 1, fileId: ONES },
        ]),
      ),
    ).toMatch(/inside "a\/b", which is a file/);
  });

  it('refuses bad sizes and file ids', () => {
    expect(refusal(() => buildCollection([{ path: 'a', size: -1, fileId: ONES }]))).toMatch(/size -1/);
    expect(refusal(() => buildCollection([{ path: 'a', size: 1.5, fileId: ONES }]))).toMatch(/size 1.5/);
    expect(refusal(() => buildCollection([{ path: 'a', size: 1, fileId: 'A'.repeat(64) }]))).toMatch(/file id/);
    expect(
      refusal(() =>
        buildCollection([
          { path: 'a', size: 2 ** 52, fileId: ONES },
          { path: 'b', size: 2 ** 52, fileId: ONES },
        ]),
      ),
    ).toMatch(/past 2\^53/);
  });

  it('refuses an empty collection', () => {
    expect(refusal(() => buildCollection([]))).toMatch(/no entries/);
    expect(refusal(() => parseCollection(text(COLLECTION_HEADER)))).toMatch(/no entries/);
  });

  it('refuses more entries than the limit, and accepts exactly the limit', () => {
    const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f${i}`, size: 0, fileId: EMPTY_ID }));
    expect(buildCollection(entries(MAX_COLLECTION_ENTRIES)).entries).toHaveLength(MAX_COLLECTION_ENTRIES);
    expect(refusal(() => buildCollection(entries(MAX_COLLECTION_ENTRIES + 1)))).toMatch(
      /10001 entries, more than 10000/,
    );
    const tooMany = text(
      COLLECTION_HEADER +
        entries(MAX_COLLECTION_ENTRIES + 1)
          .map((e) => line(e.fileId, 0, e.path))
          .join(''),
    );
    expect(refusal(() => parseCollection(tooMany))).toMatch(/more than 10000/);
  });

  it('refuses an encoding larger than the byte limit, before reading it', () => {
    // 16 segments of 250 bytes: about 4 KB a path, so 1,100 entries pass 4 MiB.
    const long = (i: number) =>
      [
        `${String(i).padStart(5, '0')}${'x'.repeat(245)}`,
        ...Array.from({ length: MAX_COLLECTION_DEPTH - 1 }, () => 'y'.repeat(250)),
      ].join('/');
    const entries = Array.from({ length: 1_100 }, (_, i) => ({ path: long(i), size: 0, fileId: EMPTY_ID }));
    expect(refusal(() => buildCollection(entries))).toMatch(new RegExp(`more than ${MAX_COLLECTION_BYTES}`));
    expect(refusal(() => parseCollection(Buffer.alloc(MAX_COLLECTION_BYTES + 1)))).toMatch(
      new RegExp(`more than ${MAX_COLLECTION_BYTES}`),
    );
  });
});

describe('the parser refuses every encoding but the canonical one', () => {
  const good = COLLECTION_HEADER + line(EMPTY_ID, 0, 'a/empty.txt') + line(ONES, 5, 'b.txt');
  it.each([
    ['unsorted entries', COLLECTION_HEADER + line(ONES, 5, 'b.txt') + line(EMPTY_ID, 0, 'a/empty.txt'), /not sorted/],
    ['a duplicate path', COLLECTION_HEADER + line(ONES, 5, 'b.txt') + line(TWOS, 5, 'b.txt'), /listed twice/],
    ['another header', good.replace('collection 1', 'collection 2'), /does not start with the line/],
    ['a byte order mark', `\uFEFF${good}`, /does not start with the line/],
    ['no newline at the end', good.slice(0, -1), /does not end with a newline/],
    ['CRLF line ends', good.replace(/\n/g, '\r\n'), /does not start with the line/],
    ['CR inside an entry line', COLLECTION_HEADER + line(ONES, 5, 'b.txt\r'), /control/],
    ['an empty line', `${good}\n`, /line 4 is not/],
    ['a size with a leading zero', COLLECTION_HEADER + line(ONES, '05', 'b.txt'), /line 2 is not/],
    ['a size past 2^53', COLLECTION_HEADER + line(ONES, '9007199254740993', 'b.txt'), /size/],
    ['two spaces between fields', COLLECTION_HEADER + `${ONES}  5 b.txt\n`, /line 2 is not|empty|size/],
    ['an upper-case file id', COLLECTION_HEADER + line(ONES.replace(/1/g, 'A'), 5, 'b.txt'), /line 2 is not/],
    ['a path with a trailing space', COLLECTION_HEADER + line(ONES, 5, 'b.txt '), /ends with a dot or a space/],
  ])('refuses %s', (_label, encoding, why) => {
    expect(refusal(() => parseCollection(text(encoding)))).toMatch(why);
  });

  it('refuses bytes that are not UTF-8', () => {
    const bad = Buffer.concat([text(COLLECTION_HEADER + `${ONES} 5 `), Buffer.from([0xc3, 0x28]), text('\n')]);
    expect(refusal(() => parseCollection(bad))).toMatch(/not valid UTF-8/);
  });

  it('accepts the canonical form of the same entries', () => {
    expect(parseCollection(text(good)).id).toBe(buildCollection(TREE).id);
  });
});
