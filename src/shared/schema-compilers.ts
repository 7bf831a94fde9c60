/**
 * The compilers of route schemas, shared by every Fastify app in the process (http-server.ts
 * gives them to each). A peer runs five services, each on its own app, and Fastify left alone
 * gives each app its own Ajv and compiles each route's schemas again for the HEAD route it adds
 * beside every GET: a start compiled 65 validators for 30 distinct schemas and 135 serializers
 * for 29 (65 of them the one error reference), a fifth of its CPU. Here the apps share one Ajv
 * per set of shared schemas and options (Fastify's own pool, made once), and a schema is
 * compiled once for all the routes that declare the same one (by its JSON); a response schema
 * only when a route first answers with it.
 *
 * These are Fastify's default compilers (@fastify/ajv-compiler, @fastify/fast-json-stringify-
 * compiler), so validation, coercion and error messages are unchanged. One difference: Fastify
 * lower-cases a `headers` schema's property names only for its own compilers; Node gives header
 * names in lower case, so a headers schema must name them so, and one that does not is refused.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type ValidatorFactory = ReturnType<typeof AjvCompiler>;
type SerializerFactory = ReturnType<typeof SerializerSelector>;

/** Fastify's pools: one Ajv (or serializer options) per set of shared schemas and options. */
const validatorPool = AjvCompiler();
const serializerPool = SerializerSelector();

/**
 * What has been compiled, by the JSON of the shared schemas and options it was compiled with,
 * then by the schema's own JSON.
 */
const compiled = new Map<string, Map<string, unknown>>();

function once<T>(context: unknown, schema: unknown, compile: () => T): T {
  const contextKey = JSON.stringify(context);
  let done = compiled.get(contextKey);
  if (!done) compiled.set(contextKey, (done = new Map<string, unknown>()));
  const key = JSON.stringify(schema);
  if (!done.has(key)) done.set(key, compile());
  return done.get(key) as T;
}

/** Refuse a headers schema that names a header with a capital letter: no request would match it. */
function refuseUpperCaseHeaders(httpPart: string | undefined, schema: unknown): void {
  if (httpPart !== 'headers') return;
  const names = Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});
  const upper = names.find((name) => name !== name.toLowerCase());
  if (upper !== undefined) throw new Error(`the headers schema names "${upper}": header names are lower case`);
}

const buildValidator: ValidatorFactory = (externalSchemas, options) => {
  const compile = validatorPool(externalSchemas, options);
  return (route) => {
    refuseUpperCaseHeaders(route.httpPart, route.schema);
    return once(['validator', externalSchemas, options], route.schema, () => compile(route));
  };
};

/**
 * A serializer compiled at its first answer: in a peer's first seconds most routes answer
 * nothing, and many never do (this saved ~0.05 s of CPU per start). A schema fast-json-stringify
 * cannot compile fails that answer (500) rather than the start; the route tests answer them all.
 */
function compiledAtFirstUse(compile: () => (data: unknown) => string): (data: unknown) => string {
  let serialize: ((data: unknown) => string) | undefined;
  return (data) => (serialize ??= compile())(data);
}

const buildSerializer: SerializerFactory = (externalSchemas, options) => {
  const compile = serializerPool(externalSchemas, options);
  return (route) =>
    once(['serializer', externalSchemas, options], route.schema, () => compiledAtFirstUse(() => compile(route)));
};

/** For Fastify's `schemaController.compilersFactory`. */
export const SHARED_SCHEMA_COMPILERS = { buildValidator, buildSerializer };
