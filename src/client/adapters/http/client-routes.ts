/**
 * The Client API: the one door the `peershare` command and the web UI use into a peer.
 * Reads are open to anyone who can reach the port under a name it answers to; routes that change
 * state (share, upload, unshare, queue, pause/resume/cancel) pass the admin guard, like the
 * services behind them, and a search (it floods the network) is refused to pages of other sites.
 */
import type { ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { Type } from 'typebox';
import type { AdminGuard } from '../../../shared/admin-guard.ts';
import { PeershareError } from '../../../shared/errors.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import { MAX_WANT } from '../../../shared/defaults.ts';
import { FILE_ID_PATTERN } from '../../../shared/ids.ts';
import { BytesPerSecond } from '../../../shared/limits-schema.ts';
import { MAX_LINK_LENGTH } from '../../../shared/share-link.ts';
import { ownSiteOnly } from '../../../shared/site-guard.ts';
import { answerWithProgress, openEventStream } from '../../../shared/sse.ts';
import { drain, uploadBody } from '../../../shared/upload-body.ts';
import type { ClientApp } from '../../domain/client-app.ts';
import type { DownloadProgress, SearchHit, ShareProgress } from '../../ports.ts';

const ErrorRef = Type.Ref('Error');
const FileId = Type.String({ pattern: FILE_ID_PATTERN });
const Key = Type.String({ pattern: '^[0-9a-f]{32}$' });
const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });

const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  fileId: Type.Optional(FileId),
  timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000, description: 'deadline in ms' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  want: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_WANT,
      description: 'dynamic querying: search near first, widen only while fewer than this many other peers answered',
    }),
  ),
  wait: Type.Optional(Type.Union(['1', 'true', '0', 'false'].map((v) => Type.Literal(v)))),
});

const GetBody = Type.Object(
  {
    fileId: Type.Optional(FileId),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'words: search and queue the file most peers hold' }),
    ),
    link: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_LINK_LENGTH + 64,
        description: 'a peershare: link: its hints, then the holders Fetch knows (docs/PROTOCOL.md §10)',
      }),
    ),
    outDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' })),
    timeout: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 60_000, description: 'search deadline in ms (with q)' }),
    ),
    want: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_WANT,
        description:
          "with q: other peers the search wants to answer: it widens while fewer did and ends once that many did (default: the peer's getWant setting; 0: one flood at the full TTL)",
      }),
    ),
    only: Type.Optional(
      Type.Array(Type.String({ maxLength: 4096 }), {
        minItems: 1,
        maxItems: 1000,
        description: 'a folder (by fileId or link): only the files at or under these relative paths',
      }),
    ),
  },
  { additionalProperties: false },
);

const FolderRef = Type.Object(
  {
    fileId: Type.Optional(FileId),
    link: Type.Optional(
      Type.String({ minLength: 1, maxLength: MAX_LINK_LENGTH + 64, description: 'a peershare:?folder= link' }),
    ),
  },
  { additionalProperties: false },
);

