/**
 * The HTTP foundation every service's API adapter builds on: a Fastify app with TypeBox-typed
 * routes, the one error → HTTP mapping, a health route, an OpenAPI document generated from the
 * route schemas, timeouts that close idle and slow connections, and the Host check every route
 * passes (site-guard.ts).
 */
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Type } from 'typebox';
import { httpStatus, isPeershareError, PeershareError, toErrorBody, type ErrorCode } from './errors.ts';
import { quieter, type Logger } from './logging.ts';
import { SHARED_SCHEMA_COMPILERS } from './schema-compilers.ts';
import { hostGuard } from './site-guard.ts';

export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface HttpAppOptions {
  /** Service name, reported by /health and in the OpenAPI title. */
  service: string;
  logger: Logger;
  /** Extra fields for /health (peer id, counts...). */
  health?: () => Record<string, unknown>;
  /** Largest JSON body accepted (streamed bodies enforce their own caps). */
  bodyLimit?: number;
  /** Host names answered besides IP addresses and localhost (the allowedHosts setting). */
  allowedHosts?: readonly string[];
}

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'Error' },
);

/** Map any thrown error to the one error vocabulary. */
export function toPeershareError(err: unknown): PeershareError {
  if (isPeershareError(err)) return err;
  const e = err as { code?: string; statusCode?: number; validation?: unknown; message?: string };
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  };
  const mapped = e.code ? byFastifyCode[e.code] : undefined;
  if (mapped) return new PeershareError(mapped, e.message ?? mapped);
  if (e.validation || (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500)) {
    return new PeershareError('BAD_REQUEST', e.message ?? 'bad request');
  }
  return new PeershareError('INTERNAL', 'internal error', undefined, { cause: err });
}

export function sendError(reply: FastifyReply, err: PeershareError): FastifyReply {
  // RATE_LIMITED says when to come back (RFC 9110 §10.2.3), in the header as in the details.
  const retryAfter = err.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(Math.max(0, Math.ceil(retryAfter))));
  return reply.status(httpStatus(err.code)).send(toErrorBody(err));
}

export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const startedAt = Date.now();
  const app = Fastify({
    // Fastify's own info lines (its listening line) add nothing to the service's; errors still log.
    loggerInstance: quieter(options.logger, 'warn'),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // Slow or idle clients must not hold sockets: headers within 10 s, idle sockets closed.
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    requestTimeout: 0,
    http: { headersTimeout: 10_000 },
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // One Ajv and one compiled validator or serializer per schema for all the apps of the process.
    schemaController: { compilersFactory: SHARED_SCHEMA_COMPILERS },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;

  // Before routing, so that no route (a read, a 404) answers a page under a rebound name.
  app.addHook('onRequest', hostGuard(options.allowedHosts ?? []));
  app.addSchema(ErrorSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `peershare ${options.service} service`, version: '1' },
    },
  });

  app.setErrorHandler((err, request: FastifyRequest, reply) => {
    const e = toPeershareError(err);
    if (e.code === 'INTERNAL') request.log.error({ err }, 'unexpected error');
    return sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new PeershareError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and basic facts about the service',
        response: {
          200: Type.Object(
            { status: Type.Literal('ok'), service: Type.String(), uptimeMs: Type.Integer() },
            { additionalProperties: true },
          ),
        },
      },
    },
    async () => ({
      status: 'ok' as const,
      service: options.service,
      uptimeMs: Date.now() - startedAt,
      ...options.health?.(),
    }),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** Listen on host:port and return the address actually bound. */
export async function listen(app: HttpApp, host: string, port: number): Promise<{ host: string; port: number }> {
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return { host: address.address, port: address.port };
}
