import { describe, expect, it } from 'vitest';
import { downloadRequest, readDeepLink, readPasted } from './links.ts';

const ID = 'ab'.repeat(32);
const PEER = 'a'.repeat(52);
const LINK = `peershare:?id=${ID}&name=tram%20%231.mkv&size=10&hint=${PEER}@127.0.0.2:7871`;

describe('links in the UI', () => {
  it('reads a pasted link, a bare id, or says what is wrong', () => {
    expect(readPasted(` ${LINK}\n`)).toEqual({
      kind: 'link',
      text: LINK,
      link: { fileId: ID, name: 'tram #1.mkv', size: 10, hints: [`${PEER}@127.0.0.2:7871`] },
    });
    expect(readPasted(ID)).toEqual({ kind: 'id', fileId: ID });
    expect(readPasted('  ')).toEqual({ kind: 'empty' });
    expect(readPasted('lisbon tram')).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/peershare: link or a 64-character file id/),
    });
    expect(readPasted(`peershare:?id=${ID}&name=a%E2%80%AEb.exe`)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/U\+202E/),
    });
  });

  it('asks the peer with the link as pasted, or the id', () => {
    expect(downloadRequest(readPasted(LINK))).toEqual({ link: LINK });
    expect(downloadRequest(readPasted(ID))).toEqual({ fileId: ID });
    expect(downloadRequest(readPasted('x'))).toBeUndefined();
  });

  it('reads deep links: a link as is or encoded whole (registerProtocolHandler), an id, a search', () => {
    expect(readDeepLink(`#/get/${LINK}`)).toEqual({ view: 'get', text: LINK });
    expect(readDeepLink(`#/get/${encodeURIComponent(`web+${LINK}`)}`)).toEqual({ view: 'get', text: `web+${LINK}` });
    expect(readDeepLink(`#/get/${ID}`)).toEqual({ view: 'get', text: ID });
    expect(readDeepLink('#/get/%E0%A4%A')).toEqual({ view: 'get', text: '%E0%A4%A' });
    expect(readDeepLink('#/search?q=lisbon%20tram')).toEqual({ view: 'search', q: 'lisbon tram' });
    expect(readDeepLink('#/search')).toEqual({ view: 'search', q: '' });
    expect(readDeepLink('#files')).toBeUndefined();
  });
});
