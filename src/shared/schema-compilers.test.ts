import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { createHttpApp } from './http-server.ts';
import { silentLogger } from './logging.ts';
import { SHARED_SCHEMA_COMPILERS } from './schema-compilers.ts';

const AJV_OPTIONS = { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } } as const;
const Query = () =>
  Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100 }), q: Type.String({ minLength: 1 }) });

describe('the schema compilers shared by the apps of a process', () => {
  it('compile a schema once for every route and app that declares the same one', () => {
    const inOneApp = SHARED_SCHEMA_COMPILERS.buildValidator({}, AJV_OPTIONS);
    const inAnother = SHARED_SCHEMA_COMPILERS.buildValidator({}, AJV_OPTIONS);
    const route = { method: 'GET', url: '/a', httpPart: 'querystring' };
    const first = inOneApp({ ...route, schema: Query() });
    expect(inAnother({ ...route, url: '/b', schema: Query() })).toBe(first);
    expect(inAnother({ ...route, schema: Type.Object({ other: Type.String() }) })).not.toBe(first);

    const serialize = SHARED_SCHEMA_COMPILERS.buildSerializer({}, {});
    const serializer = serialize({ method: 'GET', url: '/a', httpStatus: '200', schema: Query() });
    expect(
      SHARED_SCHEMA_COMPILERS.buildSerializer({}, {})({ method: 'GET', url: '/b', httpStatus: '200', schema: Query() }),
    ).toBe(serializer);
    expect(serializer({ limit: 3, q: 'x', extra: true })).toBe('{"limit":3,"q":"x"}');
  });

  it('compile a response schema at its first answer, not when the route is declared', () => {
    const serialize = SHARED_SCHEMA_COMPILERS.buildSerializer({}, {});
    const unresolved = serialize({ method: 'GET', url: '/c', httpStatus: '200', schema: { $ref: 'Missing' } });
    expect(() => unresolved({})).toThrow(/Missing/);
  });

  it("answer bad input with the 400 Fastify's own compilers give", async () => {
    const ours = await createHttpApp({ service: 'test', logger: silentLogger() });
    ours.get('/items', { schema: { querystring: Query() } }, async (request) => request.query);
    const theirs = Fastify({ ajv: AJV_OPTIONS });
    theirs.get('/items', { schema: { querystring: Query() } }, async (request) => request.query);
    for (const url of ['/items?limit=0&q=x', '/items?limit=abc&q=x', '/items?limit=5', '/items?limit=5&q=']) {
      const [a, b] = await Promise.all([ours.inject(url), theirs.inject(url)]);
      expect(a.statusCode, url).toBe(400);
      expect(a.json<{ error: { message: string } }>().error.message, url).toBe(b.json<{ message: string }>().message);
    }
    expect((await ours.inject('/items?limit=5&q=x')).json()).toEqual({ limit: 5, q: 'x' });
    await Promise.all([ours.close(), theirs.close()]);
  });

  it('refuse a headers schema that names a header with a capital letter', async () => {
    const app = await createHttpApp({ service: 'test', logger: silentLogger() });
    app.get('/h', { schema: { headers: Type.Object({ Range: Type.String() }) } }, async () => 'ok');
    await expect(app.ready()).rejects.toThrow(/headers schema names "Range"/);
  });
});
