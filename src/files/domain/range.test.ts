import { describe, expect, it } from 'vitest';
import { decideRange } from './range.ts';

const ETAG = '"abc"';

describe('HTTP byte ranges (RFC 9110)', () => {
  it.each([
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', { kind: 'partial', start: 100, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
    ['bytes=999-999', { kind: 'partial', start: 999, end: 999 }],
    ['BYTES = 5-9', { kind: 'partial', start: 5, end: 9 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-2000', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-9', { kind: 'full' }],
    ['bytes=5-1', { kind: 'full' }],
    ['bytes=abc', { kind: 'full' }],
    ['bytes=-', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
    ['bytes=0-99999999999999999999', { kind: 'full' }],
  ])('answers %j on a 1000-byte file with %o', (header, expected) => {
    expect(decideRange(header, 1000, ETAG)).toEqual(expected);
  });

  it('serves the whole file without a Range header', () => {
    expect(decideRange(undefined, 1000, ETAG)).toEqual({ kind: 'full' });
  });

  it('treats every range of an empty file as unsatisfiable', () => {
    expect(decideRange('bytes=0-', 0, ETAG)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-1', 0, ETAG)).toEqual({ kind: 'unsatisfiable' });
  });

  it('honours Range only when If-Range names the current ETag', () => {
    expect(decideRange('bytes=0-9', 1000, ETAG, ETAG)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(decideRange('bytes=0-9', 1000, ETAG, '"other"')).toEqual({ kind: 'full' });
    expect(decideRange('bytes=0-9', 1000, ETAG, 'Wed, 21 Oct 2015 07:28:00 GMT')).toEqual({ kind: 'full' });
  });
});
