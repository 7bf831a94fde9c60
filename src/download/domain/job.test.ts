import { describe, expect, it } from 'vitest';
import { jobKey, parseJob } from './job.ts';

const ID = 'a'.repeat(64);
const good = { v: 1, fileId: ID, name: 'movie.mkv', sources: ['http://127.0.0.2:7871/'], requestedAt: 1 };
const body = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('download jobs', () => {
  it('parses a valid job, normalising its source URLs', () => {
    expect(parseJob(body(good))).toEqual({ ...good, sources: ['http://127.0.0.2:7871'] });
  });

  it('keys a job by file id and target folder, so the same request twice is one download', () => {
    expect(jobKey(ID, '/d')).toBe(jobKey(ID, '/d'));
    expect(jobKey(ID, '/d')).not.toBe(jobKey(ID, '/e'));
    expect(jobKey(ID, '/d')).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['an array', body([])],
    ['an unknown version', body({ ...good, v: 2 })],
    ['a bad file id', body({ ...good, fileId: 'xyz' })],
    ['a traversal name', body({ ...good, name: '../../etc/passwd' })],
    ['a relative folder', body({ ...good, outDir: 'here' })],
    ['a non-http source', body({ ...good, sources: ['file:///etc/passwd'] })],
    ['a source with credentials', body({ ...good, sources: ['http://u:p@127.0.0.2:7871'] })],
    ['too many sources', body({ ...good, sources: Array.from({ length: 65 }, (_, i) => `http://127.0.0.${i}:1`) })],
    ['an unknown field', body({ ...good, extra: true })],
    ['a huge body', Buffer.alloc(100_000, 32)],
  ])('rejects %s with BAD_REQUEST', (_label, raw) => {
    expect(() => parseJob(raw)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
