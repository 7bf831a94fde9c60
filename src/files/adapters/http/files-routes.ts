/**
 * The File Management REST API. Other peers (over TLS, shared/peer-port.ts) reach only the
 * manifest and the content (with HTTP Range) of a file, and the canonical encoding of a shared
 * folder's collection: `access: 'peers-and-local'`. Every other
 * route is for this host's callers only (no `access`: a remote TLS identity is refused 403), and
 * the routes that add or remove files pass the admin guard besides.
 */
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AdminGuard } from '../../../shared/admin-guard.ts';
import { PeershareError, toErrorBody } from '../../../shared/errors.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import { FILE_ID_PATTERN } from '../../../shared/ids.ts';
import { answerWithProgress } from '../../../shared/sse.ts';
import { drain, uploadBody } from '../../../shared/upload-body.ts';
import type { FileManager, ShareProgress } from '../../domain/file-manager.ts';
import { decideRange } from '../../domain/range.ts';
import type { FileSummary } from '../../ports.ts';
import { FileRange } from '../fs/file-range.ts';
import { sendFileRange } from './send-file-range.ts';
import { BytesPerSecond } from '../../../shared/limits-schema.ts';
import { callingPeer } from '../../../shared/peer-port.ts';
import type { RateLimit } from '../../../shared/throttle.ts';
import { COLLECTION_MEDIA_TYPE } from '../../../shared/collection.ts';

const FileId = Type.String({ pattern: FILE_ID_PATTERN, description: 'hex SHA-256 over the chunk hashes' });
const IdParams = Type.Object({ id: FileId });
const ErrorRef = Type.Ref('Error');

const FileSchema = Type.Object({
  id: FileId,
  name: Type.String({ description: 'the first name the file was shared under' }),
  names: Type.Array(Type.String(), { description: 'every name it is shared under' }),
  size: Type.Integer({ minimum: 0 }),
  chunkSize: Type.Integer({ minimum: 1 }),
  type: Type.String({ description: 'media type guessed from the name' }),
  addedAt: Type.Integer({ description: 'ms since the epoch' }),
  uploaded: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'bytes of its content sent to other peers, all time (only shown to admin callers)',
    }),
  ),
  origins: Type.Array(Type.Union([Type.Literal('stored'), Type.Literal('local')])),
  paths: Type.Optional(Type.Array(Type.String(), { description: 'local paths (only shown to admin callers)' })),
});

const ManifestSchema = Type.Object({
  id: FileId,
  name: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  chunkSize: Type.Integer({ minimum: 1 }),
  chunks: Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' })),
});

const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 1024, description: 'terms; every term must prefix a word of a name' })),
  offset: Type.Integer({ minimum: 0, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});

const UploadQuery = Type.Object({ name: Type.String({ minLength: 1, maxLength: 1024 }) });
const ShareBody = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
const VerifiedShareBody = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 4096 }), manifest: ManifestSchema },
  { additionalProperties: false },
);
const SharedFileSchema = Type.Object({
  id: FileId,
  name: Type.String(),
  path: Type.String(),
  size: Type.Integer(),
  hashed: Type.Boolean(),
});
const ShareResultSchema = Type.Object({
  files: Type.Array(
    Type.Object({ id: FileId, name: Type.String(), path: Type.String(), size: Type.Integer(), hashed: Type.Boolean() }),
  ),
  skipped: Type.Array(Type.Object({ path: Type.String(), code: Type.String(), reason: Type.String() })),
  collection: Type.Optional(
    Type.Object(
      {
        id: FileId,
        name: Type.String({ description: "the folder's name" }),
        files: Type.Integer({ minimum: 1 }),
        size: Type.Integer({ minimum: 0 }),
        omitted: Type.Array(Type.Object({ path: Type.String(), code: Type.String(), reason: Type.String() }), {
          description: 'files shared on their own but left out of the collection',
        }),
      },
      { description: 'the folder as a collection (docs/PROTOCOL.md §11), when a folder was shared' },
    ),
  ),
});

const CollectionSchema = Type.Object({
  id: FileId,
  name: Type.String({ description: "the folder's name" }),
  files: Type.Integer(),
  size: Type.Integer(),
  addedAt: Type.Integer({ description: 'ms since the epoch' }),
  complete: Type.Boolean({ description: 'whether this peer still shares every file in it' }),
  folder: Type.Optional(Type.String({ description: 'the local folder (only shown to admin callers)' })),
});
const CollectionList = Type.Object({
  items: Type.Array(CollectionSchema),
  total: Type.Integer(),
  offset: Type.Integer(),
  limit: Type.Integer(),
});