/** The file a download saved, opened for streaming; FILE_NOT_FOUND when it is gone or no longer the size it was saved with. */
async function openSaved(path: string, size: number | undefined): Promise<{ stream: ReadStream; size: number }> {
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw new PeershareError(
      'FILE_NOT_FOUND',
      `the downloaded file is no longer at ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || (size !== undefined && stat.size !== size))
      throw new PeershareError(
        'FILE_CHANGED',
        `${path} is no longer the file that was downloaded (${stat.size} bytes, not ${size})`,
      );
    return { stream: handle.createReadStream(), size: stat.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export function registerClientRoutes(app: HttpApp, client: ClientApp, admin: AdminGuard): void {
  app.get(
    '/status',
    { schema: { summary: 'Peer id, addresses, overlay links, queue backend, counts, uptime' } },
    async () => client.status(),
  );

  app.get(
    '/peers',
    {
      schema: {
        summary:
          'Every known peer with state, last seen, addresses and file count; and the join addresses pinned to the peer id each proved first',
      },
    },
    async () => {
      const [peers, joinPins] = await Promise.all([client.fetch.peers(), client.fetch.joinPins()]);
      return { peers, joinPins };
    },
  );

  app.delete(
    '/join-pins/:key',
    {
      onRequest: admin,
      schema: {
        summary:
          'Forget the pins of a peer id or join address, accepting whatever id the address proves next (after a key change)',
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 270 }) }),
        response: { 400: ErrorRef },
      },
    },
    async (request) => ({ forgotten: await client.fetch.forgetJoinPins(request.params.key) }),
  );

  app.get(
    '/network',
    {
      schema: {
        summary:
          'Known peers and the overlay links between them, as reported by this peer and the alive peers that answer within 1 s',
      },
    },
    async () => client.network(),
  );

  app.get(
    '/folders',
    {
      schema: {
        summary: 'The shared folders (collections), newest first, each with its peershare:?folder= link',
        querystring: Type.Object({ limit: Limit }),
      },
    },
    async (request) => {
      const { items, total } = await client.files.folders(request.query.limit);
      return { items: await client.withFolderLinks(items), total };
    },
  );

  app.post(
    '/shares',
    {
      onRequest: admin,
      schema: {
        summary:
          'Share a local file or folder in place (each file with its peershare: link); with Accept: text/event-stream, `progress` events while hashing, then `result` (or `error`)',
        body: Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
        response: { 400: ErrorRef },
      },
    },
    async (request, reply) =>
      answerWithProgress(request, reply, async (onProgress: (p: ShareProgress) => void, signal) => {
        const result = await client.files.share(request.body.path, { onProgress, signal });
        const collection = result.collection ? (await client.withFolderLinks([result.collection]))[0] : undefined;
        return { ...result, files: await client.withLinks(result.files), ...(collection ? { collection } : {}) };
      }),
  );

  app.get(
    '/files',
    {
      schema: {
        summary: "This peer's shared files, newest first, each with its peershare: link",
        querystring: Type.Object({ q: Type.Optional(Type.String({ maxLength: 1024 })), limit: Limit }),
      },
    },
    async (request) => {
      const list = await client.files.list(request.query.q, request.query.limit);
      return { ...list, items: await client.withLinks(list.items) };
    },
  );

  app.delete(
    '/files/:id',
    {
      onRequest: admin,
      schema: {
        summary: 'Stop sharing a file',
        params: Type.Object({ id: FileId }),
        response: { 204: Type.Null(), 404: ErrorRef },
      },
    },
    async (request, reply) => {
      await client.files.unshare(request.params.id);
      return reply.status(204).send(null);
    },
  );

  // Upload bodies are streamed through to File Management, never parsed or buffered here.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.post(
    '/files',
    {
      onRequest: admin,
      schema: {
        summary: 'Upload a file and share it (streamed body, Content-Type: application/octet-stream)',
        querystring: Type.Object({ name: Type.String({ minLength: 1, maxLength: 1024 }) }),
        consumes: ['application/octet-stream'],
        response: { 200: Type.Any(), 201: Type.Any(), 400: ErrorRef, 413: ErrorRef, 415: ErrorRef, 507: ErrorRef },
      },
    },
    async (request, reply) => {
      const body = uploadBody(request.raw);
      try {
        if (request.headers['content-type']?.split(';')[0]?.trim() !== 'application/octet-stream') {
          throw new PeershareError(
            'UNSUPPORTED_MEDIA_TYPE',
            'upload the file as Content-Type: application/octet-stream',
          );
        }
        const declared = Number(request.headers['content-length'] ?? NaN);
        const { file, created } = await client.files.upload(
          body,
          request.query.name,
          Number.isSafeInteger(declared) ? declared : undefined,
        );
        return reply.status(created ? 201 : 200).send(file);
      } catch (err) {
        // Read the rest of a refused upload so the client sees our error, not a reset connection.
        await drain(request.raw);
        throw err;
      }
    },
  );

  app.get(
    '/search',
    {
      onRequest: ownSiteOnly,
      schema: {
        summary: 'Search the network: SSE (`hit` events, then `summary`), or one JSON answer with wait=1',
        querystring: SearchQuery,
        response: { 400: ErrorRef },
      },
    },
    async (request, reply) => {
      const { q, fileId, timeout, limit, want, wait } = request.query;
      if ((q === undefined) === (fileId === undefined))
        throw new PeershareError('BAD_REQUEST', 'give exactly one of q and fileId');
      const run = await client.search({
        q,
        fileId,
        timeoutMs: timeout,
        limit,
        ...(want !== undefined ? { want } : {}),
      });
      if (wait === '1' || wait === 'true') {
        const hits: SearchHit[] = [];
        run.onHit((hit) => hits.push(hit));
        return { hits, summary: await run.done };
      }
      const stream = openEventStream(request, reply);
      run.onHit((hit) => stream.send('hit', hit));
      void stream.closed.then(() => run.cancel());
      void run.done
        .then(
          (summary) => stream.send('summary', summary),
          (err: Error) => stream.send('error', { code: 'UNAVAILABLE', message: err.message }),
        )
        .finally(() => stream.end());
      return reply;
    },
  );

  app.post(
    '/downloads',
    {
      onRequest: admin,
      schema: {
        summary: 'Queue a download by file id, by peershare: link, or by words (the file most peers hold)',
        body: GetBody,
        response: { 202: Type.Any(), 400: ErrorRef, 404: ErrorRef },
      },
    },
    async (request, reply) => {
      const { fileId, q, link, outDir, timeout, want, only } = request.body;
      if ([fileId, q, link].filter((v) => v !== undefined).length !== 1)
        throw new PeershareError('BAD_REQUEST', 'give exactly one of fileId, link and q');
      if (q !== undefined && only !== undefined)
        throw new PeershareError('BAD_REQUEST', 'only is for a folder, asked by fileId or link');
      if (q === undefined && want !== undefined)
        throw new PeershareError('BAD_REQUEST', 'want is for a search by words (q)');
      const queued =
        fileId !== undefined
          ? await client.queueById(fileId, outDir, only)
          : link !== undefined
            ? await client.queueByLink(link, outDir, only)
            : await client.queueByName(q!, { outDir, timeoutMs: timeout, want });
      return reply.status(202).send(queued);
    },
  );

  app.get(
    '/folder-contents',
    // A search and requests to other peers: as /search, refused to other sites.
    {
      onRequest: ownSiteOnly,
      schema: {
        summary:
          "A shared folder's files (relative path, size, file id), by its collection id or folder link: asked of its holders and verified; nothing is queued",
        querystring: FolderRef,
        response: { 400: ErrorRef, 404: ErrorRef },
      },
    },
    async (request) => {
      const { fileId, link } = request.query;
      if ((fileId === undefined) === (link === undefined))
        throw new PeershareError('BAD_REQUEST', 'give exactly one of fileId and link');
      return client.folderContents(fileId !== undefined ? { fileId } : { link: link! });
    },
  );

  app.get(
    '/downloads',
    { schema: { summary: 'Downloads, newest first, with progress', querystring: Type.Object({ limit: Limit }) } },
    async (request) => ({ downloads: await client.download.list(request.query.limit) }),
  );

  /*
   * A finished download's file, for the browser to save: always an attachment, under a sandboxing
   * Content-Security-Policy and nosniff, so whatever its bytes (an HTML page, a script) it is never
   * rendered or run on the UI's origin. Streamed from where the download saved it.
   */
  app.get(
    '/downloads/:key/file',
    {
      schema: {
        summary: 'The saved file of a finished download, as an attachment (never rendered)',
        params: Type.Object({ key: Key }),
      },
    },
    async (request, reply) => {
      const download = await client.download.get(request.params.key);
      if (download.state !== 'done' || !download.finalPath)
        throw new PeershareError(
          'FILE_NOT_FOUND',
          `download ${download.key} has no saved file (it is ${download.state})`,
        );
      const file = await openSaved(download.finalPath, download.size);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(file.size))
        .header(
          'content-disposition',
          `attachment; filename*=UTF-8''${encodeURIComponent(basename(download.finalPath))}`,
        )
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .send(file.stream);
    },
  );

  app.get(
    '/downloads/events',
    { schema: { summary: 'Live progress (SSE): "snapshot", then "progress" events' } },
    async (request, reply) => {
      const stream = openEventStream(request, reply);
      // Subscribe before the snapshot, so no change falls between the two.
      const unsubscribe = await client.download.watch(
        (p: DownloadProgress) => stream.send('progress', p),
        (keys) => stream.send('cleared', { keys }),
      );
      try {
        stream.send('snapshot', await client.download.list(100));
        await stream.closed;
      } finally {
        unsubscribe();
      }
    },
  );

  app.get(
    '/limits',
    { schema: { summary: 'The bandwidth caps in force: all downloads together, and all content sent to other peers' } },
    async () => client.limits(),
  );
  app.put(
    '/limits',
    {
      onRequest: admin,
      schema: {
        summary: 'Change a bandwidth cap while the peer runs; kept in its config file for the next start',
        body: Type.Object(
          { maxDownloadRate: Type.Optional(BytesPerSecond), maxUploadRate: Type.Optional(BytesPerSecond) },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request) => client.setLimits(request.body),
  );

  app.delete(
    '/downloads',
    {
      onRequest: admin,
      schema: { summary: 'Forget every download that ended (done, failed, cancelled); saved files stay' },
    },
    async () => ({ cleared: await client.download.clear() }),
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/downloads/:key/${action}`,
      {
        onRequest: admin,
        schema: { summary: `${action} a download`, params: Type.Object({ key: Key }), response: { 404: ErrorRef } },
      },
      async (request) => client.download.act(request.params.key, action),
    );
  }
}
