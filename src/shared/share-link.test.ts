import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatShareLink,
  looksLikeLink,
  MAX_LINK_HINTS,
  MAX_LINK_LENGTH,
  parseShareLink,
  type ShareLink,
} from './share-link.ts';

const ID = 'ab'.repeat(32);
const PEER = 'a'.repeat(52);
const OTHER = 'b'.repeat(52);

const read = (text: string) => parseShareLink(text);
const reason = (text: string) => {
  const r = read(text);
  if (r.ok) throw new Error(`accepted ${text}`);
  return r.reason;
};

describe('peershare: links', () => {
  it('writes and reads a folder link: folder=ID, never with id=', () => {
    const link: ShareLink = {
      fileId: ID,
      folder: true,
      name: 'Holiday 2026',
      size: 12345,
      hints: [`${PEER}@192.0.2.1:7871`],
    };
    const text = formatShareLink(link);
    expect(text).toBe(`peershare:?folder=${ID}&name=Holiday%202026&size=12345&hint=${PEER}@192.0.2.1:7871`);
    expect(read(text)).toEqual({ ok: true, link });
    expect(read(`peershare:?folder=${ID}&id=${ID}`)).toEqual({ ok: false, reason: 'both id and folder' });
    expect(read('peershare:?folder=xyz')).toEqual({ ok: false, reason: 'folder is not 64 lowercase hex characters' });
  });

  it('formats id, name, size and hints, and reads them back', () => {
    const link: ShareLink = {
      fileId: ID,
      name: 'Lisbon tram & café #2.mp4',
      size: 3_145_728,
      hints: [`${PEER}@192.0.2.10:7871`, `${OTHER}@peer.example.org:7871`],
    };
    const text = formatShareLink(link);
    expect(text).toBe(
      `peershare:?id=${ID}&name=Lisbon%20tram%20%26%20caf%C3%A9%20%232.mp4&size=3145728&hint=${PEER}@192.0.2.10:7871&hint=${OTHER}@peer.example.org:7871`,
    );
    expect(read(text)).toEqual({ ok: true, link });
  });

  it('round-trips any safe name and IPv6 hints', () => {
    const names = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((n) => {
      try {
        formatShareLink({ fileId: ID, name: n, hints: [] });
        return true;
      } catch {
        return false;
      }
    });
    fc.assert(
      fc.property(names, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (name, size) => {
        const link = { fileId: ID, name, size, hints: [`${PEER}@[2001:db8::1]:7871`, `${OTHER}@[::1]:7871`] };
        expect(read(formatShareLink(link))).toEqual({ ok: true, link });
      }),
    );
  });

  it('takes a hint with an IPv6 host written plainly or percent-encoded', () => {
    for (const hint of [`${PEER}@[2001:db8::1]:7871`, `${PEER}%40%5B2001%3Adb8%3A%3A1%5D%3A7871`]) {
      expect(read(`peershare:?id=${ID}&hint=${hint}`)).toEqual({
        ok: true,
        link: { fileId: ID, hints: [`${PEER}@[2001:db8::1]:7871`] },
      });
    }
    expect(reason(`peershare:?id=${ID}&hint=${PEER}@2001:db8::1:7871`)).toMatch(/not peerId@host:port/); // unbracketed
    expect(reason(`peershare:?id=${ID}&hint=${PEER}@[::1]`)).toMatch(/not peerId@host:port/); // no port
  });

  it('needs only the id; a name and size are optional; web+peershare: and surrounding white space are taken', () => {
    expect(read(` peershare:?id=${ID}\n`)).toEqual({ ok: true, link: { fileId: ID, hints: [] } });
    expect(read(`web+peershare:?id=${ID}&size=0`)).toEqual({ ok: true, link: { fileId: ID, size: 0, hints: [] } });
    expect(read(`PeerShare:?id=${ID}`)).toMatchObject({ ok: true });
  });

  it('ignores unknown parameters and empty ones, and keeps one of each repeated hint', () => {
    expect(
      read(`peershare:?v=9&id=${ID}&&x.future=1&hint=${PEER}@192.0.2.1:7871&hint=${PEER}@192.0.2.1:7871&flag`),
    ).toEqual({
      ok: true,
      link: { fileId: ID, hints: [`${PEER}@192.0.2.1:7871`] },
    });
  });

  it.each([
    ['another scheme', `magnet:?id=${ID}`, /does not start with peershare:/],
    ['no query', `peershare:${ID}`, /expected "\?"/],
    ['no id', 'peershare:?name=x.txt', /no id/],
    ['a short id', `peershare:?id=${ID.slice(1)}`, /64 lowercase hex/],
    ['an id with a non-hex character', `peershare:?id=${'g'.repeat(64)}`, /64 lowercase hex/],
    ['an upper-case id', `peershare:?id=${ID.toUpperCase()}`, /64 lowercase hex/],
    ['a repeated id', `peershare:?id=${ID}&id=${'cd'.repeat(32)}`, /id given more than once/],
    ['a repeated name', `peershare:?id=${ID}&name=a.txt&name=b.txt`, /name given more than once/],
    ['a repeated size', `peershare:?id=${ID}&size=1&size=1`, /size given more than once/],
    ['a negative size', `peershare:?id=${ID}&size=-1`, /size is not a whole number/],
    ['a size with a leading zero', `peershare:?id=${ID}&size=01`, /size is not a whole number/],
    ['a size past 2^53', `peershare:?id=${ID}&size=9007199254740993`, /size is not a whole number/],
    ['a fractional size', `peershare:?id=${ID}&size=1.5`, /size is not a whole number/],
    ['bad percent-encoding', `peershare:?id=${ID}&name=a%zz`, /name: not valid percent-encoded/],
    ['percent-encoded invalid UTF-8', `peershare:?id=${ID}&name=%C3`, /name: not valid percent-encoded/],
    ['a raw space', `peershare:?id=${ID}&name=a b.txt`, /white space/],
    ['a raw control character', `peershare:?id=${ID}\u0007`, /control character/],
    ['raw non-ASCII text', `peershare:?id=${ID}&name=café.txt`, /non-ASCII/],
    ['a bidi override in the name', `peershare:?id=${ID}&name=invoice%E2%80%AEtxt.exe`, /name: .*U\+202E/],
    ['a control character in the name', `peershare:?id=${ID}&name=a%0Ab.txt`, /name: .*control/],
    ['a path as the name', `peershare:?id=${ID}&name=..%2F..%2Fetc%2Fpasswd`, /name: /],
    ['a reserved Windows name', `peershare:?id=${ID}&name=CON.txt`, /name: .*reserved/],
    ['an empty name', `peershare:?id=${ID}&name=`, /name: .*empty/],
    [
      'a hint with a bad peer id',
      `peershare:?id=${ID}&hint=${PEER.toUpperCase()}@192.0.2.1:7871`,
      /not peerId@host:port/,
    ],
    ['a hint with no peer id', `peershare:?id=${ID}&hint=192.0.2.1:7871`, /not peerId@host:port/],
    ['a hint with a bad port', `peershare:?id=${ID}&hint=${PEER}@192.0.2.1:99999`, /not peerId@host:port/],
  ])('refuses %s', (_what, text, why) => {
    expect(reason(text)).toMatch(why);
  });

  it(`refuses more than ${MAX_LINK_HINTS} hints and links longer than ${MAX_LINK_LENGTH} characters`, () => {
    const hints = Array.from({ length: MAX_LINK_HINTS + 1 }, (_, i) => `hint=${PEER}@192.0.2.${i + 1}:7871`).join('&');
    expect(reason(`peershare:?id=${ID}&${hints}`)).toMatch(/more than 8 hints/);
    expect(reason(`peershare:?id=${ID}&pad=${'x'.repeat(MAX_LINK_LENGTH)}`)).toMatch(/longer than 4096/);
    // The longest name (255 bytes, every byte escaped) with 8 hints at the longest host name fits.
    const host = [...Array.from({ length: 3 }, () => 'h'.repeat(63)), 'x'.repeat(61)].join('.'); // 253 characters
    const longest = formatShareLink({
      fileId: ID,
      name: 'é'.repeat(127),
      size: Number.MAX_SAFE_INTEGER,
      hints: Array.from({ length: 8 }, (_, i) => `${PEER.slice(0, 51)}${'abcdefgh'[i]}@${host}:65535`),
    });
    expect(longest.length).toBeLessThanOrEqual(MAX_LINK_LENGTH);
    expect(host).toHaveLength(253);
    expect((read(longest) as { link: ShareLink }).link.hints).toHaveLength(8);
  });

  it('formats no hint past the cap, no repeat and no malformed one; refuses to format a bad id or name', () => {
    const hints = Array.from({ length: 12 }, (_, i) => `${PEER}@192.0.2.${i + 1}:7871`);
    const text = formatShareLink({ fileId: ID, hints: [hints[0]!, hints[0]!, 'nonsense', ...hints.slice(1)] });
    expect((read(text) as { link: ShareLink }).link.hints).toEqual(hints.slice(0, MAX_LINK_HINTS));
    expect(() => formatShareLink({ fileId: 'x', hints: [] })).toThrow(/not a file id/);
    expect(() => formatShareLink({ fileId: ID, name: 'a/b', hints: [] })).toThrow(/invalid file name/);
  });

  it('tells a link from a bare id or words', () => {
    expect(looksLikeLink(` peershare:?id=${ID}`)).toBe(true);
    expect(looksLikeLink('web+peershare:anything')).toBe(true);
    expect(looksLikeLink(ID)).toBe(false);
    expect(looksLikeLink('lisbon tram')).toBe(false);
  });

  it('never throws on garbage', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => void parseShareLink(`peershare:?${s}`)));
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void parseShareLink(s)));
  });
});