export interface FilesRouteOptions {
  manager: FileManager;
  /** Guard for routes that change state. */
  admin: AdminGuard;
  /** Whether a request comes from an admin caller (who may see local paths). */
  isAdmin: (request: FastifyRequest) => Promise<boolean>;
  maxUploadBytes: number;
  /** The cap on content sent to peers, all answers together (a local caller's answers are not capped). */
  uploads: RateLimit;
}

function publicView(file: FileSummary, admin: boolean): Static<typeof FileSchema> {
  const { paths, uploaded, ...rest } = file;
  return admin ? { ...rest, uploaded, paths } : rest;
}

const UploadLimits = Type.Object({ maxUploadRate: BytesPerSecond }, { additionalProperties: false });

export function registerFilesRoutes(app: HttpApp, options: FilesRouteOptions): void {
  const { manager, uploads } = options;

  app.get(
    '/limits',
    {
      schema: {
        summary: 'The bandwidth cap on content sent to other peers, all answers together',
        response: { 200: UploadLimits },
      },
    },
    async () => ({ maxUploadRate: uploads.bytesPerSecond }),
  );
  app.put(
    '/limits',
    {
      onRequest: options.admin,
      schema: {
        summary: 'Change the upload cap while answers run (not kept: the Client keeps it in the config file)',
        body: UploadLimits,
        response: { 200: UploadLimits },
      },
    },
    async (request) => {
      uploads.set(request.body.maxUploadRate);
      return { maxUploadRate: uploads.bytesPerSecond };
    },
  );

  // Upload bodies are streamed to disk by the domain, never parsed or buffered here.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.get(
    '/files',
    {
      schema: {
        summary: 'List shared files, newest first, optionally filtered by terms',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(FileSchema),
            total: Type.Integer(),
            offset: Type.Integer(),
            limit: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const { q, offset, limit } = request.query;
      const admin = await options.isAdmin(request);
      const { items, total } = manager.list(q, offset, limit);
      return { items: items.map((f) => publicView(f, admin)), total, offset, limit };
    },
  );

  app.get(
    '/changes',
    {
      schema: {
        summary:
          'Shares added and files removed since a cursor (the whole list when the cursor is unknown): the feed peers sync',
        querystring: Type.Object({
          since: Type.Optional(Type.String({ maxLength: 64 })),
          limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 10_000 }),
        }),
        response: {
          200: Type.Object({
            cursor: Type.String(),
            reset: Type.Boolean(),
            added: Type.Array(Type.Object({ id: FileId, name: Type.String(), size: Type.Integer() })),
            removed: Type.Array(FileId),
          }),
        },
      },
    },
    async (request) => manager.changesSince(request.query.since, request.query.limit),
  );

  app.get(
    '/files/:id',
    { schema: { summary: 'Describe one shared file', params: IdParams, response: { 200: FileSchema, 404: ErrorRef } } },
    async (request) => publicView(manager.get(request.params.id), await options.isAdmin(request)),
  );

  app.get(
    '/files/:id/manifest',
    {
      config: { access: 'peers-and-local' },
      schema: {
        summary: 'The manifest: size, chunk size and every chunk hash',
        params: IdParams,
        response: { 200: ManifestSchema, 404: ErrorRef },
      },
    },
    async (request) => manager.manifest(request.params.id),
  );

  // GET and HEAD declared together: Fastify's automatic HEAD route would read the whole stream.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/files/:id/content',
    config: { access: 'peers-and-local' },
    schema: {
      summary: 'The bytes of a file; honours single and suffix Range requests (RFC 9110)',
      params: IdParams,
      headers: Type.Object({
        range: Type.Optional(Type.String({ maxLength: 1024 })),
        'if-range': Type.Optional(Type.String()),
      }),
      response: { 200: Type.Any(), 206: Type.Any(), 404: ErrorRef, 409: ErrorRef, 416: ErrorRef },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      const file = manager.get(id);
      const etag = `"${id}"`;
      const decision = decideRange(request.headers.range, file.size, etag, request.headers['if-range']);
      reply.header('accept-ranges', 'bytes').header('etag', etag);
      if (decision.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${file.size}`);
        const err = new PeershareError(
          'INVALID_RANGE',
          `range ${request.headers.range} is outside the ${file.size}-byte file`,
        );
        return reply.status(416).send(toErrorBody(err));
      }
      const [start, end] = decision.kind === 'partial' ? [decision.start, decision.end] : [0, file.size - 1];
      // Open before setting the length: a file that changed on disk is answered with an error body.
      const content = request.method === 'HEAD' ? null : await manager.open(id, start, end);
      reply
        .type('application/octet-stream')
        .header('content-length', String(end - start + 1))
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`);
      if (decision.kind === 'partial') reply.status(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
      // Another peer's answer takes its bytes from the upload cap, when there is one. Every
      // non-empty content is a FileRange (local shares and stored copies alike).
      const throttle =
        callingPeer(request) !== undefined && options.uploads.bytesPerSecond > 0 ? options.uploads : undefined;
      if (content?.stream instanceof FileRange) return sendFileRange(reply, content.stream, throttle);
      return reply.send(content?.stream ?? null);
    },
  });

  app.post(
    '/files',
    {
      onRequest: options.admin,
      schema: {
        summary: 'Upload a file (streamed body, Content-Type: application/octet-stream)',
        querystring: UploadQuery,
        consumes: ['application/octet-stream'],
        response: { 200: FileSchema, 201: FileSchema, 400: ErrorRef, 413: ErrorRef, 507: ErrorRef },
      },
    },
    async (request, reply) => {
      const body = uploadBody(request.raw);
      try {
        const declared = Number(request.headers['content-length'] ?? NaN);
        if (declared > options.maxUploadBytes) {
          throw new PeershareError(
            'PAYLOAD_TOO_LARGE',
            `upload of ${declared} bytes is larger than the ${options.maxUploadBytes}-byte cap`,
          );
        }
        if (request.headers['content-type']?.split(';')[0]?.trim() !== 'application/octet-stream') {
          throw new PeershareError(
            'UNSUPPORTED_MEDIA_TYPE',
            'upload the file as Content-Type: application/octet-stream',
          );
        }
        const { file, created } = await manager.upload(body, request.query.name);
        return reply.status(created ? 201 : 200).send(publicView(file, true));
      } catch (err) {
        // Read the rest of a refused upload so the client sees our error, not a reset connection.
        await drain(request.raw);
        throw err;
      }
    },
  );

  app.post(
    '/shares',
    {
      onRequest: options.admin,
      schema: {
        summary: 'Share a local file or folder in place (no copy); unchanged files are not hashed again',
        description:
          'With `Accept: text/event-stream` the answer is a stream: `progress` events while files are hashed ' +
          '({filesTotal, filesDone, bytesTotal, bytesDone, path}), then one `result` event with the body below, or one `error` event.',
        body: ShareBody,
        response: { 200: ShareResultSchema, 400: ErrorRef },
      },
    },
    async (request, reply) =>
      answerWithProgress(request, reply, (onProgress: (p: ShareProgress) => void, signal) =>
        manager.share(request.body.path, { onProgress, signal }),
      ),
  );

  app.post(
    '/shares/verified',
    {
      onRequest: options.admin,
      schema: {
        summary:
          'Share in place a file whose chunks were verified against this manifest (a finished download): not hashed again',
        description:
          "For this host's Download service in split mode, which verified every chunk as it arrived. The file must have the manifest's size.",
        body: VerifiedShareBody,
        response: { 200: SharedFileSchema, 400: ErrorRef, 409: ErrorRef },
      },
    },
    async (request) => manager.registerVerified(request.body.path, request.body.manifest),
  );

  registerCollectionRoutes(app, options);

  app.delete(
    '/files/:id',
    {
      onRequest: options.admin,
      schema: {
        summary: 'Stop sharing a file under every name',
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorRef },
      },
    },
    async (request, reply) => {
      await manager.unshare(request.params.id);
      return reply.status(204).send(null);
    },
  );
}

