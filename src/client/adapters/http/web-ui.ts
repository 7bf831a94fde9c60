/**
 * The web UI, served by the Client beside its API: `/` is web/dist/index.html and `/assets/*`
 * the bundles Vite built (`npm run build:web`, which `npm ci` runs through `prepare`). Files are
 * streamed from disk, only from web/dist, and looked up per request, so a UI built after the peer
 * started is served at once. Without a build, `/` says how to make one.
 */
import { createReadStream, existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PeershareError } from '../../../shared/errors.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import {
  assetPath,
  cacheControlOf,
  CONTENT_SECURITY_POLICY,
  contentTypeOf,
  etagOf,
  notModified,
} from './web-assets.ts';

/** Where `npm run build:web` puts the UI: web/dist at the top of the package. */
export const WEB_DIST = fileURLToPath(new URL('../../../../web/dist', import.meta.url));

/** Whether this checkout has a built UI (what `peershare start` tells). */
export function webUiBuilt(distDir: string = WEB_DIST): boolean {
  return existsSync(join(distDir, 'index.html'));
}

const NOT_BUILT = `The peershare web UI has not been built (no web/dist/index.html in this checkout).

Build it with:   npm run build:web      (npm ci runs it too)
then reload this page. The peer itself runs; its API answers meanwhile (GET /status, /openapi.json).

The build needs the dev dependencies, which a production install (npm ci --omit=dev) leaves out:
the package made by npm pack carries the built UI (npm install -g ./peershare-VERSION.tgz).
`;

/** The real path of `relative` under `root`, or undefined when it is not a regular file inside it. */
async function fileUnder(
  root: string,
  relative: string,
): Promise<{ path: string; size: number; mtimeMs: number } | undefined> {
  try {
    const realRoot = await realpath(root);
    const path = await realpath(join(realRoot, relative));
    if (!path.startsWith(realRoot + sep)) return undefined;
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size, mtimeMs: info.mtimeMs } : undefined;
  } catch (err) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG'].includes((err as NodeJS.ErrnoException).code ?? ''))
      return undefined;
    throw err;
  }
}

async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: { path: string; size: number; mtimeMs: number },
  relative: string,
): Promise<FastifyReply> {
  const etag = etagOf(file.size, file.mtimeMs);
  reply
    .header('cache-control', cacheControlOf(relative))
    .header('etag', etag)
    .header('x-content-type-options', 'nosniff');
  if (notModified(request.headers['if-none-match'], etag)) return reply.status(304).send();
  reply.type(contentTypeOf(relative)).header('content-length', String(file.size));
  return reply.send(request.method === 'HEAD' ? null : createReadStream(file.path));
}

export function registerWebUi(app: HttpApp, distDir: string = WEB_DIST): void {
  // GET and HEAD together: Fastify's automatic HEAD route would read the whole stream.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    schema: { hide: true },
    handler: async (request, reply) => {
      const index = await fileUnder(distDir, 'index.html');
      if (!index)
        return reply.status(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
      reply
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY');
      return sendFile(request, reply, index, 'index.html');
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/assets/*',
    schema: { hide: true },
    handler: async (request, reply) => {
      const wildcard = (request.params as { '*': string })['*'];
      const relative = assetPath(wildcard);
      const file = relative === undefined ? undefined : await fileUnder(distDir, relative);
      if (!file || relative === undefined)
        throw new PeershareError('NOT_FOUND', `no web UI asset ${request.url.split('?')[0]}`);
      return sendFile(request, reply, file, relative);
    },
  });
}
