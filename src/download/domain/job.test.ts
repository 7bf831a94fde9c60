import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memorySigner } from '../../shared/keys.ts';
import { jobKey, jobKeys, legacyJobKey, MAX_SOURCES_NAMED, MAX_SOURCES_PER_JOB, parseJob, validateJob } from './job.ts';

const ID = 'a'.repeat(64);
const PEER = memorySigner().peerId;
const SOURCE = `${PEER}@127.0.0.2:7871`;
const good = { v: 2, fileId: ID, name: 'movie.mkv', sources: [SOURCE, SOURCE], requestedAt: 1 };
const body = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('download jobs', () => {
  it('parses a valid job, each source named peerId@host:port once', () => {
    expect(parseJob(body(good))).toEqual({ ...good, sources: [SOURCE] });
  });

  it('takes a job queued by an earlier release (version 1, http:// sources) without its sources: they name no peer id to pin', () => {
    const old = {
      v: 1,
      fileId: ID,
      name: 'movie.mkv',
      outDir: '/d',
      sources: ['http://127.0.0.2:7871/', 'http://127.0.0.3:7871'],
      requestedAt: 1,
    };
    expect(parseJob(body(old))).toEqual({
      v: 2,
      fileId: ID,
      name: 'movie.mkv',
      outDir: '/d',
      sources: [],
      requestedAt: 1,
    });
    expect(() => parseJob(body({ ...old, sources: ['file:///etc/passwd'] }))).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
  });

  it('keeps the first 64 of more sources, in the order given (a popular file is no failure), and refuses an unbounded list', () => {
    const many = Array.from({ length: 70 }, (_, i) => `${PEER}@127.0.0.${i + 1}:7871`);
    expect(MAX_SOURCES_PER_JOB).toBe(64);
    expect(parseJob(body({ ...good, sources: many })).sources).toEqual(many.slice(0, 64));
    const endless = Array.from({ length: MAX_SOURCES_NAMED + 1 }, (_, i) => `${PEER}@127.0.${i >> 8}.${i & 255}:7871`);
    expect(() => validateJob({ ...good, sources: endless })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('carries the size a link expects, a whole number of bytes', () => {
    expect(parseJob(body({ ...good, size: 5 }))).toEqual({ ...good, sources: [SOURCE], size: 5 });
    for (const size of [-1, 1.5, '5', Number.MAX_SAFE_INTEGER + 1])
      expect(() => validateJob({ ...good, size })).toThrow(/size must be a whole number/);
  });

  it('keys a job by file id and target folder, so the same request twice is one download', () => {
    const secret = randomBytes(32);
    const keyOf = jobKeys(secret, () => false);
    expect(keyOf(ID, '/d')).toBe(keyOf(ID, '/d'));
    expect(keyOf(ID, '/d')).toBe(jobKeys(Buffer.from(secret), () => false)(ID, '/d')); // the same secret after a restart
    expect(keyOf(ID, '/d')).not.toBe(keyOf(ID, '/e'));
    expect(keyOf(ID, '/d')).toMatch(/^[0-9a-f]{32}$/);
  });

  it("makes keys nobody can compute without the peer's secret", () => {
    const key = jobKeys(randomBytes(32), () => false)(ID, '/d');
    // What a third party can compute from the file id and a guessed folder: the old plain hash,
    // or a key under another secret.
    expect(key).not.toBe(createHash('sha256').update(`${ID}\0/d`).digest('hex').slice(0, 32));
    expect(key).not.toBe(jobKeys(randomBytes(32), () => false)(ID, '/d'));
    expect(key).not.toBe(jobKey(Buffer.alloc(32), ID, '/d'));
  });

  it('keeps the old key of a download recorded before keys were secret', () => {
    const old = legacyJobKey(ID, '/d');
    const keyOf = jobKeys(randomBytes(32), (key) => key === old);
    expect(keyOf(ID, '/d')).toBe(old);
    expect(keyOf(ID, '/e')).not.toBe(legacyJobKey(ID, '/e'));
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['an array', body([])],
    ['an unknown version', body({ ...good, v: 3 })],
    ['a bad file id', body({ ...good, fileId: 'xyz' })],
    ['a traversal name', body({ ...good, name: '../../etc/passwd' })],
    ['a relative folder', body({ ...good, outDir: 'here' })],
    ['an http:// source in a version 2 job (no peer id)', body({ ...good, sources: ['http://127.0.0.2:7871'] })],
    ['a source without a peer id', body({ ...good, sources: ['127.0.0.2:7871'] })],
    ['a source whose peer id is malformed', body({ ...good, sources: ['nope@127.0.0.2:7871'] })],
    ['a source whose address is malformed', body({ ...good, sources: [`${PEER}@127.0.0.2`] })],
    ['an unknown field', body({ ...good, extra: true })],
    ['a huge body', Buffer.alloc(100_000, 32)],
  ])('rejects %s with BAD_REQUEST', (_label, raw) => {
    expect(() => parseJob(raw)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