function registerCollectionRoutes(app: HttpApp, options: FilesRouteOptions): void {
  const { manager } = options;
  app.get(
    '/collections',
    {
      schema: {
        summary: 'The shared folders this peer has recorded as collections, newest first',
        querystring: Type.Object({ offset: ListQuery.properties.offset, limit: ListQuery.properties.limit }),
        response: { 200: CollectionList },
      },
    },
    async (request) => {
      const { offset, limit } = request.query;
      const admin = await options.isAdmin(request);
      const { items, total } = manager.listCollections(offset, limit);
      return { items: items.map(({ folder, ...rest }) => (admin ? { ...rest, folder } : rest)), total, offset, limit };
    },
  );

  app.get(
    '/collections/:id',
    {
      config: { access: 'peers-and-local' },
      schema: {
        summary:
          "A shared folder's collection: its canonical encoding, the bytes its id is computed from (docs/PROTOCOL.md §11)",
        params: IdParams,
        response: { 200: Type.Any(), 404: ErrorRef },
      },
    },
    async (request, reply) => {
      const encoding = manager.collection(request.params.id);
      return reply
        .type(COLLECTION_MEDIA_TYPE)
        .header('etag', `"${request.params.id}"`)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(encoding);
    },
  );

  app.delete(
    '/collections/:id',
    {
      onRequest: options.admin,
      schema: {
        summary: 'Stop sharing a folder: every file of its collection (under every name), and the collection with them',
        params: IdParams,
        response: { 200: Type.Object({ files: Type.Integer() }), 404: ErrorRef },
      },
    },
    async (request) => manager.unshareCollection(request.params.id),
  );
}
